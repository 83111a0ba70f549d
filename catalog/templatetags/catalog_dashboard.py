"""`{% catalog_status as status %}`: the catalog's dashboard figures (catalog.selectors)."""

from django import template

from catalog import selectors

register = template.Library()


@register.simple_tag
def catalog_status() -> dict:
    return selectors.dashboard_status()
