"""Run records: every job run leaves a row, and only one run per job at a time.

run = start_run(ImportRun, lock_name="catalog.import", trigger=..., kind="full")
# -> a SKIPPED row (and None lock) if another run holds the lock

with run_job(ImportRun, "catalog.import", trigger=RunTrigger.COMMAND, kind="full") as job:
    if job.skipped:
        return job.run
    ... do work, job.lock.refresh() now and then, job.run.stats[...] = ...
# SUCCESS on normal exit, FAILED (error text masked) on exception, which is re-raised.
"""

import contextlib
import logging
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import locks
from .models import RunStatus, RunTrigger
from .secrets import mask

log = logging.getLogger(__name__)


@dataclass
class Job:
    run: object
    lock: locks.Lock | None

    @property
    def skipped(self) -> bool:
        return self.lock is None


def finish(run, status: str, error: str = "") -> None:
    run.status = status
    run.finished_at = timezone.now()
    if error:
        run.error = mask(error)[:20000]
    run.save()


@contextlib.contextmanager
def run_job(model, lock_name: str, *, trigger: str = RunTrigger.SCHEDULE, triggered_by: str = "", ttl=None, **fields):
    lock = locks.acquire(lock_name, ttl)
    now = timezone.now()
    if lock is None:
        run = model.objects.create(
            status=RunStatus.SKIPPED,
            trigger=trigger,
            triggered_by=triggered_by,
            started_at=now,
            finished_at=now,
            error=str(_("another run was in progress")),
            **fields,
        )
        log.info("%s skipped: lock %s is held", model.__name__, lock_name)
        yield Job(run=run, lock=None)
        return
    run = model.objects.create(
        status=RunStatus.RUNNING, trigger=trigger, triggered_by=triggered_by, started_at=now, **fields
    )
    try:
        yield Job(run=run, lock=lock)
    except BaseException as exc:
        finish(run, RunStatus.FAILED, f"{type(exc).__name__}: {exc}")
        log.warning("%s #%s failed: %s", model.__name__, run.pk, mask(exc))
        raise
    else:
        if run.status == RunStatus.RUNNING:
            finish(run, RunStatus.SUCCESS)
    finally:
        lock.release()
