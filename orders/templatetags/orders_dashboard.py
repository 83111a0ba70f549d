"""`{% orders_status as status %}`: the orders' dashboard figures (orders.selectors);
`{% orders_charts as charts %}`: the last 30 days as server-drawn SVG bar charts."""

from django import template
from django.utils import formats
from django.utils.translation import gettext as _

from kaspisync import display
from kaspisync.charts import bar_chart
from orders import selectors

register = template.Library()


@register.simple_tag
def orders_status() -> dict:
    return selectors.dashboard_status()


@register.simple_tag
def orders_charts() -> dict:
    days = selectors.daily_sales()
    points = [(formats.date_format(row["day"], "d.m"), row) for row in days]

    def series(key):
        return [(day, row[key]) for day, row in points]

    return {
        "days": len(days),
        "orders": sum(row["orders"] for row in days),
        "revenue": display.money(sum(row["revenue"] for row in days)),
        "margin": display.loss_aware_money(sum(row["margin"] for row in days)),
        "orders_chart": bar_chart(series("orders"), label=_("Orders per day"), text=str),
        "revenue_chart": bar_chart(series("revenue"), label=_("Revenue per day"), text=display.money),
        "margin_chart": bar_chart(
            series("margin"), label=_("Net margin per day"), text=display.money, colour="#2e7d32"
        ),
    }
