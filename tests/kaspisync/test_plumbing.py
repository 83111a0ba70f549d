import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from kaspisync import locks, throttle
from kaspisync.models import JobLock
from kaspisync.secrets import mask


@pytest.mark.django_db
def test_lock_is_exclusive_until_released():
    first = locks.acquire("job.a")
    assert first is not None
    assert locks.acquire("job.a") is None
    first.release()
    assert locks.acquire("job.a") is not None


@pytest.mark.django_db
def test_expired_lock_is_taken_over_and_old_owner_loses_it():
    first = locks.acquire("job.b", ttl=timedelta(seconds=60))
    JobLock.objects.filter(name="job.b").update(expires_at=timezone.now() - timedelta(seconds=1))
    second = locks.acquire("job.b")
    assert second is not None
    assert second.owner != first.owner
    with pytest.raises(locks.LockLost):
        first.refresh()
    first.release()  # releasing a lost lock must not free the new owner's lock
    assert locks.is_locked("job.b")


@pytest.mark.django_db
def test_rate_slots_are_spaced_by_interval():
    key = throttle.key_for("tok", "test")
    delays = [throttle.reserve_slot(key, 5) for _ in range(3)]
    assert delays == pytest.approx([0, 5, 10], abs=0.05)


@pytest.mark.django_db
def test_rate_slots_follow_the_database_clock(monkeypatch):
    """A worker whose own clock runs an hour late still waits its turn."""
    from datetime import timedelta

    from django.utils import timezone

    key = throttle.key_for("tok", "skew")
    assert throttle.reserve_slot(key, 5) == pytest.approx(0, abs=0.05)
    if throttle.connection.vendor == "postgresql":  # the slot is timed by the server, not by us
        late = timezone.now() - timedelta(hours=1)
        monkeypatch.setattr(timezone, "now", lambda: late)
    assert throttle.reserve_slot(key, 5) == pytest.approx(5, abs=0.05)


def test_mask_hides_configured_and_url_tokens(settings):
    settings.ALSTYLE_TOKEN = "s3cr3t-token-value"
    text = "GET https://api/x?access-token=abc123&limit=5 with s3cr3t-token-value X-Auth-Token: zzz999"
    masked = mask(text)
    assert "s3cr3t-token-value" not in masked
    assert "abc123" not in masked
    assert "zzz999" not in masked
    assert "limit=5" in masked


def test_log_records_are_masked_for_every_handler(settings, caplog):
    settings.KASPI_TOKEN = "kaspi-secret-1234"
    with caplog.at_level(logging.INFO):
        logging.getLogger("x").info("calling with %s", "kaspi-secret-1234")
    assert "kaspi-secret-1234" not in caplog.text
    assert "***" in caplog.text
