"""Admin dashboard panels.

`{% worker_status_panel %}`: when a Celery worker last ran the heartbeat (stale warning).
`{% app_dashboard_panels %}`: the panels the apps registered (`kaspisync.registry.dashboard_panel`
in their AppConfig.ready()), rendered with the dashboard's context in registration order (a
panel loads its own data with its app's template tags and shows itself to whom it may). A panel
that fails is left out and logged, never breaking the page.
"""

import logging

from django import template
from django.template.loader import get_template
from django.utils.safestring import mark_safe

from kaspisync import registry
from kaspisync.heartbeat import STALE_AFTER, worker_status

log = logging.getLogger(__name__)
register = template.Library()


@register.inclusion_tag("admin/kaspisync/worker_status.html")
def worker_status_panel():
    return {"status": worker_status(), "stale_minutes": int(STALE_AFTER.total_seconds() // 60)}


@register.simple_tag(takes_context=True)
def app_dashboard_panels(context):
    parts = []
    for panel in registry.dashboard_panels():
        try:
            parts.append(get_template(panel.template).render(context.flatten(), context.get("request")))
        except Exception:  # one app's broken panel must not take the dashboard down
            log.exception("dashboard panel %s failed", panel.template)
    return mark_safe("".join(parts))
