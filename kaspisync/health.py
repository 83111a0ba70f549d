"""What `/healthz`, `check_connections` and the dashboard ask about the portal's own state:
the database, the Celery broker, and the registered jobs' last success (kaspisync.registry)."""

import os
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection

from . import registry
from .models import RunStatus
from .secrets import mask


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return f"{connection.vendor} ({connection.settings_dict['NAME']})"


def check_broker(timeout: float = 5) -> str:
    """Connect to the broker (Redis: a PING); the filesystem broker: its queue folder is writable."""
    from .celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=timeout)
        driver = conn.transport.driver_type
        if driver == "filesystem":
            folder = conn.transport_options.get("data_folder_in", "")
            if not (os.path.isdir(folder) and os.access(folder, os.W_OK)):
                raise RuntimeError(f"the broker folder {folder or '(none)'} is missing or not writable")
        elif driver == "redis":
            conn.default_channel.client.ping()
        return mask(conn.as_uri())


@dataclass(frozen=True)
class JobState:
    job: registry.Job
    last_success: datetime | None
    last_finished: datetime | None
    last_status: str
    first_started: datetime | None  # oldest run: how long a job that never succeeded has been failing

    def age(self, now: datetime) -> timedelta | None:
        """Time since the last success (or, never successful, since its first run; None: no run yet)."""
        since = self.last_success or self.first_started
        return None if since is None else now - since

    def late(self, now: datetime, threshold: timedelta | None) -> bool:
        age = self.age(now)
        return threshold is not None and age is not None and age > threshold


def job_state(job: registry.Job) -> JobState:
    """The last success and the last finished run of a job (two to three small indexed queries)."""
    runs = job.runs().order_by("-started_at")
    success = runs.filter(status=RunStatus.SUCCESS).values_list("finished_at", flat=True).first()
    last = runs.exclude(status__in=(RunStatus.RUNNING, RunStatus.SKIPPED)).values_list("finished_at", "status").first()
    first = None
    if success is None:
        first = job.runs().order_by("started_at").values_list("started_at", flat=True).first()
    return JobState(
        job=job,
        last_success=success,
        last_finished=last[0] if last else None,
        last_status=last[1] if last else "",
        first_started=first,
    )


def job_states() -> list[JobState]:
    return [job_state(job) for job in registry.jobs()]
