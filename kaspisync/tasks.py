"""Plumbing tasks (thin: they call kaspisync services)."""

import logging

from .celery import app
from .heartbeat import record_heartbeat
from .runs import recover_abandoned_runs, send_deferred_tasks
from .secrets import mask

log = logging.getLogger(__name__)


@app.task(name="kaspisync.tasks.heartbeat", ignore_result=True, expires=60)
def heartbeat() -> int:
    """Record that a worker is alive, then close the runs of dead workers and queue their jobs
    again (kaspisync.runs.recover_abandoned_runs); returns the worker's process id."""
    beat = record_heartbeat()
    try:
        recover_abandoned_runs()
    except Exception as exc:  # the heartbeat itself must be recorded whatever happens here
        log.error("could not recover abandoned runs: %s", mask(exc), exc_info=True)
    return beat.pid


@app.task(name="kaspisync.tasks.send_deferred_tasks", ignore_result=True, expires=60)
def send_deferred_tasks_task() -> list[str]:
    """Queue the deferred tasks that are due (kaspisync.runs.defer_task); returns their names."""
    return send_deferred_tasks()
