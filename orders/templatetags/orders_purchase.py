"""`{% purchase_status as status %}`: the dashboard's "to buy today" figures (orders.purchase_list)."""

from django import template

from orders import purchase_list

register = template.Library()


@register.simple_tag
def purchase_status() -> dict:
    return purchase_list.dashboard_status()
