"""Job locks: one run per job at a time, across processes and machines.

The lock is a row in the database (so it holds on the embedded default with no Redis, and on
PostgreSQL across machines). It expires, so a run whose worker died does not block the next one
forever; a long run keeps it with `refresh()`. Only the owner can refresh or release it.

    with job_lock("catalog.import") as lock:
        if lock is None:
            ...  # someone else holds it: record the run as skipped
        ...
        lock.refresh()
"""

import contextlib
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import JobLock


class LockLost(RuntimeError):
    """The lock expired and another holder took it: stop writing."""


def _new_owner() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


@dataclass
class Lock:
    name: str
    owner: str
    ttl: timedelta

    def refresh(self) -> None:
        now = timezone.now()
        updated = JobLock.objects.filter(name=self.name, owner=self.owner).update(expires_at=now + self.ttl)
        if not updated:
            raise LockLost(self.name)

    def release(self) -> None:
        JobLock.objects.filter(name=self.name, owner=self.owner).delete()


def acquire(name: str, ttl: timedelta | None = None) -> Lock | None:
    """Take the lock if it is free or expired; return None if someone else holds it."""
    ttl = ttl or settings.JOB_LOCK_TTL
    owner = _new_owner()
    now = timezone.now()
    # Take over an expired lock (a conditional UPDATE is atomic on both databases) ...
    taken = JobLock.objects.filter(name=name, expires_at__lt=now).update(
        owner=owner, acquired_at=now, expires_at=now + ttl
    )
    if not taken:
        # ... or create it; the primary key makes a concurrent second INSERT fail.
        try:
            with transaction.atomic():
                JobLock.objects.create(name=name, owner=owner, acquired_at=now, expires_at=now + ttl)
        except IntegrityError:
            return None
    return Lock(name=name, owner=owner, ttl=ttl)


def is_locked(name: str) -> bool:
    return JobLock.objects.filter(name=name, expires_at__gte=timezone.now()).exists()


@contextlib.contextmanager
def job_lock(name: str, ttl: timedelta | None = None):
    lock = acquire(name, ttl)
    try:
        yield lock
    finally:
        if lock is not None:
            lock.release()
