"""Alerts about the background jobs themselves, from the job registry (kaspisync.registry) and the
worker heartbeat: no app is imported, every job an app registered is watched.

- a job whose last finished run failed: one alert per failure streak (the key is the job and its
  last success, so a job that keeps failing is announced once, and again after it recovered);
- a job without a success for longer than its `alert_threshold` (the registry's `alert_after`
  intervals): one alert per last success it is late after;
- no worker heartbeat for `kaspisync.heartbeat.STALE_AFTER`: one alert per last heartbeat seen.

`run_checks()` runs the job checks (beat, every minute, in a worker). The heartbeat is watched by
the web process (`start_watchdog`, see kaspisync/wsgi.py), which then also sends what waits
itself: a dead worker runs no task, and a worker that runs the check is alive (its heartbeat may
only be queued behind long jobs), so the alert that no worker answers must not come from one.
"""

import logging
import os
import threading
import time
from datetime import datetime

from django.db import close_old_connections, transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

from kaspisync import registry
from kaspisync.health import job_state
from kaspisync.heartbeat import worker_status
from kaspisync.models import RunStatus

from .models import Kind
from .services import alert_language, notify, send_pending

log = logging.getLogger(__name__)

WATCHDOG_INTERVAL = 60  # seconds
WATCHDOG_GRACE = 300  # seconds after the web process starts before "never seen" counts


def _when(moment: datetime | None) -> str:
    return date_format(timezone.localtime(moment), "DATETIME_FORMAT") if moment else _("never")


def _admin_link(model, pk=None) -> str:
    name = f"admin:{model._meta.app_label}_{model._meta.model_name}_{'change' if pk else 'changelist'}"
    try:
        return reverse(name, args=[pk] if pk else [])
    except NoReverseMatch:
        return "/admin/"


def _view_permission(model) -> str:
    return f"{model._meta.app_label}.view_{model._meta.model_name}"


def check_jobs(now: datetime | None = None) -> list:
    """Alerts for failed and late jobs; returns the alerts created."""
    now = now or timezone.now()
    created = []
    for job in registry.jobs():
        state = job_state(job)
        since = state.last_success or state.first_started
        stamp = since.isoformat() if since else "never"
        if state.last_status == RunStatus.FAILED:
            run = job.runs().filter(status=RunStatus.FAILED).order_by("-started_at").first()
            lines = [_("When: %(when)s") % {"when": _when(run.finished_at or run.started_at)}]
            if run.error:
                lines.append(_("Error: %(error)s") % {"error": run.error[:800]})
            lines.append(_("Last success: %(when)s") % {"when": _when(state.last_success)})
            created.append(
                notify(
                    Kind.JOB_FAILED,
                    f"{job.name}:failed-after:{stamp}",
                    title=_("Background job “%(job)s” failed") % {"job": job.label},
                    lines=lines,
                    link=_admin_link(job.model, run.pk),
                    permission=_view_permission(job.model),
                )
            )
        if state.late(now, job.alert_threshold):
            late_for = timesince(since, now, depth=1) if since else ""
            created.append(
                notify(
                    Kind.JOB_LATE,
                    f"{job.name}:late-after:{stamp}",
                    title=_("Background job “%(job)s” has not succeeded for %(time)s")
                    % {"job": job.label, "time": late_for},
                    lines=[
                        _("Last success: %(when)s") % {"when": _when(state.last_success)},
                        _("Expected at least every %(interval)s; alert after %(threshold)s.")
                        % {
                            "interval": timesince(now - job.interval, now),
                            "threshold": timesince(now - job.alert_threshold, now),
                        },
                    ],
                    link=_admin_link(job.model),
                    permission=_view_permission(job.model),
                )
            )
    return [alert for alert in created if alert is not None]


def check_worker(now: datetime | None = None, *, never_seen_counts: bool = True):
    """An alert when no worker has answered the heartbeat for STALE_AFTER; the alert or None."""
    now = now or timezone.now()
    status = worker_status()
    if not status.stale or (status.last_seen is None and not never_seen_counts):
        return None
    lines = [_("Last heartbeat: %(when)s") % {"when": _when(status.last_seen)}]
    if status.hostname:
        lines.append(_("Last worker: %(host)s, process %(pid)s") % {"host": status.hostname, "pid": status.pid})
    lines.append(
        _(
            "Until a worker runs, orders are not pulled, prices and the price list are not updated and "
            "alerts are sent only by the web server."
        )
    )
    minutes = int((now - status.last_seen).total_seconds() // 60) if status.last_seen else None
    title = (
        _("No background worker has answered for %(time)s") % {"time": timesince(status.last_seen, now, depth=1)}
        if minutes is not None
        else _("No background worker has answered yet")
    )
    return notify(
        Kind.WORKER_SILENT,
        f"silent-since:{status.last_seen.isoformat() if status.last_seen else 'never'}",
        title=title,
        lines=lines,
        link="/admin/",
    )


def run_checks() -> int:
    """The job checks (beat, every minute, in a worker); returns how many alerts were created."""
    with alert_language(), transaction.atomic():
        return len(check_jobs())


# --- the web process's watchdog -----------------------------------------------------------------
_watchdog: threading.Thread | None = None


def watch_once(started: float) -> bool:
    """One look at the heartbeat from the web process: when it is stale, raise the alert and send
    what waits (no worker will). Returns whether the worker was found silent."""
    try:
        if not worker_status().stale:
            return False
        with alert_language(), transaction.atomic():
            check_worker(never_seen_counts=time.monotonic() - started > WATCHDOG_GRACE)
        send_pending()
        return True
    except Exception:  # the watchdog must never take the web process down
        log.exception("alerts watchdog")
        return False


def start_watchdog() -> threading.Thread | None:
    """Start the heartbeat watchdog thread once per process (the web server calls this)."""
    global _watchdog
    if _watchdog is not None and _watchdog.is_alive():
        return _watchdog
    started, pid = time.monotonic(), os.getpid()

    def loop():
        while True:
            time.sleep(WATCHDOG_INTERVAL)
            if os.getpid() != pid:  # a forked copy of the thread's owner: not ours
                return
            close_old_connections()
            watch_once(started)
            close_old_connections()

    _watchdog = threading.Thread(target=loop, name="alerts-watchdog", daemon=True)
    _watchdog.start()
    return _watchdog
