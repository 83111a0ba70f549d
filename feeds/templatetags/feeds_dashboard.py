"""`{% feed_status as status %}`: the price list's dashboard figures (feeds.selectors)."""

from django import template

from feeds import selectors

register = template.Library()


@register.simple_tag
def feed_status() -> dict:
    return selectors.dashboard_status()
