"""Job locks: a dead holder's lock is taken over within a minute whatever JOB_LOCK_TTL says; a
live holder keeps it as long as it runs."""

import subprocess
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from kaspisync import locks
from kaspisync.models import JobLock


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


@pytest.mark.django_db
def test_a_lock_not_kept_alive_for_the_lease_is_taken_over_whatever_the_ttl(settings):
    settings.JOB_LOCK_TTL = timedelta(hours=6)
    first = locks.acquire("job.lease")
    JobLock.objects.filter(name="job.lease").update(
        alive_at=timezone.now() - settings.JOB_LOCK_LEASE - timedelta(seconds=1)
    )
    assert not locks.is_locked("job.lease")
    second = locks.acquire("job.lease")
    assert second is not None
    assert second.owner != first.owner
    with pytest.raises(locks.LockLost):
        first.refresh()
    first.release()  # a lost lock's release leaves the new owner's lock alone
    assert locks.is_locked("job.lease")


@pytest.mark.django_db
def test_a_lock_within_its_lease_is_not_taken():
    first = locks.acquire("job.alive")
    JobLock.objects.filter(name="job.alive").update(alive_at=timezone.now() - timedelta(seconds=30))
    assert locks.acquire("job.alive") is None
    assert locks.is_locked("job.alive")
    first.refresh()


@pytest.mark.django_db
def test_the_lock_of_a_process_that_ended_on_this_machine_is_taken_at_once(settings):
    settings.JOB_LOCK_TTL = timedelta(hours=6)
    now = timezone.now()
    gone = f"{locks._machine()}:{dead_pid()}:0123456789ab"
    JobLock.objects.create(
        name="job.gone", owner=gone, acquired_at=now, alive_at=now, expires_at=now + timedelta(hours=6)
    )
    assert not locks.is_locked("job.gone")
    taken = locks.acquire("job.gone")
    assert taken is not None
    assert JobLock.objects.get(name="job.gone").owner == taken.owner


@pytest.mark.django_db
def test_a_holder_on_another_machine_is_judged_by_its_lease_only():
    now = timezone.now()
    elsewhere = "other-host/4026531836:1:0123456789ab"  # pid 1 there: nothing to say about it here
    JobLock.objects.create(
        name="job.far", owner=elsewhere, acquired_at=now, alive_at=now, expires_at=now + timedelta(hours=1)
    )
    assert locks.acquire("job.far") is None


@pytest.mark.django_db(transaction=True)
def test_a_live_holder_keeps_its_lock_beyond_the_lease(settings):
    settings.JOB_LOCK_LEASE = timedelta(seconds=0.4)
    with locks.job_lock("job.kept") as lock:
        assert lock is not None
        time.sleep(1.2)  # three leases: the keeper thread touched it meanwhile
        assert locks.acquire("job.kept") is None
        lock.refresh()
    assert not JobLock.objects.filter(name="job.kept").exists()
    assert not lock._keeper.is_alive()  # released: its keeper stopped


@pytest.mark.django_db(transaction=True)
def test_without_its_keeper_a_lock_dies_after_the_lease(settings):
    settings.JOB_LOCK_LEASE = timedelta(seconds=0.4)
    lock = locks.acquire("job.unkept")  # no keep_alive(): as if its process froze
    time.sleep(0.6)
    other = locks.acquire("job.unkept")
    assert other is not None
    other.release()
    lock.release()
