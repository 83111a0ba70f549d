"""Worker heartbeat: beat queues `kaspisync.tasks.heartbeat` every minute, a worker records the
time here, and the admin dashboard shows how long ago a worker was last seen."""

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import DatabaseError
from django.utils import timezone

from .models import WorkerHeartbeat

INTERVAL = timedelta(minutes=1)
STALE_AFTER = 3 * INTERVAL  # three missed beats: beat or every worker is down


def record_heartbeat() -> WorkerHeartbeat:
    beat, _ = WorkerHeartbeat.objects.update_or_create(
        id=WorkerHeartbeat.SINGLETON_ID,
        defaults={"last_seen": timezone.now(), "hostname": socket.gethostname()[:255], "pid": os.getpid()},
    )
    return beat


@dataclass(frozen=True)
class WorkerStatus:
    last_seen: datetime | None
    hostname: str = ""
    pid: int | None = None

    @property
    def stale(self) -> bool:
        return self.last_seen is None or timezone.now() - self.last_seen > STALE_AFTER


def worker_status() -> WorkerStatus:
    """What the dashboard shows; never fails (a missing table reads as 'never seen')."""
    try:
        beat = WorkerHeartbeat.objects.filter(id=WorkerHeartbeat.SINGLETON_ID).first()
    except DatabaseError:
        beat = None
    if beat is None:
        return WorkerStatus(last_seen=None)
    return WorkerStatus(last_seen=beat.last_seen, hostname=beat.hostname, pid=beat.pid)
