"""`GET /healthz`: 200 when all is well, 503 with reasons for each cause a monitor pages on;
nothing secret or personal; a handful of queries (issue 12, Health; issue 9, item 7)."""

import json
import os
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from kaspisync import registry
from kaspisync.celery import app as celery_app
from kaspisync.heartbeat import record_heartbeat
from kaspisync.launcher import web_ready
from kaspisync.models import RunStatus, WorkerHeartbeat

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def health(client):
    response = client.get("/healthz")
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    return response.status_code, response.json()


def succeeded(job_name: str, ago: timedelta, status: str = RunStatus.SUCCESS):
    job = registry.get_job(job_name)
    at = timezone.now() - ago
    return job.model.objects.create(status=status, started_at=at, finished_at=at, **job.run_filter)


@pytest.fixture
def all_well():
    """A worker heartbeat now and a recent success of every registered job."""
    record_heartbeat()
    for job in registry.jobs():
        succeeded(job.name, timedelta(seconds=30))


def test_all_well_is_200_with_the_figures(client, all_well):
    status, body = health(client)
    assert status == 200
    assert body["status"] == "ok"
    assert "reasons" not in body
    assert body["checks"]["database"]["ok"]
    assert body["checks"]["broker"]["ok"]
    assert body["checks"]["worker"]["ok"]
    assert body["checks"]["worker"]["last_heartbeat_seconds"] < 5
    pull = body["jobs"]["orders.pull"]
    assert pull["ok"]
    assert 29 <= pull["last_success_seconds"] <= 35
    assert pull["last_status"] == "success"
    assert pull["page_after_seconds"] == 3 * pull["interval_seconds"]
    assert set(body["jobs"]) == {job.name for job in registry.jobs()}


def test_no_worker_heartbeat_ever_is_503(client):
    status, body = health(client)
    assert status == 503
    assert body["status"] == "error"
    assert body["checks"]["worker"] == {"ok": False, "last_heartbeat_seconds": None, "page_after_seconds": 180}
    assert any("no worker heartbeat" in r and "never" in r for r in body["reasons"])


def test_a_heartbeat_older_than_three_minutes_is_503(client, all_well):
    WorkerHeartbeat.objects.update(last_seen=timezone.now() - timedelta(minutes=3, seconds=5))
    status, body = health(client)
    assert status == 503
    assert body["reasons"] == ["no worker heartbeat for 3 minutes (last 185 s ago)"]
    WorkerHeartbeat.objects.update(last_seen=timezone.now() - timedelta(minutes=2, seconds=50))
    assert health(client)[0] == 200


@pytest.mark.parametrize("job_name, times", [("orders.pull", 3), ("catalog.import.full", 2)])
def test_a_paging_job_without_success_for_its_threshold_is_503(client, all_well, job_name, times, settings):
    job = registry.get_job(job_name)
    job.runs().delete()
    succeeded(job_name, job.interval * times - timedelta(seconds=10))
    assert health(client)[0] == 200  # just inside the threshold
    job.runs().delete()
    succeeded(job_name, job.interval * times + timedelta(seconds=10))
    succeeded(job_name, timedelta(minutes=1), status=RunStatus.FAILED)  # failures since do not count
    status, body = health(client)
    assert status == 503
    assert not body["jobs"][job_name]["ok"]
    assert body["jobs"][job_name]["last_status"] == "failed"
    assert len(body["reasons"]) == 1
    assert body["reasons"][0].startswith(f"{job_name}: no success for ")


def test_a_pull_stuck_running_is_noticed(client, all_well):
    """The case of issue 9: a pull 'running' for ever, its last success long ago."""
    job = registry.get_job("orders.pull")
    job.runs().delete()
    succeeded("orders.pull", timedelta(hours=1))
    job.model.objects.create(status=RunStatus.RUNNING, started_at=timezone.now() - timedelta(minutes=50))
    status, body = health(client)
    assert status == 503
    assert "orders.pull" in body["reasons"][0]


def test_a_job_that_never_succeeded_pages_once_its_first_run_is_older_than_the_threshold(client, all_well):
    job = registry.get_job("orders.pull")
    job.runs().delete()
    succeeded("orders.pull", timedelta(hours=2), status=RunStatus.FAILED)
    status, body = health(client)
    assert status == 503
    assert "never succeeded" in body["reasons"][0]
    assert body["jobs"]["orders.pull"]["last_success_seconds"] is None


def test_a_late_job_that_does_not_page_is_reported_but_200(client, all_well):
    job = registry.get_job("catalog.import.quick")
    job.runs().delete()
    succeeded(job.name, job.interval * 10)
    status, body = health(client)
    assert status == 200
    assert body["jobs"][job.name]["late"] is True
    assert body["jobs"][job.name]["ok"] is True


def test_a_broker_that_does_not_answer_is_503(client, all_well, monkeypatch):
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:9/0")  # nothing listens there
    monkeypatch.setattr(celery_app, "_pool", None)
    started = time.monotonic()
    status, body = health(client)
    assert time.monotonic() - started < 5
    assert status == 503
    assert body["checks"]["broker"] == {"ok": False}
    assert body["reasons"] == ["broker unavailable"]
    assert "127.0.0.1:9" not in json.dumps(body)


@pytest.mark.slow
def test_a_database_that_does_not_answer_is_503_without_its_address(tmp_path):
    """A real process whose database is unreachable (nothing listens on the port)."""
    env = {
        **os.environ,
        "KASPISYNC_ENV_FILE": "/dev/null",
        "KASPISYNC_VAR_DIR": str(tmp_path),
        "DATABASE_URL": "postgres://kaspi:s3cret-db-pass@127.0.0.1:9/kaspisync",
        "CELERY_BROKER_URL": "filesystem://localhost/",
        "DJANGO_SETTINGS_MODULE": "kaspisync.settings",
    }
    script = (
        "import django; django.setup(); from django.test import Client; "
        "r = Client().get('/healthz', HTTP_HOST='localhost'); print(r.status_code); print(r.content.decode())"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    status, body = done.stdout.strip().split("\n", 1)
    assert status == "503", done.stderr
    assert json.loads(body)["reasons"] == ["database unavailable"]
    assert "s3cret" not in body
    assert "127.0.0.1" not in body
    assert "kaspi:" not in body


def test_nothing_secret_or_personal_is_shown(client, all_well, settings):
    settings.FEED_TOKEN = "feed-token-must-not-show-1234"
    settings.KASPI_TOKEN = "kaspi-token-must-not-show-5678"
    from orders.models import Order

    Order.objects.create(
        kaspi_id="k1",
        code="100200300",
        state="NEW",
        status="APPROVED_BY_BANK",
        total_price=1000,
        created_at=timezone.now(),
        customer_name="Айгерим Секретова",
        customer_phone="77011234567",
    )
    text = client.get("/healthz").content.decode()
    for secret in (settings.FEED_TOKEN, settings.KASPI_TOKEN, "Секретова", "77011234567", "sqlite", "filesystem"):
        assert secret not in text


def test_cheap_enough_for_every_ten_seconds(client, all_well, django_assert_max_num_queries):
    with django_assert_max_num_queries(2 + len(registry.jobs())):  # database, heartbeat, one per job
        assert health(client)[0] == 200
    timings = []
    for _ in range(50):
        started = time.perf_counter()
        client.get("/healthz")
        timings.append(time.perf_counter() - started)
    median = statistics.median(timings) * 1000
    print(f"/healthz: median {median:.1f} ms over 50 calls, {2 + len(registry.jobs())} queries at most")
    assert median < 100


def test_make_run_waits_for_a_web_server_whose_database_answers():
    fresh = json.dumps({"status": "error", "checks": {"database": {"ok": True}, "worker": {"ok": False}}}).encode()
    down = json.dumps({"status": "error", "checks": {"database": {"ok": False}}}).encode()
    assert web_ready(503, fresh)
    assert not web_ready(503, down)
    assert not web_ready(503, b"<html>")
