"""`GET /healthz`: what a monitor pages on (kaspisync.health.report), as JSON; 200 healthy, 503 not."""

from django.http import JsonResponse
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
