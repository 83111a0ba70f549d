"""Plumbing views: `GET /healthz` (what a monitor pages on, kaspisync.health.report, as JSON;
200 healthy, 503 not) and the login lockout page of django-axes."""

import math

from axes.helpers import get_cool_off, get_failure_limit
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .health import report


@require_GET
@never_cache
def healthz(request):
    """Database, broker, worker heartbeat age and every registered job's last success against its
    thresholds. 503 with `reasons` when the database or the broker is down, no worker heartbeat
    was seen for 3 minutes (or ever), or a job is late enough to page (an order pull: 3 intervals,
    a full import: 2). `make run` waits for an answer whose database check passed."""
    healthy, body = report()
    return JsonResponse(body, status=200 if healthy else 503)


def lockout(request, original_response=None, credentials=None):
    """django-axes' answer to a locked-out login (AXES_LOCKOUT_CALLABLE): HTTP 429, in words."""
    cool_off = get_cool_off(request)
    context = {
        "failure_limit": get_failure_limit(request, credentials),
        "minutes": math.ceil(cool_off.total_seconds() / 60) if cool_off else None,
        "site_title": "kaspisync",
    }
    return render(request, "kaspisync/lockout.html", context, status=429)
