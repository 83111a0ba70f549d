"""Refusals are pages in Russian words with the way out, never a bare "403 Forbidden": a missing
permission (the roles' page) and a form sent from a page that went stale (CSRF)."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from tests.factories import make_staff

pytestmark = pytest.mark.django_db


def test_a_form_from_a_stale_page_is_refused_in_russian_words():
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_staff("boss", superuser=True))
    with translation.override("ru"):
        answer = client.post(reverse("admin:orders_autoaccept_switch"), {"on": "0"}, HTTP_ACCEPT_LANGUAGE="ru")
    page = answer.content.decode()
    assert answer.status_code == 403
    assert "403 Forbidden" not in page
    assert "CSRF" not in page
    assert "Forbidden" not in page
    assert "Страница устарела" in page
    assert reverse("admin:index") in page


def test_a_login_form_left_open_too_long_is_refused_in_russian_words():
    client = Client(enforce_csrf_checks=True)
    answer = client.post(reverse("admin:login"), {"username": "boss", "password": "pw"})
    page = answer.content.decode()
    assert answer.status_code == 403
    assert "Страница устарела" in page
    assert "403 Forbidden" not in page


def test_a_page_that_does_not_exist_is_said_in_russian_with_the_way_back(admin_client):
    with translation.override("ru"):
        answer = admin_client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="ru")
    page = answer.content.decode()
    assert answer.status_code == 404
    assert "Страница не найдена" in page
    assert reverse("admin:index") in page
    assert "Not Found" not in page


def test_a_price_list_file_no_longer_kept_is_a_page_in_russian(admin_client, settings, tmp_path):
    from django.utils import timezone

    from feeds.models import FeedResult, FeedVersion

    settings.MEDIA_ROOT = str(tmp_path)
    version = FeedVersion.objects.create(
        status="success", result=FeedResult.PUBLISHED, started_at=timezone.now(), file="feeds/gone.xml"
    )
    with translation.override("ru"):
        answer = admin_client.get(reverse("admin:feeds_feedversion_download", args=[version.pk]))
    page = answer.content.decode()
    assert answer.status_code == 404
    assert "Страница не найдена" in page
    assert "Not Found" not in page


def test_a_crash_is_said_in_russian_without_details(client, settings):
    """Django's 500 page is an English 'Server Error (500)'; ours says what to do, and nothing of
    the error itself (it is in the log)."""
    from django.template.loader import render_to_string

    with translation.override("ru"):
        page = render_to_string("500.html")
    assert "Что-то пошло не так" in page
    assert "Server Error" not in page
