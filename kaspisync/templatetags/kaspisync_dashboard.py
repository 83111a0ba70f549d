"""Admin dashboard panels.

`{% worker_status_panel %}`: when a Celery worker last ran the heartbeat (stale warning).
`{% app_dashboard_panels %}`: every installed app may contribute a panel by shipping a template
`admin/<app_label>/dashboard_panel.html` (rendered with the dashboard's context; use your own
template tags to load data). A panel that fails is left out and logged, never breaking the page.
"""

import logging

from django import template
from django.apps import apps
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.utils.safestring import mark_safe

from kaspisync.heartbeat import STALE_AFTER, worker_status

log = logging.getLogger(__name__)
register = template.Library()


@register.inclusion_tag("admin/kaspisync/worker_status.html")
def worker_status_panel():
    return {"status": worker_status(), "stale_minutes": int(STALE_AFTER.total_seconds() // 60)}


@register.simple_tag(takes_context=True)
def app_dashboard_panels(context):
    parts = []
    for app_config in apps.get_app_configs():
        name = f"admin/{app_config.label}/dashboard_panel.html"
        try:
            panel = get_template(name)
        except TemplateDoesNotExist:
            continue
        try:
            parts.append(panel.render(context.flatten(), context.get("request")))
        except Exception:  # one app's broken panel must not take the dashboard down
            log.exception("dashboard panel %s failed", name)
    return mark_safe("".join(parts))
