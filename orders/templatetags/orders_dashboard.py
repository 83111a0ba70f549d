"""`{% orders_status as status %}`: the orders' dashboard figures (orders.selectors)."""

from django import template

from orders import selectors

register = template.Library()


@register.simple_tag
def orders_status() -> dict:
    return selectors.dashboard_status()
