"""The job toolkit: every job run leaves a row, one run per job at a time, work queued after commit.

    with run_job(ImportRun, "catalog.import", trigger=RunTrigger.COMMAND, kind="full") as job:
        if job.skipped:              # another run holds the lock: a SKIPPED row was recorded
            return job.run
        if job.abandoned:            # runs of a worker that died were closed (FAILED, "abandoned")
            ...
        ... do the work; job.run.stats[...] = ...
    # SUCCESS on normal exit, FAILED (error text masked) on an exception, which is re-raised.

- The lock (`kaspisync.locks`) is kept alive by its holder while the block runs, and a lock whose
  holder died is taken over within a minute or two; `job.lock.refresh()` also proves progress
  for JOB_LOCK_TTL (a run stuck without progress that long loses its lock).
- The lock records the run row it covers. `run_job` closes every RUNNING row of its run model
  that no live lock covers: its worker died. Jobs registered in `kaspisync.registry` whose run
  was abandoned that way are queued again (`redo_abandoned`), unless the running job is that job
  (it is the redo) or it failed three times in a row. The worker heartbeat does the same for
  every run table (`recover_abandoned_runs`), so a killed run is redone within minutes.
- `queue_after_commit(task, **kwargs)`: the one way to queue a task from a request or a
  service: never inside an open transaction (the worker could start before the data it needs is
  committed, or run for a change that is rolled back).
- `defer_task(name, delay=..., **kwargs)`: what follows a change, queued later through an outbox
  table that beat reads (`send_deferred_tasks`): the process that made the change needs neither
  Celery nor the broker, and a burst of changes queues the task once.
- The admin's "run now" button: `kaspisync.admin.RunNowMixin`.
- On SQLite a job gives back its connection's page cache when it ends (`release_connection_memory`).

A run table may serve several locks (cards' RefreshRun: one per kind) or several jobs may share
one lock (ImportRun, full and quick, under "catalog.import"): abandonment is judged per row.
"""

import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from django.apps import apps
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import locks, registry
from .models import DeferredTask, JobRun, RunStatus, RunTrigger
from .secrets import mask

log = logging.getLogger(__name__)

REDO_AFTER_FAILURES = 3  # a job that failed this many times in a row is not redone automatically


PROGRESS_EVERY = 1.0  # seconds: how often a run's live progress is written to its row at most


@dataclass
class RunContext:
    run: object
    lock: locks.Lock | None
    # Runs of dead workers closed by this run (or 1 when the run just before it was abandoned and
    # closed by the heartbeat): their follow-up work may be missing.
    abandoned: int = 0
    _progress_written: float = 0.0

    @property
    def skipped(self) -> bool:
        return self.lock is None

    def progress(self, step: str, done: int | None = None, total: int | None = None, **counters) -> None:
        """Live progress for the admin (`stats["progress"]`: the current step in words, `done` of
        `total`, and any counters of the run model to show meanwhile, e.g. created=12). Written
        at most every PROGRESS_EVERY seconds (a new step is written at once); dropped when the
        run finishes, its summary then says what happened."""
        now = time.monotonic()
        previous = (self.run.stats or {}).get("progress", {})
        if previous.get("step") == step and now - self._progress_written < PROGRESS_EVERY:
            return
        self._progress_written = now
        self.run.stats = {**(self.run.stats or {}), "progress": {"step": str(step), "done": done, "total": total}}
        for name, value in counters.items():
            setattr(self.run, name, value)
        type(self.run).objects.filter(pk=self.run.pk).update(stats=self.run.stats, **counters)


def finish(run, status: str, error: str = "") -> None:
    if run.stats and "progress" in run.stats:  # the summary replaces the live progress
        run.stats = {k: v for k, v in run.stats.items() if k != "progress"}
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
            error=_("another run was in progress"),
            **fields,
        )
        log.info("%s skipped: lock %s is held", model.__name__, lock_name)
        yield RunContext(run=run, lock=None)
        return
    lock.keep_alive()
    try:
        with transaction.atomic():  # others see the row only with the lock that covers it
            run = model.objects.create(
                status=RunStatus.RUNNING, trigger=trigger, triggered_by=triggered_by, started_at=now, **fields
            )
            lock.attach(run)
        context = RunContext(run=run, lock=lock, abandoned=0)
        closed = close_abandoned(model, exclude_pk=run.pk)
        context.abandoned = len(closed) or int(follows_abandoned(run))
        redo_abandoned(closed, current=run)
        try:
            yield context
        except BaseException as exc:
            finish(run, RunStatus.FAILED, f"{type(exc).__name__}: {exc}")
            log.warning("%s #%s failed: %s", model.__name__, run.pk, mask(exc))
            raise
        else:
            if run.status == RunStatus.RUNNING:
                finish(run, RunStatus.SUCCESS)
    finally:
        lock.release()
        release_connection_memory()


def release_connection_memory() -> None:
    """Give back the page cache SQLite keeps per connection (up to 2 MB, `cache_size`) for as long as
    the connection is open: a job that went through the catalog ends without it, so what follows in
    its process and a worker between jobs do not carry it. Another process's write empties that
    cache anyway. PostgreSQL keeps its cache in the server."""
    if connection.vendor == "sqlite" and connection.connection is not None and not connection.needs_rollback:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA shrink_memory")


def close_abandoned(model, *, exclude_pk=None) -> list:
    """Mark FAILED, as abandoned (`stats["abandoned"]`), the RUNNING rows of `model` that no live
    lock covers (their worker died); returns them. `exclude_pk`: the caller's own run."""
    rows = model.objects.filter(status=RunStatus.RUNNING).exclude(pk__in=locks.live_run_ids(model))
    if exclude_pk is not None:
        rows = rows.exclude(pk=exclude_pk)
    closed = []
    for run in rows:
        run.stats = {**(run.stats or {}), "abandoned": True}
        closed_now = model.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
            status=RunStatus.FAILED,
            finished_at=timezone.now(),
            error=_("abandoned: its worker stopped before the run finished"),
            stats=run.stats,
        )
        if closed_now:
            closed.append(run)
    if closed:
        log.warning("%s: closed %s abandoned run(s) %s", model.__name__, len(closed), [run.pk for run in closed])
    return closed


def follows_abandoned(run) -> bool:
    """Whether the newest finished run before `run` (of the same model) was abandoned: what it
    wrote may have missed its follow-up work (e.g. repricing), which `run` should then do."""
    previous = (
        type(run)
        .objects.filter(started_at__lte=run.started_at)
        .exclude(pk=run.pk)
        .exclude(status__in=(RunStatus.SKIPPED, RunStatus.RUNNING))
        .order_by("-started_at", "-pk")
        .values_list("stats", flat=True)
        .first()
    )
    return bool(previous and previous.get("abandoned"))


def redo_abandoned(closed: list, *, current=None) -> list[str]:
    """Queue again (after commit) the registered jobs whose runs were abandoned, once each; not the
    job `current` belongs to (it is running now), nor a job that keeps failing. Returns their names."""
    running = {spec.name for spec in registry.jobs_for(current)} if current is not None else set()
    queued = []
    for run in closed:
        for spec in registry.jobs_for(run):
            if spec.name in running or spec.name in queued:
                continue
            if keeps_failing(spec):
                log.error("job %s keeps failing: its abandoned run #%s is not queued again", spec.name, run.pk)
                continue
            queue_after_commit(spec.task, **{**spec.task_kwargs, "trigger": RunTrigger.CHAIN})
            log.warning("job %s: run #%s was abandoned; queued again", spec.name, run.pk)
            queued.append(spec.name)
    return queued


def keeps_failing(spec: registry.Job) -> bool:
    last = list(
        spec.runs()
        .exclude(status__in=(RunStatus.SKIPPED, RunStatus.RUNNING))
        .order_by("-started_at")
        .values_list("status", flat=True)[:REDO_AFTER_FAILURES]
    )
    return len(last) == REDO_AFTER_FAILURES and all(status == RunStatus.FAILED for status in last)


def recover_abandoned_runs() -> list[str]:
    """Close the RUNNING rows of every run table that no live lock covers, and queue their
    registered jobs again. Called by the worker heartbeat (every minute). Returns the jobs queued."""
    queued = []
    for model in apps.get_models():
        if issubclass(model, JobRun) and model.objects.filter(status=RunStatus.RUNNING).exists():
            queued += redo_abandoned(close_abandoned(model))
    return queued


def queue_after_commit(
    task, *args, countdown: float | None = None, once: bool = False, robust: bool = False, **kwargs
) -> None:
    """Queue a Celery task (the task object, or its registered name) once the current transaction
    commits; at once outside a transaction. Nothing is queued if the transaction rolls back.
    `once`: queued once per transaction however often it is asked for with the same arguments
    (e.g. one send for many alerts). `robust`: a failure to queue (the broker is down) is logged,
    not raised into the caller, whose data is committed: for work a schedule also picks up."""
    from .celery import app

    options = {"countdown": countdown} if countdown is not None else {}

    def send() -> None:
        if isinstance(task, str):
            app.send_task(task, args=args, kwargs=kwargs, **options)
        else:
            task.apply_async(args=args, kwargs=kwargs, **options)

    send.queued = (getattr(task, "name", task), args, kwargs, options)
    if once:
        pending = transaction.get_connection().run_on_commit
        if any(getattr(func, "queued", None) == send.queued for _sids, func, *_rest in pending):
            return
    transaction.on_commit(send, robust=robust)


def defer_task(name: str, *, delay: float = 0.0, robust: bool = False, **kwargs) -> bool:
    """Have the task registered as `name` queued with `kwargs` `delay` seconds from now, through the
    outbox (DeferredTask): the row is written in the caller's transaction (a rollback takes it
    back) and beat's `send_deferred_tasks` queues the task once it is due. While a row waits, later
    requests only note their time, so a burst of changes queues the task once, when the first
    request is due, with the first request's arguments. Returns True when this call wrote the row.
    `robust`: a failure is logged and only this request is lost (its savepoint is rolled back), the
    caller's transaction goes on: for work a schedule also picks up. Loads neither Celery nor the
    broker's client."""
    now = timezone.now()
    try:
        with transaction.atomic():
            row, created = DeferredTask.objects.get_or_create(
                task=name, defaults={"kwargs": kwargs, "due_at": now + timedelta(seconds=delay), "requested_at": now}
            )
            if not created:
                DeferredTask.objects.filter(pk=row.pk).update(requested_at=now)
    except Exception as exc:
        if not robust:
            raise
        log.error("could not ask for the task %s: %s", name, mask(exc))
        return False
    return created


def send_deferred_tasks(now=None) -> list[str]:
    """Queue every deferred task that is due (beat asks every DEFERRED_TASKS_INTERVAL seconds);
    returns their names. A row is removed once the broker took its task; one the broker refused
    stays for the next round, and the others are queued all the same."""
    from .celery import app

    now = now or timezone.now()
    sent = []
    for row in DeferredTask.objects.filter(due_at__lte=now).order_by("due_at", "pk"):
        try:
            app.signature(row.task, kwargs=row.kwargs).apply_async()
        except Exception as exc:
            log.error("could not queue the deferred task %s: %s", row.task, mask(exc))
            continue
        # A request noted meanwhile is served too: the task runs after it, on committed data.
        DeferredTask.objects.filter(pk=row.pk).delete()
        sent.append(row.task)
    return sent
