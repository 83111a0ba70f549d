"""Alerts about the jobs themselves: failed and late jobs from the job registry, a silent worker
(also watched from the web process, which then sends the alert itself)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.checks import check_jobs, check_worker, run_checks, watch_once
from alerts.models import Alert, Kind
from catalog.models import ImportKind, ImportRun
from kaspisync.heartbeat import record_heartbeat
from kaspisync.models import RunStatus, WorkerHeartbeat

pytestmark = pytest.mark.django_db


def import_run(status, ago, kind=ImportKind.FULL, error=""):
    at = timezone.now() - ago
    return ImportRun.objects.create(kind=kind, status=status, started_at=at, finished_at=at, error=error)


def test_a_failed_job_is_announced_once_per_failure_streak(settings):
    import_run(RunStatus.SUCCESS, timedelta(hours=1))
    run = import_run(RunStatus.FAILED, timedelta(minutes=5), error="Al-Style answered 503 three times")
    record_heartbeat()
    assert run_checks() == 1
    alert = Alert.objects.get(kind=Kind.JOB_FAILED)
    assert alert.title == "Фоновая задача «полный импорт каталога» завершилась ошибкой"
    assert "Ошибка: Al-Style answered 503 three times" in alert.lines
    assert alert.link == f"/admin/catalog/importrun/{run.pk}/change/"
    assert alert.permission == "catalog.view_importrun"
    import_run(RunStatus.FAILED, timedelta(minutes=1))  # it keeps failing: no second alert
    assert run_checks() == 0
    import_run(RunStatus.SUCCESS, timedelta(seconds=30))
    import_run(RunStatus.FAILED, timedelta(seconds=10))  # a new streak after a success
    assert len(check_jobs()) == 1
    assert Alert.objects.filter(kind=Kind.JOB_FAILED).count() == 2


def test_a_job_without_a_success_for_longer_than_its_threshold_is_announced(settings):
    settings.IMPORT_FULL_INTERVAL = 3600  # the registry: full import alerts after 2 intervals
    import_run(RunStatus.SUCCESS, timedelta(minutes=119))
    assert [a for a in check_jobs() if a.kind == Kind.JOB_LATE] == []
    import_run_late = import_run(RunStatus.SUCCESS, timedelta(minutes=121))
    ImportRun.objects.exclude(pk=import_run_late.pk).filter(kind=ImportKind.FULL).delete()
    [alert] = [a for a in check_jobs() if a.kind == Kind.JOB_LATE]
    assert alert.title == "Фоновая задача «полный импорт каталога» не выполнялась успешно 2\xa0часа"
    assert check_jobs() == []  # once per last success


def test_a_silent_worker_is_announced_once_per_last_heartbeat():
    beat = record_heartbeat()
    assert check_worker() is None
    WorkerHeartbeat.objects.update(last_seen=beat.last_seen - timedelta(minutes=4))
    alert = check_worker()
    assert alert.kind == Kind.WORKER_SILENT
    assert alert.title == "Фоновый обработчик не отвечает 4\xa0минуты"
    assert check_worker() is None


def test_the_web_watchdog_raises_and_sends_the_silent_worker_alert_itself(telegram):
    beat = record_heartbeat()
    started = 0.0  # the web process has been up long enough
    assert watch_once(started) is False
    assert telegram.messages == []
    WorkerHeartbeat.objects.update(last_seen=beat.last_seen - timedelta(minutes=10))
    assert watch_once(started) is True
    [text] = telegram.texts()
    assert text.startswith("Фоновый обработчик не отвечает 10\xa0минут")


def test_just_after_start_a_never_seen_worker_is_not_an_alarm(telegram):
    import time

    assert watch_once(time.monotonic()) is True  # stale (never seen) ...
    assert not Alert.objects.exists()  # ... but the web server has just started


@pytest.mark.slow
def test_the_web_process_starts_the_watchdog_and_other_processes_do_not():
    import subprocess
    import sys

    code = "import {}; from alerts import checks; print(checks._watchdog is not None and checks._watchdog.is_alive())"
    env = {**__import__("os").environ, "KASPISYNC_ENV_FILE": "/dev/null"}
    env.pop("KASPISYNC_PROCESS", None)
    web = subprocess.run([sys.executable, "-c", code.format("kaspisync.wsgi")], capture_output=True, text=True, env=env)
    assert web.stdout.strip() == "True", web.stderr[-2000:]
    other = "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'kaspisync.settings'); django.setup(); "
    other += "from alerts import checks; print(checks._watchdog is None)"
    command = subprocess.run([sys.executable, "-c", other], capture_output=True, text=True, env=env)
    assert command.stdout.strip() == "True", command.stderr[-2000:]


def test_the_periodic_check_in_a_worker_never_calls_the_worker_silent():
    """A worker running the check is alive, whatever the heartbeat says (it may be queued behind
    long jobs, or not have run yet after a fresh start): only the web process raises that alert."""
    assert run_checks() == 0
    beat = record_heartbeat()
    WorkerHeartbeat.objects.update(last_seen=beat.last_seen - timedelta(minutes=10))
    assert run_checks() == 0
    assert not Alert.objects.filter(kind=Kind.WORKER_SILENT).exists()
