"""Job locks: one run per job at a time, across processes and machines.

The lock is a row in the database (so it holds on the embedded default with no Redis, and on
PostgreSQL across machines), owned by its holder: only the owner refreshes or releases it.

A lock is dead, and the next run takes it over, when any of these holds:
- its holder stopped keeping it alive: a holder outside a transaction runs a small thread that
  touches `alive_at` every JOB_LOCK_LEASE / 4 seconds, so a lock not touched for JOB_LOCK_LEASE
  (60 s) belongs to a process that is gone (killed, machine down) — taken over within a minute
  whatever JOB_LOCK_TTL says;
- its holder ran on this machine and its process no longer exists (taken over at once);
- it made no progress for JOB_LOCK_TTL: `refresh()` (called by long runs between steps) moves
  `expires_at`; a live holder stuck that long loses it.

    with job_lock("catalog.import") as lock:
        if lock is None:
            ...  # someone else holds it: record the run as skipped
        ...
        lock.refresh()  # progress; raises LockLost if another holder took it meanwhile
"""

import contextlib
import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, connections, transaction
from django.db.models import Q
from django.utils import timezone

from .models import JobLock

log = logging.getLogger(__name__)


class LockLost(RuntimeError):
    """The lock expired and another holder took it: stop writing."""


def _machine() -> str:
    """This machine and process namespace: a holder with the same one is a process we can see."""
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        namespace = "?"
    return f"{socket.gethostname()[:40]}/{namespace}"


def _new_owner() -> str:
    return f"{_machine()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _holder_gone(owner: str) -> bool:
    """The holder ran on this machine (same process namespace) and its process has ended."""
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != _machine() or parts[0].endswith("/?") or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists, owned by another user
        return False
    try:  # a killed process nobody has reaped yet is a zombie: gone all the same
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return False


def lease() -> timedelta:
    return settings.JOB_LOCK_LEASE


@dataclass
class Lock:
    name: str
    owner: str
    ttl: timedelta
    lost: bool = False
    _keeper: threading.Thread | None = field(default=None, repr=False)
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)

    def refresh(self) -> None:
        """Progress: keep the lock for another JOB_LOCK_TTL. Raises LockLost if it was taken."""
        now = timezone.now()
        updated = JobLock.objects.filter(name=self.name, owner=self.owner).update(
            expires_at=now + self.ttl, alive_at=now
        )
        if self.lost or not updated:
            self.lost = True
            raise LockLost(self.name)

    def attach(self, run) -> None:
        """Record that this lock covers `run` (a JobRun row), so that a RUNNING row no live lock
        covers can be told abandoned (kaspisync.runs.close_abandoned)."""
        JobLock.objects.filter(name=self.name, owner=self.owner).update(run_model=run._meta.label_lower, run_id=run.pk)

    def release(self) -> None:
        self._stop.set()
        JobLock.objects.filter(name=self.name, owner=self.owner).delete()
        if self._keeper is not None and self._keeper is not threading.current_thread():
            self._keeper.join(timeout=5)

    def keep_alive(self) -> None:
        """Touch `alive_at` from a daemon thread until released. Only for a lock committed in
        the database (taken outside a transaction): inside one nobody else can see it anyway."""
        if self._keeper is not None or connection.in_atomic_block:
            return
        self._keeper = threading.Thread(target=self._keep, name=f"lock-{self.name}", daemon=True)
        self._keeper.start()

    def _keep(self) -> None:
        every = max(lease().total_seconds() / 4, 0.05)
        try:
            while not self._stop.wait(every):
                try:
                    touched = JobLock.objects.filter(name=self.name, owner=self.owner).update(alive_at=timezone.now())
                except DatabaseError as exc:  # busy database: try again at the next beat
                    log.warning("could not keep lock %s alive: %s", self.name, exc)
                    continue
                if not touched and not self._stop.is_set():
                    self.lost = True
                    log.warning("lock %s was taken over by another holder", self.name)
                    return
        finally:
            connections.close_all()  # this thread's own connections


def acquire(name: str, ttl: timedelta | None = None) -> Lock | None:
    """Take the lock if it is free or dead; return None if a live holder has it."""
    ttl = ttl or settings.JOB_LOCK_TTL
    owner = _new_owner()
    now = timezone.now()
    values = {
        "owner": owner,
        "acquired_at": now,
        "expires_at": now + ttl,
        "alive_at": now,
        "run_model": "",
        "run_id": None,
    }
    # Take over a dead lock (a conditional UPDATE is atomic on both databases) ...
    dead = Q(expires_at__lt=now) | Q(alive_at__lt=now - lease())
    taken = JobLock.objects.filter(dead, name=name).update(**values)
    if not taken:
        holder = JobLock.objects.filter(name=name).values_list("owner", flat=True).first()
        if holder is not None and _holder_gone(holder):
            log.info("lock %s: its holder %s is gone; taking it over", name, holder)
            taken = JobLock.objects.filter(name=name, owner=holder).update(**values)
        if not taken:
            # ... or create it; the primary key makes a concurrent second INSERT fail.
            try:
                with transaction.atomic():
                    JobLock.objects.create(name=name, **values)
            except IntegrityError:
                return None
    return Lock(name=name, owner=owner, ttl=ttl)


def _live(rows):
    """The lock rows (a queryset) whose holder is alive."""
    now = timezone.now()
    alive = Q(alive_at__isnull=True) | Q(alive_at__gte=now - lease())
    return [row for row in rows.filter(alive, expires_at__gte=now) if not _holder_gone(row.owner)]


def is_locked(name: str) -> bool:
    """Whether a live holder has the lock (a dead holder's lock counts as free)."""
    return bool(_live(JobLock.objects.filter(name=name)))


def live_run_ids(model) -> set[int]:
    """Ids of the `model` rows that live locks cover (runs in progress)."""
    return {row.run_id for row in _live(JobLock.objects.filter(run_model=model._meta.label_lower))}


@contextlib.contextmanager
def job_lock(name: str, ttl: timedelta | None = None):
    lock = acquire(name, ttl)
    if lock is not None:
        lock.keep_alive()
    try:
        yield lock
    finally:
        if lock is not None:
            lock.release()
