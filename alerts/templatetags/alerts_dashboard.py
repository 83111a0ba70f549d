"""`{% alerts_status as status %}`: the outbox's dashboard figures (alerts.selectors)."""

from django import template

from alerts import selectors

register = template.Library()


@register.simple_tag
def alerts_status() -> dict:
    return selectors.dashboard_status()
