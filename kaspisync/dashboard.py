"""The dashboard's health panel: one line per background job with a colour a person reads at a
glance (green: on time; amber: a run failed or is overdue; red: late enough to alert, or no
worker), from the jobs the apps registered (kaspisync.registry) and the worker heartbeat."""

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from . import display, health
from .heartbeat import STALE_AFTER, worker_status
from .models import RunStatus

GREEN, AMBER, RED = "green", "amber", "red"


OVERDUE_AFTER = 1.5  # intervals without a success: a run was missed (amber)


@dataclass(frozen=True)
class HealthLine:
    colour: str
    label: str
    text: str
    url: str = ""


def worker_line(now: datetime) -> HealthLine:
    status = worker_status()
    if status.last_seen is None:
        return HealthLine(RED, _("Background worker"), _("never answered: start the Celery worker and beat"))
    ago = display.since(status.last_seen, now)
    if now - status.last_seen > STALE_AFTER:
        return HealthLine(
            RED, _("Background worker"), _("silent for %(ago)s: check the worker and beat") % {"ago": ago}
        )
    return HealthLine(GREEN, _("Background worker"), _("answered %(ago)s ago") % {"ago": ago})


def job_line(state: health.JobState, now: datetime, running=None) -> HealthLine:
    job = state.job
    url = _changelist_url(job)
    if running is not None:
        progress = display.progress((running.stats or {}).get("progress"))
        return HealthLine(GREEN, str(job.label), _("running now: %(progress)s") % {"progress": progress}, url)
    if state.last_success is None and state.first_started is None:
        return HealthLine(AMBER, str(job.label), _("has not run yet"), url)
    age = state.age(now)
    if state.late(now, job.alert_threshold):
        since = display.since(state.last_success, now) if state.last_success else None
        text = _("no success for %(ago)s") % {"ago": since} if since else _("has never succeeded")
        return HealthLine(RED, str(job.label), text, url)
    ago = display.since(state.last_success, now) if state.last_success else "—"
    if state.last_status == RunStatus.FAILED:
        return HealthLine(AMBER, str(job.label), _("the last run failed; last success %(ago)s ago") % {"ago": ago}, url)
    if age is not None and age > job.interval * OVERDUE_AFTER:
        return HealthLine(AMBER, str(job.label), _("overdue: last success %(ago)s ago") % {"ago": ago}, url)
    return HealthLine(GREEN, str(job.label), _("last success %(ago)s ago") % {"ago": ago}, url)


def _changelist_url(job) -> str:
    from django.urls import NoReverseMatch, reverse

    meta = job.model._meta
    try:
        return reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
    except NoReverseMatch:
        return ""


def health_lines(now: datetime | None = None) -> list[HealthLine]:
    now = now or timezone.now()
    lines = [worker_line(now)]
    for state in health.job_states():
        running = state.job.runs().filter(status=RunStatus.RUNNING).order_by("-started_at").first()
        lines.append(job_line(state, now, running))
    return lines


def overall(lines: list[HealthLine]) -> str:
    colours = {line.colour for line in lines}
    return RED if RED in colours else AMBER if AMBER in colours else GREEN
