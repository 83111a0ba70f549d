"""Login throttling (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one user or from
one address, logins are refused for AXES_COOLOFF_MINUTES with a message in Russian, even with the
right password; `manage.py axes_reset_username` / `axes_reset_ip` unlock (issue 9, item 5)."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db
LOGIN = "/admin/login/"
PASSWORD = "right-horse-battery-7"


@pytest.fixture(autouse=True)
def limits(settings):
    settings.AXES_FAILURE_LIMIT = 5
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)


@pytest.fixture
def staff(make_staff):
    return make_staff("manager", password=PASSWORD)


def attempt(username, password, address="10.0.0.1"):
    client = Client(REMOTE_ADDR=address)
    response = client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"})
    return response, client


def test_the_right_password_works(staff):
    response, client = attempt("manager", PASSWORD)
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_user_is_locked_after_five_wrong_passwords_even_with_the_right_one(staff):
    for _ in range(4):
        response, _client = attempt("manager", "wrong")
        assert response.status_code == 200  # the form again, with its error
    response, _client = attempt("manager", "wrong")
    assert response.status_code == 429
    response, client = attempt("manager", PASSWORD, address="10.0.0.2")  # the right one, from elsewhere
    assert response.status_code == 429
    text = response.content.decode()
    assert "Слишком много неудачных попыток входа" in text
    assert "15" in text
    assert client.get("/admin/").status_code == 302  # not logged in


def test_an_address_is_locked_after_five_wrong_passwords_for_any_users(staff):
    for name in ("a", "b", "c", "d", "e"):
        attempt(name, "wrong", address="10.9.9.9")
    assert attempt("manager", PASSWORD, address="10.9.9.9")[0].status_code == 429
    assert attempt("manager", PASSWORD, address="10.1.1.1")[0].status_code == 302  # another address


def test_the_lockout_ends_after_the_cool_off(staff, settings):
    for _ in range(5):
        attempt("manager", "wrong")
    settings.AXES_COOLOFF_TIME = timedelta(seconds=0)
    assert attempt("manager", PASSWORD, address="10.0.0.3")[0].status_code == 302


def test_the_unlock_commands(staff):
    for _ in range(5):
        attempt("manager", "wrong", address="10.5.5.5")
    assert attempt("manager", PASSWORD, address="10.6.6.6")[0].status_code == 429
    call_command("axes_reset_username", "manager")
    assert attempt("manager", PASSWORD, address="10.6.6.6")[0].status_code == 302
    for name in ("a", "b", "c", "d", "e"):
        attempt(name, "wrong", address="10.7.7.7")
    call_command("axes_reset_ip", "10.7.7.7")
    assert attempt("manager", PASSWORD, address="10.7.7.7")[0].status_code == 302


def test_logging_in_as_oneself_does_not_reset_the_guesses_at_another_account(staff):
    """Someone with an account of their own: their successful login forgets their own mistakes,
    never the failures for another user name from the same address (axes' own reset on success
    did, so the admin's password could be guessed without end, four guesses at a time)."""
    get_user_model().objects.create_user("intern", password="intern-pass-4k1", is_staff=True)
    address, guesses = "10.0.0.66", 0
    for _round in range(5):
        for _ in range(2):
            if attempt("manager", f"guess-{guesses}", address)[0].status_code == 429:
                break
            guesses += 1
        attempt("intern", "intern-pass-4k1", address)  # the insider's own login, same address
    assert guesses == 4, f"{guesses} guesses at another account's password went unthrottled"
    assert attempt("manager", PASSWORD, address="10.0.0.77")[0].status_code == 429  # the name is locked


def test_ones_own_typing_mistakes_are_forgotten_after_logging_in(staff):
    for _round in range(3):
        for _ in range(3):
            assert attempt("manager", "typo")[0].status_code == 200
        assert attempt("manager", PASSWORD)[0].status_code == 302


def test_the_failed_logins_list_reads_in_russian(staff, admin_client):
    """axes' own Russian catalog lacks its list's words: the status column, the lockout filter
    and the clean-up action are ours."""
    wrong = Client()
    for _ in range(2):
        wrong.post(LOGIN, {"username": "manager", "password": "wrong"}, REMOTE_ADDR="10.0.0.7")
    for _ in range(5):
        wrong.post(LOGIN, {"username": "ghost", "password": "wrong"}, REMOTE_ADDR="10.0.0.8")
    page = admin_client.get("/admin/axes/accessattempt/").content.decode()
    for english in ("Locked Out", "Attempt Remaining", "Status", "Clean up expired attempts"):
        assert english not in page
    assert "осталось попыток: 3" in page
    assert "заблокирован" in page
    assert "блокировка" in page  # the filter
    assert "Удалить истёкшие попытки" in page
