"""The one retry policy of both API clients (kaspisync.http.RetryPolicy)."""

import time

import pytest

from kaspisync.http import BACKOFF_MAX, STATED_WAIT_MAX, ExternalServiceError, RetryPolicy


@pytest.fixture
def sleeps(monkeypatch):
    slept = []
    monkeypatch.setattr(time, "sleep", slept.append)
    return slept


def failing(*failures):
    """A send() that raises these failures in turn, then answers "ok"; it counts its calls."""
    queue = list(failures)

    def send():
        send.calls += 1
        if queue:
            raise queue.pop(0)
        return "ok"

    send.calls = 0
    return send


def test_retryable_failures_are_retried_with_growing_capped_backoff(sleeps):
    send = failing(*[ExternalServiceError("503", retryable=True) for _ in range(9)])
    assert RetryPolicy(attempts=10, backoff_base=8).call(send) == "ok"
    assert send.calls == 10
    assert len(sleeps) == 9
    assert 6.4 <= sleeps[0] <= 9.6
    assert 12.8 <= sleeps[1] <= 19.2  # 8 s, then 16 s, ±20 %
    assert max(sleeps) <= BACKOFF_MAX * 1.2
    assert sleeps[-1] >= BACKOFF_MAX * 0.8  # the hard maximum


def test_the_wait_the_server_states_is_honoured_up_to_a_maximum(sleeps):
    send = failing(
        ExternalServiceError("throttled", retryable=True, retry_after=3.5),
        ExternalServiceError("throttled", retryable=True, retry_after=86400),
    )
    RetryPolicy(attempts=3, backoff_base=1).call(send)
    assert sleeps == [3.5, STATED_WAIT_MAX]


def test_attempts_are_bounded_and_the_last_failure_is_raised(sleeps):
    failures = [ExternalServiceError(f"boom {n}", retryable=True) for n in range(5)]
    send = failing(*failures)
    with pytest.raises(ExternalServiceError) as caught:
        RetryPolicy(attempts=3, backoff_base=0).call(send)
    assert send.calls == 3
    assert caught.value is failures[2]


def test_a_failure_not_marked_retryable_is_raised_at_once(sleeps):
    send = failing(ExternalServiceError("HTTP 400", status=400), ExternalServiceError("never reached"))
    with pytest.raises(ExternalServiceError, match="HTTP 400"):
        RetryPolicy(attempts=5, backoff_base=1).call(send)
    assert send.calls == 1
    assert sleeps == []
    other = failing(KeyError("a bug"))
    with pytest.raises(KeyError):
        RetryPolicy(attempts=5, backoff_base=1).call(other)
    assert other.calls == 1


def test_something_runs_before_every_attempt(sleeps):
    turns = []
    send = failing(ExternalServiceError("503", retryable=True))
    RetryPolicy(attempts=3, backoff_base=0).call(send, before_attempt=lambda: turns.append(send.calls))
    assert turns == [0, 1]  # e.g. the Al-Style rate slot, taken again for the retry


def test_every_client_takes_its_policy_from_its_own_settings(settings):
    from cards.kaspi_content import KaspiContentClient
    from catalog.alstyle import AlstyleClient
    from orders.kaspi import KaspiClient

    settings.ALSTYLE_MAX_ATTEMPTS, settings.ALSTYLE_BACKOFF_BASE = 7, 3
    settings.KASPI_MAX_ATTEMPTS, settings.KASPI_BACKOFF_BASE = 4, 0.5
    assert AlstyleClient(token="t").retry == RetryPolicy(attempts=7, backoff_base=3)
    assert KaspiClient(token="t").retry == RetryPolicy(attempts=4, backoff_base=0.5)
    assert KaspiContentClient(token="t").retry == RetryPolicy(attempts=4, backoff_base=0.5)
    assert KaspiClient(token="t", max_attempts=2, backoff_base=0).retry == RetryPolicy(attempts=2, backoff_base=0)
    settings.KASPI_MAX_ATTEMPTS = 0
    assert RetryPolicy.configured("KASPI").attempts == 1  # always one attempt at least
