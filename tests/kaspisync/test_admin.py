"""The admin dashboard, its worker panel, the site identity and the first admin login."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from kaspisync.accounts import ensure_admin, remembered_username
from kaspisync.heartbeat import STALE_AFTER, record_heartbeat
from kaspisync.models import WorkerHeartbeat
from tests.factories import make_staff

pytestmark = pytest.mark.django_db


def dashboard(client, language="ru"):
    response = client.get("/admin/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


def health_line(page: str, label: str) -> str:
    """The health panel's line of `label` (with its colour class)."""
    start = page.index('id="health"')
    line = page[page.rindex("<li", start, page.index(label, start)) : page.index("</li>", page.index(label, start))]
    return line


def test_dashboard_without_any_heartbeat_says_no_worker_seen(admin_client):
    page = dashboard(admin_client, "en")
    line = health_line(page, "Background worker")
    assert 'class="ks-red"' in line
    assert "never answered" in line
    assert "kaspisync — merchant portal" in page


def test_dashboard_shows_a_fresh_heartbeat_without_warning(admin_client):
    record_heartbeat()
    page = dashboard(admin_client, "en")
    line = health_line(page, "Background worker")
    assert 'class="ks-green"' in line
    assert "answered" in line
    assert "vm:" not in page, "no technical host:pid"
    assert str(WorkerHeartbeat.objects.get().pid) not in line, "no technical host:pid"


def test_dashboard_warns_when_the_heartbeat_is_stale(admin_client):
    record_heartbeat()
    WorkerHeartbeat.objects.update(last_seen=timezone.now() - STALE_AFTER - timedelta(seconds=5))
    page = dashboard(admin_client, "en")
    line = health_line(page, "Background worker")
    assert 'class="ks-red"' in line
    assert "silent for 3" in line


def test_dashboard_is_russian_by_default(admin_client):
    record_heartbeat()
    page = dashboard(admin_client)
    assert "kaspisync — портал продавца" in page
    assert "Фоновый обработчик" in page


def test_heartbeat_is_a_single_row_updated_in_place():
    first = record_heartbeat()
    WorkerHeartbeat.objects.update(last_seen=timezone.now() - timedelta(hours=1))
    second = record_heartbeat()
    assert WorkerHeartbeat.objects.count() == 1
    assert second.last_seen > first.last_seen - timedelta(seconds=1)
    assert WorkerHeartbeat.objects.get().last_seen > timezone.now() - timedelta(minutes=1)


def test_generated_admin_password_is_given_once(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    login = ensure_admin()
    assert login.created
    assert len(login.generated_password) >= 12
    user = get_user_model().objects.get(username="admin")
    assert user.is_superuser
    assert user.check_password(login.generated_password)
    assert remembered_username() == "admin"
    assert login.generated_password not in (tmp_path / "admin_user").read_text()
    again = ensure_admin()
    assert again.generated_password == ""
    assert not again.created


def test_admin_password_from_environment_wins(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    ensure_admin("owner", "first-pass-123")
    ensure_admin("owner", "second-pass-456")
    assert get_user_model().objects.get(username="owner").check_password("second-pass-456")


def test_no_admin_is_generated_when_a_superuser_exists(settings, tmp_path, capsys):
    settings.VAR_DIR = tmp_path
    make_staff("someone", superuser=True)
    call_command("ensure_admin")
    assert "nothing to do" in capsys.readouterr().out
    assert not get_user_model().objects.filter(username="admin").exists()


def test_job_locks_are_listed_read_only(admin_client):
    from kaspisync import locks

    locks.acquire("catalog.import")
    page = admin_client.get("/admin/kaspisync/joblock/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "catalog.import" in page
    assert admin_client.get("/admin/kaspisync/joblock/add/").status_code == 403
