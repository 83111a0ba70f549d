"""Refusals are pages in Russian words with the way out, never a bare "403 Forbidden": a missing
permission (the roles' page) and a form sent from a page that went stale (CSRF)."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import translation

pytestmark = pytest.mark.django_db


def test_a_form_from_a_stale_page_is_refused_in_russian_words():
    client = Client(enforce_csrf_checks=True)
    client.force_login(get_user_model().objects.create_superuser("boss", password="pw"))
    with translation.override("ru"):
        answer = client.post(reverse("admin:orders_autoaccept_switch"), {"on": "0"}, HTTP_ACCEPT_LANGUAGE="ru")
    page = answer.content.decode()
    assert answer.status_code == 403
    assert "403 Forbidden" not in page and "CSRF" not in page and "Forbidden" not in page
    assert "Страница устарела" in page and reverse("admin:index") in page


def test_a_login_form_left_open_too_long_is_refused_in_russian_words():
    client = Client(enforce_csrf_checks=True)
    answer = client.post(reverse("admin:login"), {"username": "boss", "password": "pw"})
    page = answer.content.decode()
    assert answer.status_code == 403 and "Страница устарела" in page and "403 Forbidden" not in page
