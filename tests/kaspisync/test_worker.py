"""The embedded default and the production stack run tasks in a separate worker process."""

import os

import pytest

from catalog.models import ImportRun
from catalog.services.importing import LOCK_NAME as IMPORT_LOCK
from catalog.tasks import import_catalog
from kaspisync import locks
from kaspisync.models import RunStatus, WorkerHeartbeat
from kaspisync.tasks import heartbeat

pytestmark = pytest.mark.worker


def _parent_pid(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    return int(stat.rsplit(")", 1)[1].split()[1])  # the field after the state letter


def test_task_queued_here_runs_in_the_worker_process(celery_worker, wait_until):
    assert not WorkerHeartbeat.objects.exists()
    heartbeat.delay()
    beat = wait_until(lambda: WorkerHeartbeat.objects.first(), message="the heartbeat row")
    assert beat.pid != os.getpid()
    # prefork: the task ran in a pool child of the worker process we started
    assert _parent_pid(beat.pid) == celery_worker.pid
    assert "kaspisync.tasks.heartbeat" in celery_worker.log()


def test_task_whose_lock_is_held_is_recorded_as_skipped(celery_worker, wait_until):
    held = locks.acquire(IMPORT_LOCK)
    try:
        import_catalog.delay(quick=True, trigger="admin", triggered_by="tester")
        run = wait_until(lambda: ImportRun.objects.first(), message="the import run row")
    finally:
        held.release()
    assert run.status == RunStatus.SKIPPED
    assert run.triggered_by == "tester"
    assert ImportRun.objects.count() == 1
    assert locks.acquire(IMPORT_LOCK) is not None  # the skipped run did not steal or leave the lock
