"""The job toolkit (kaspisync.runs): abandoned runs are closed by every job and redone, tasks are
queued only after commit."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from kaspisync import locks, registry
from kaspisync.celery import app as celery_app
from kaspisync.models import JobLock, RunStatus, RunTrigger
from kaspisync.runs import queue_after_commit, recover_abandoned_runs, run_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    """Tasks handed to the broker by name (the redo path uses send_task): [(name, kwargs)]."""
    calls = []
    monkeypatch.setattr(celery_app, "send_task", lambda name, args=(), kwargs=None, **o: calls.append((name, kwargs)))
    return calls


def dead_run(job: registry.Job, hours: float = 2):
    """A RUNNING row of `job` whose worker died (no lock held for it)."""
    return job.model.objects.create(
        status=RunStatus.RUNNING, started_at=timezone.now() - timedelta(hours=hours), **job.run_filter
    )


@pytest.mark.parametrize("name", [job.name for job in registry.jobs()])
def test_every_job_closes_the_runs_its_dead_workers_left(name, django_capture_on_commit_callbacks, sent):
    job = registry.get_job(name)
    dead = dead_run(job)
    with django_capture_on_commit_callbacks(execute=True), run_job(job.model, job.lock_name, **job.run_filter) as ctx:
        assert not ctx.skipped
        assert ctx.abandoned == 1
    dead.refresh_from_db()
    assert dead.status == RunStatus.FAILED
    assert dead.finished_at is not None
    assert "abandoned" in dead.stats
    assert dead.error
    ctx.run.refresh_from_db()
    assert ctx.run.status == RunStatus.SUCCESS
    assert sent == []  # the job that closed it is running now: it is the redo


def test_an_abandoned_run_of_another_job_on_the_same_lock_is_queued_again(django_capture_on_commit_callbacks, sent):
    full, quick = registry.get_job("catalog.import.full"), registry.get_job("catalog.import.quick")
    dead_run(full)
    with django_capture_on_commit_callbacks(execute=True), run_job(quick.model, quick.lock_name, **quick.run_filter):
        pass
    assert sent == [(full.task, {**full.task_kwargs, "trigger": RunTrigger.CHAIN})]


def test_the_heartbeat_redoes_abandoned_runs_whose_lock_is_dead(django_capture_on_commit_callbacks, sent):
    pull = registry.get_job("orders.pull")
    dead = dead_run(pull)
    # The dead worker's lock: refreshed two minutes ago by a holder on another machine.
    JobLock.objects.create(
        name=pull.lock_name,
        owner="elsewhere:4242:abc",
        acquired_at=timezone.now() - timedelta(minutes=5),
        expires_at=timezone.now() - timedelta(seconds=1),
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert recover_abandoned_runs() == ["orders.pull"]
    dead.refresh_from_db()
    assert dead.status == RunStatus.FAILED
    assert sent == [(pull.task, {"trigger": RunTrigger.CHAIN})]
    assert not locks.is_locked(pull.lock_name)  # the heartbeat let its lock go again


def test_the_heartbeat_leaves_a_live_run_alone(sent):
    pull = registry.get_job("orders.pull")
    held = locks.acquire(pull.lock_name)
    running = dead_run(pull, hours=0)
    held.attach(running)
    try:
        assert recover_abandoned_runs() == []
    finally:
        held.release()
    running.refresh_from_db()
    assert running.status == RunStatus.RUNNING
    assert sent == []


def test_a_job_that_keeps_failing_is_not_redone_in_a_loop(django_capture_on_commit_callbacks, sent):
    full = registry.get_job("catalog.import.full")
    for hours in (5, 4):
        full.model.objects.create(
            status=RunStatus.FAILED, started_at=timezone.now() - timedelta(hours=hours), **full.run_filter
        )
    dead_run(full, hours=1)  # the third failure in a row once closed
    with django_capture_on_commit_callbacks(execute=True):
        assert recover_abandoned_runs() == []
    assert sent == []


def test_the_run_after_a_heartbeat_closed_one_knows_it_follows_an_abandoned_run(sent):
    quick = registry.get_job("catalog.import.quick")
    dead_run(quick)
    recover_abandoned_runs()
    with run_job(quick.model, quick.lock_name, **quick.run_filter) as ctx:
        assert ctx.abandoned == 1
    with run_job(quick.model, quick.lock_name, **quick.run_filter) as ctx:
        assert ctx.abandoned == 0


def test_queue_after_commit_sends_nothing_for_a_rolled_back_change(django_capture_on_commit_callbacks, sent):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        queue_after_commit("orders.tasks.pull_orders", trigger="admin")
        assert sent == []  # not inside the transaction
    assert len(callbacks) == 1
    assert sent == [("orders.tasks.pull_orders", {"trigger": "admin"})]
    sent.clear()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                queue_after_commit("orders.tasks.pull_orders", trigger="admin")
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
    assert callbacks == []
    assert sent == []


def test_queue_after_commit_once_queues_one_task_per_transaction_and_arguments(
    django_capture_on_commit_callbacks, sent
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        for _ in range(3):
            queue_after_commit("alerts.tasks.send_alerts", once=True)
        queue_after_commit("orders.tasks.pull_orders", once=True, trigger="admin")
        queue_after_commit("orders.tasks.pull_orders", once=True, trigger="schedule")  # other arguments
    assert sent == [
        ("alerts.tasks.send_alerts", {}),
        ("orders.tasks.pull_orders", {"trigger": "admin"}),
        ("orders.tasks.pull_orders", {"trigger": "schedule"}),
    ]


def test_queue_after_commit_robust_logs_a_broker_failure_instead_of_raising(
    monkeypatch, caplog, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(celery_app, "send_task", broker_down)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        queue_after_commit("alerts.tasks.send_alerts", robust=True)
    assert "broker down" in caplog.text  # logged by Django's on_commit, the commit stands
    with pytest.raises(ConnectionError), django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        queue_after_commit("alerts.tasks.send_alerts")


def test_a_run_table_shared_by_two_locks_closes_only_runs_no_live_lock_covers(sent):
    """One run table may serve several locks (cards' refresh runs: one lock per kind): a run under
    another live lock is in progress, not abandoned."""
    from orders.models import PullRun

    other = locks.acquire("orders.other-kind")
    alive = PullRun.objects.create(status=RunStatus.RUNNING, started_at=timezone.now())
    other.attach(alive)
    dead = PullRun.objects.create(status=RunStatus.RUNNING, started_at=timezone.now() - timedelta(hours=1))
    with run_job(PullRun, "orders.pull") as ctx:
        assert ctx.abandoned == 1
    alive.refresh_from_db()
    dead.refresh_from_db()
    assert alive.status == RunStatus.RUNNING
    assert dead.status == RunStatus.FAILED
    other.release()


@pytest.mark.django_db(transaction=True)
def test_a_job_on_sqlite_ends_without_the_page_cache_it_filled():
    """What a job read stays in its SQLite connection's page cache (up to 2 MB) as long as the
    connection lives; the job gives it back when it ends (what follows in its process, e.g. the
    Celery it loads to queue follow-ups, and a worker between jobs, do not carry it)."""
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL keeps its page cache in the server")
    import ctypes

    sqlite = ctypes.CDLL("libsqlite3.so.0")  # the library the sqlite3 module uses: its memory counters
    sqlite.sqlite3_memory_used.restype = ctypes.c_int64
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE job_pages (id INTEGER PRIMARY KEY, body TEXT)")
        cursor.executemany("INSERT INTO job_pages (body) VALUES (%s)", [("x" * 900,) for _ in range(3000)])
    try:
        pricing = registry.get_job("catalog.pricing")
        with run_job(pricing.model, pricing.lock_name, **pricing.run_filter) as job:
            assert not job.skipped
            with connection.cursor() as cursor:
                cursor.execute("SELECT SUM(LENGTH(body)) FROM job_pages")  # every page read into the cache
                assert cursor.fetchone()[0] == 900 * 3000
            during = sqlite.sqlite3_memory_used()
        after = sqlite.sqlite3_memory_used()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE job_pages")
    assert during - after > 1_000_000, (during, after)
