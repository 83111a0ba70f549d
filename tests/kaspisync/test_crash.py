"""SIGKILL of a real worker mid-import, mid-pull and mid-build: the next worker finishes the job
within two minutes of the kill (issue 9, item 4).

Each test starts a worker, lets it start the job against a slowed-down sandbox, kills the
worker's whole process group with SIGKILL, starts a second worker and queues the heartbeat as
beat does every minute. The heartbeat finds the run abandoned (its lock's holder is gone), closes
it and queues the job again; the second worker runs it to success. No run is skipped on the way.
"""

import time
from pathlib import Path

import pytest
from django.utils import timezone

from kaspisync.models import RunStatus
from kaspisync.sandbox.alstyle import AlstyleSandbox
from kaspisync.sandbox.kaspi import KaspiSandbox
from kaspisync.tasks import heartbeat
from tests.conftest import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.slow]

REDONE_WITHIN = 120  # seconds from the kill to the redone run's success
ALSTYLE_TOKEN = "crash-alstyle-token-51d0"
KASPI_TOKEN = "crash-kaspi-token-8e2b"


def kill_mid_run(worker, run_model, progressed, **run_filter):
    """Wait until the worker's run is RUNNING and `progressed()`, then SIGKILL the worker group."""
    run = wait_for(
        lambda: run_model.objects.filter(status=RunStatus.RUNNING, **run_filter).first(),
        timeout=60,
        interval=0.05,
        message=f"a running {run_model.__name__}",
    )
    wait_for(progressed, timeout=60, interval=0.05, message="the run to make progress")
    worker.stop()  # SIGKILL to the whole process group, at once
    killed_at = time.monotonic()
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING, "the run ended before the kill: nothing was tested"
    return run, killed_at


def redo_after_kill(start_worker, env, run_model, killed, killed_at, wait_until, **run_filter):
    """A new worker and the next heartbeat: the killed run is closed and the job done again."""
    start_worker(env=env)
    beats = []

    def redone_run():
        if not beats or time.monotonic() - beats[-1] > 15:  # beat sends it every minute
            heartbeat.delay()
            beats.append(time.monotonic())
        return run_model.objects.filter(status=RunStatus.SUCCESS, pk__gt=killed.pk, **run_filter).first()

    redone = wait_until(
        redone_run, timeout=REDONE_WITHIN, interval=0.2, message=f"a successful {run_model.__name__} after the kill"
    )
    elapsed = time.monotonic() - killed_at
    killed.refresh_from_db()
    assert killed.status == RunStatus.FAILED
    assert killed.stats.get("abandoned") is True
    assert not run_model.objects.filter(status=RunStatus.SKIPPED).exists()
    assert elapsed < REDONE_WITHIN
    print(f"{run_model.__name__}: redone {elapsed:.1f} s after the kill")
    return redone


def test_a_worker_killed_mid_import_is_followed_by_a_complete_import(start_worker, serve, wait_until):
    from catalog.models import ImportRun, Product
    from catalog.tasks import import_catalog

    sandbox = AlstyleSandbox(1000, interval=0, token=ALSTYLE_TOKEN, latency=0.5)  # 4 pages of 250, slowly
    server = serve(sandbox)
    env = {"ALSTYLE_API_URL": server.url, "ALSTYLE_TOKEN": ALSTYLE_TOKEN, "ALSTYLE_MIN_INTERVAL": "0"}
    first = start_worker(env=env)
    import_catalog.delay(quick=False)
    killed, killed_at = kill_mid_run(
        first, ImportRun, lambda: sandbox.stats()["by_method"].get("elements-pagination", 0) >= 2, kind="full"
    )
    sandbox.latency = 0
    redone = redo_after_kill(start_worker, env, ImportRun, killed, killed_at, wait_until, kind="full")
    assert Product.objects.filter(is_active=True).count() == 1000
    assert redone.trigger == "chain"


def test_a_worker_killed_mid_pull_is_followed_by_a_complete_pull(start_worker, serve, wait_until):
    from orders.models import Order, PullRun
    from orders.tasks import pull_orders_task

    products = [{"sku": f"AS{n}", "name": f"Товар {n}", "price": 1000 + n, "brand": "b"} for n in range(5)]
    sandbox = KaspiSandbox(products, orders=150, token=KASPI_TOKEN, latency_ms=200)
    server = serve(sandbox)
    env = {
        "KASPI_API_URL": server.url,
        "KASPI_TOKEN": KASPI_TOKEN,
        "KASPI_BACKOFF_BASE": "0.01",
        "ORDERS_ENTRY_WORKERS": "2",
    }
    first = start_worker(env=env)
    pull_orders_task.delay()
    killed, killed_at = kill_mid_run(first, PullRun, lambda: sandbox.stats()["requests"] >= 10)
    sandbox.latency = 0
    redo_after_kill(start_worker, env, PullRun, killed, killed_at, wait_until)
    assert Order.objects.count() == sandbox.stats()["orders"]


def test_a_worker_killed_mid_build_is_followed_by_a_published_price_list(
    start_worker, serve, wait_until, tmp_path, settings
):
    from catalog.models import Product
    from feeds.models import FeedResult, FeedVersion
    from feeds.tasks import build_feed

    Product.objects.bulk_create(
        Product(article=90000 + n, name=f"Товар {n}", dealer_price=1000, sale_price=1500 + n, stock=5)
        for n in range(200)
    )
    env = {
        "KASPISYNC_MEDIA_ROOT": str(tmp_path / "media"),
        "KASPI_COMPANY_NAME": "Crash Test Shop",
        "KASPI_MERCHANT_ID": "30001234",
    }
    slow = {**env, "PYTHONPATH": str(Path(__file__).parent / "slow_build"), "KASPISYNC_TEST_BUILD_PAUSE": "60"}
    first = start_worker(env=slow)
    build_feed.delay()
    killed, killed_at = kill_mid_run(
        first, FeedVersion, lambda: any((tmp_path / "media").rglob("*")), result=FeedResult.BUILDING
    )
    redone = redo_after_kill(start_worker, env, FeedVersion, killed, killed_at, wait_until)
    assert redone.result == FeedResult.PUBLISHED
    assert redone.offers == 200
    assert redone.finished_at <= timezone.now()


def test_a_long_run_keeps_its_lock_alive_beyond_the_lease(start_worker, serve, settings):
    """The holder's keeper thread touches the lock while the run works: with a one-second lease, a
    second import during a run of several seconds is still refused, not run alongside."""
    from datetime import timedelta

    from catalog.models import ImportRun
    from catalog.services.importing import LOCK_NAME
    from catalog.tasks import import_catalog
    from kaspisync import locks

    settings.JOB_LOCK_LEASE = timedelta(seconds=1)
    sandbox = AlstyleSandbox(1000, interval=0, token=ALSTYLE_TOKEN, latency=0.6)
    server = serve(sandbox)
    env = {
        "ALSTYLE_API_URL": server.url,
        "ALSTYLE_TOKEN": ALSTYLE_TOKEN,
        "ALSTYLE_MIN_INTERVAL": "0",
        "JOB_LOCK_LEASE": "1",
    }
    start_worker(env=env)
    import_catalog.delay(quick=False)
    wait_for(lambda: ImportRun.objects.filter(status=RunStatus.RUNNING).exists(), timeout=60, interval=0.05)
    time.sleep(2.5)  # more than two leases into the run
    assert ImportRun.objects.get().status == RunStatus.RUNNING
    assert locks.is_locked(LOCK_NAME)
    assert locks.acquire(LOCK_NAME) is None
    run = wait_for(lambda: ImportRun.objects.filter(status=RunStatus.SUCCESS).first(), timeout=60)
    assert run.duration.total_seconds() > 2.5
