"""Admin dashboard panels.

`{% health_panel %}`: health first, one coloured line per background job and the worker.
`{% app_dashboard_panels %}`: the panels the apps registered (`kaspisync.registry.dashboard_panel`
in their AppConfig.ready()), rendered with the dashboard's context in registration order (a
panel loads its own data with its app's template tags and shows itself to whom it may). A panel
that fails is left out and logged, never breaking the page.
"""

import logging

from django import template
from django.template.loader import get_template
from django.utils.safestring import mark_safe

from kaspisync import dashboard, registry

log = logging.getLogger(__name__)
register = template.Library()


@register.inclusion_tag("admin/kaspisync/health_panel.html")
def health_panel():
    """Health first: one coloured line per background job (kaspisync.dashboard)."""
    lines = dashboard.health_lines()
    return {"lines": lines, "overall": dashboard.overall(lines)}


@register.simple_tag(takes_context=True)
def app_dashboard_panels(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is not None and not user.is_superuser and not user.get_all_permissions():
        # A staff account with no right at all: say what to ask for, not an empty page.
        return get_template("admin/kaspisync/no_rights.html").render({}, request)
    parts = []
    for panel in registry.dashboard_panels():
        try:
            parts.append(get_template(panel.template).render(context.flatten(), context.get("request")))
        except Exception:  # one app's broken panel must not take the dashboard down
            log.exception("dashboard panel %s failed", panel.template)
    return mark_safe("".join(parts))
