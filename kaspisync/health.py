"""What `/healthz`, `check_connections` and the dashboard ask about the portal's own state:
the database, the Celery broker, and the registered jobs' last success (kaspisync.registry)."""

import os
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.utils import timezone

from . import registry
from .heartbeat import STALE_AFTER, worker_status
from .models import RunStatus
from .secrets import mask


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return f"{connection.vendor} ({connection.settings_dict['NAME']})"


def check_broker(timeout: float = 5, retries: int = 1) -> str:
    """Connect to the broker (Redis: a PING); the filesystem broker: its queue folder is writable.
    Every wait is bounded by `timeout` seconds."""
    from .celery import app

    options = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
    with app.connection_for_write(connect_timeout=timeout, transport_options=options) as conn:
        conn.ensure_connection(max_retries=retries, timeout=timeout)
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
    last_status: str  # of the newest finished run (success or failed; skipped runs do not count)
    first_started: datetime | None  # oldest run: how long a job that never succeeded has been failing

    def age(self, now: datetime) -> timedelta | None:
        """Time since the last success (never successful: since its first run; None: no run yet)."""
        since = self.last_success or self.first_started
        return None if since is None else now - since

    def late(self, now: datetime, threshold: timedelta | None) -> bool:
        age = self.age(now)
        return threshold is not None and age is not None and age > threshold

    @property
    def failed(self) -> bool:
        return self.last_status == RunStatus.FAILED


def job_state(job: registry.Job) -> JobState:
    """The last success and the last finished run of a job: one indexed query when its newest
    finished run succeeded, two or three when it failed."""
    finished = job.runs().filter(status__in=(RunStatus.SUCCESS, RunStatus.FAILED)).order_by("-started_at")
    last = finished.values_list("status", "finished_at").first()
    success = first = None
    if last is not None and last[0] == RunStatus.SUCCESS:
        success = last[1]
    else:
        success = finished.filter(status=RunStatus.SUCCESS).values_list("finished_at", flat=True).first()
        if success is None:
            first = job.runs().order_by("started_at").values_list("started_at", flat=True).first()
    return JobState(
        job=job,
        last_success=success,
        last_finished=last[1] if last else None,
        last_status=last[0] if last else "",
        first_started=first,
    )


def job_states() -> list[JobState]:
    return [job_state(job) for job in registry.jobs()]


# --- /healthz -----------------------------------------------------------------------------------
def _seconds(value: timedelta | None) -> int | None:
    return None if value is None else int(value.total_seconds())


def report(now: datetime | None = None) -> tuple[bool, dict]:
    """(healthy, body) of `GET /healthz`: what a monitor should page on, with the figures behind
    it. Never a secret or personal data: check names, ages in seconds, job names and statuses."""
    now = now or timezone.now()
    reasons: list[str] = []
    checks: dict = {}
    try:
        check_database()
        checks["database"] = {"ok": True}
    except Exception:
        checks["database"] = {"ok": False}
        reasons.append("database unavailable")
    try:
        check_broker(timeout=2, retries=0)
        checks["broker"] = {"ok": True}
    except Exception:
        checks["broker"] = {"ok": False}
        reasons.append("broker unavailable")
    body = {"status": "", "time": now.isoformat(timespec="seconds"), "checks": checks, "jobs": {}}
    if checks["database"]["ok"]:
        worker = worker_status()
        age = None if worker.last_seen is None else now - worker.last_seen
        stale = age is None or age > STALE_AFTER
        checks["worker"] = {
            "ok": not stale,
            "last_heartbeat_seconds": _seconds(age),
            "page_after_seconds": _seconds(STALE_AFTER),
        }
        if stale:
            minutes = int(STALE_AFTER.total_seconds() // 60)
            reasons.append(
                f"no worker heartbeat for {minutes} minutes"
                + (" (never seen)" if age is None else f" (last {_seconds(age)} s ago)")
            )
        for state in job_states():
            job = state.job
            pages = state.late(now, job.page_threshold)
            body["jobs"][job.name] = {
                "ok": not pages,
                "last_success_seconds": _seconds(now - state.last_success) if state.last_success else None,
                "last_status": state.last_status or None,
                "interval_seconds": _seconds(job.interval),
                "alert_after_seconds": _seconds(job.alert_threshold),
                "page_after_seconds": _seconds(job.page_threshold),
                "late": state.late(now, job.alert_threshold),
            }
            if pages:
                since = "never succeeded" if state.last_success is None else "no success"
                reasons.append(
                    f"{job.name}: {since} for {_seconds(state.age(now))} s (pages after {_seconds(job.page_threshold)} s)"
                )
    body["status"] = "error" if reasons else "ok"
    if reasons:
        body["reasons"] = reasons
    return not reasons, body
