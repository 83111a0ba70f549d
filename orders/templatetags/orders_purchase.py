"""`{% purchase_status as status %}`: the dashboard's "to buy today" figures (orders.purchase_list);
`{{ code|warehouse }}`: an Al-Style warehouse in words ("panfilov" -> "Алматы, ул. Панфилова")."""

from django import template

from catalog.models.catalog import warehouse_name
from orders import purchase_list

register = template.Library()


@register.simple_tag
def purchase_status() -> dict:
    return purchase_list.dashboard_status()


@register.filter
def warehouse(code: str) -> str:
    return warehouse_name(code)
