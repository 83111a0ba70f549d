"""The outbox of what follows a change (kaspisync.runs.defer_task, send_deferred_tasks): written
with the change, queued by beat's round once due, run by a worker; nothing lost when the broker
refuses a task; the process that changed the catalog never loads Celery."""

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from unittest.mock import patch

import pytest
from django.utils import timezone

from catalog.models import ImportRun
from catalog.signals import catalog_changed
from kaspisync.models import DeferredTask, WorkerHeartbeat
from kaspisync.runs import defer_task, send_deferred_tasks

ROOT = Path(__file__).resolve().parents[2]
HEARTBEAT = "kaspisync.tasks.heartbeat"


@pytest.mark.django_db
def test_a_burst_of_requests_keeps_one_row_due_when_the_first_asked():
    started = timezone.now()
    assert defer_task(HEARTBEAT, delay=30, note="first") is True
    first = DeferredTask.objects.get()
    assert defer_task(HEARTBEAT, delay=5, note="second") is False
    row = DeferredTask.objects.get()
    assert row.kwargs == {"note": "first"}  # the first request's arguments
    assert row.due_at == first.due_at >= started + timedelta(seconds=30)  # later requests do not move it
    assert row.requested_at > first.requested_at  # but are noted
    assert str(row).startswith(HEARTBEAT + " ")  # the due time in words, not "DeferredTask object (1)"


@pytest.mark.django_db
def test_only_due_tasks_are_queued_and_a_refused_one_waits_for_the_next_round():
    import feeds.tasks  # noqa: F401  registered, as in the worker that runs the round
    import kaspisync.tasks  # noqa: F401

    defer_task(HEARTBEAT)
    defer_task("feeds.tasks.build_feed", trigger="chain")
    defer_task("feeds.tasks.prune_fetch_log", delay=600)
    refused = RuntimeError("broker down redis://:s3cret@host")
    with (
        patch("feeds.tasks.build_feed.apply_async", side_effect=refused),
        patch("kaspisync.tasks.heartbeat.apply_async") as heartbeat,
    ):
        assert send_deferred_tasks() == [HEARTBEAT]  # the refused one did not stop the other
    assert heartbeat.call_count == 1
    assert set(DeferredTask.objects.values_list("task", flat=True)) == {
        "feeds.tasks.build_feed",  # refused: kept for the next round
        "feeds.tasks.prune_fetch_log",  # not due yet
    }
    with patch("feeds.tasks.build_feed.apply_async") as build:
        assert send_deferred_tasks() == ["feeds.tasks.build_feed"]
    assert build.call_count == 1
    assert list(DeferredTask.objects.values_list("task", flat=True)) == ["feeds.tasks.prune_fetch_log"]


@pytest.mark.worker
def test_what_follows_an_import_is_run_by_a_worker_once_beat_queues_it(celery_worker, wait_until, settings):
    """End to end over the broker: the import's signal writes the requests; beat's round (the
    task beat queues every DEFERRED_TASKS_INTERVAL) hands them to the worker, which builds."""
    from feeds.models import FeedVersion
    from kaspisync.tasks import heartbeat, send_deferred_tasks_task

    settings.FEED_REBUILD_DELAY = 0
    catalog_changed.send(sender=ImportRun, reason="import", product_count=1)
    assert set(DeferredTask.objects.values_list("task", flat=True)) == {
        "feeds.tasks.build_feed",
        "cards.tasks.refresh_readiness",
    }
    assert not FeedVersion.objects.exists()
    heartbeat.delay()  # proves the worker consumes this test's broker
    wait_until(lambda: WorkerHeartbeat.objects.exists(), message="the worker's heartbeat")
    send_deferred_tasks_task.delay()  # what beat does
    version = wait_until(lambda: FeedVersion.objects.first(), message="the price list built by the worker")
    assert version.trigger == "chain"
    wait_until(lambda: not DeferredTask.objects.exists(), message="the outbox emptied")


def test_an_import_process_asks_for_its_follow_ups_without_loading_celery(tmp_path):
    """In a fresh interpreter set up like `manage.py import_catalog` (Celery is 5-6 MB of it)."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DATABASE_URL")},
        "DJANGO_SETTINGS_MODULE": "kaspisync.settings",
        "KASPISYNC_VAR_DIR": str(tmp_path),
        "LOG_LEVEL": "WARNING",
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=ROOT, env=env, check=True)
    script = (
        "import json, sys, django\ndjango.setup()\n"
        "from catalog.models import ImportRun\nfrom catalog.signals import catalog_changed\n"
        "from kaspisync.models import DeferredTask\n"
        "catalog_changed.send(sender=ImportRun, reason='import', product_count=3)\n"
        "print(json.dumps({'asked': sorted(DeferredTask.objects.values_list('task', flat=True)),\n"
        "    'loaded': sorted({m.split('.')[0] for m in sys.modules})}))"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["asked"] == ["cards.tasks.refresh_readiness", "feeds.tasks.build_feed"]
    assert [name for name in ("celery", "kombu", "billiard", "amqp") if name in found["loaded"]] == []


@pytest.mark.django_db
def test_a_robust_request_that_fails_is_logged_and_leaves_the_callers_transaction_going(caplog):
    from django.db import DatabaseError, transaction

    with transaction.atomic():
        DeferredTask.objects.create(task="earlier", due_at=timezone.now(), requested_at=timezone.now())
        with patch("kaspisync.models.DeferredTask.objects.get_or_create", side_effect=DatabaseError("disk full")):
            with pytest.raises(DatabaseError):
                defer_task(HEARTBEAT)
            assert defer_task(HEARTBEAT, robust=True) is False
        assert defer_task(HEARTBEAT) is True  # the transaction goes on
    assert set(DeferredTask.objects.values_list("task", flat=True)) == {"earlier", HEARTBEAT}
    assert "could not ask for the task kaspisync.tasks.heartbeat: disk full" in caplog.text
