"""The dashboard's last 30 days (orders.selectors.daily_sales): per Almaty day, the orders not
cancelled or returned, their revenue and their net margin exactly as each order's page computes
it, read in a number of queries that does not grow with the orders."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.models import Order
from orders.selectors import daily_sales, order_financials
from orders.services.purchases import mark_entry_purchased
from tests.factories import make_staff
from tests.orders.purchase_helpers import T0, order, product

pytestmark = pytest.mark.django_db
NOW = T0 + timedelta(hours=5)


def expected(orders: list[Order]) -> dict:
    rows = {}
    for o in orders:
        row = rows.setdefault(o.created_at.astimezone(T0.tzinfo).date(), [0, Decimal(0), Decimal(0)])
        row[0] += 1
        row[1] += o.total_price
        row[2] += order_financials(o).margin or 0
    return rows


def shop(n: int) -> list[Order]:
    """`n` sets of orders over the window, with every kind of line the margin knows."""
    counted, buyer = [], make_staff(f"buyer{Order.objects.count()}")
    for i in range(n):
        phone, cable = product(dealer_price=100_000 + i), product(dealer_price=2_000)
        counted.append(order((phone, 1, 129_990), (cable, 3, 2_990), created=NOW - timedelta(days=i % 30)))
        # no cost kept when ordered: the product's dealer price today
        counted.append(order((cable, 2, 3_500, None, "10"), created=NOW - timedelta(days=(i + 1) % 30, hours=3)))
        # a line matched to no product: the order's margin is unknown, it counts as 0
        counted.append(order((None, 1, 5_000), (cable, 1, 2_990), created=NOW - timedelta(days=i % 7)))
        delivered = order((phone, 2, 131_000), created=NOW - timedelta(days=2))
        Order.objects.filter(pk=delivered.pk).update(delivery_cost_for_seller=Decimal("1500.00"))
        counted.append(Order.objects.get(pk=delivered.pk))
        bought = order((cable, 4, 2_990), created=NOW - timedelta(days=1))
        entry = bought.entries.get()
        mark_entry_purchased(entry.pk, quantity=3, unit_price=1_700, document="накладная 7", user=buyer)
        counted.append(bought)
        order((phone, 1, 129_990), status="CANCELLED", created=NOW)  # not a sale
        order((phone, 1, 129_990), status="RETURNED", created=NOW - timedelta(days=3))
        order((phone, 1, 129_990), created=NOW - timedelta(days=31))  # before the window
    return counted


def test_each_day_holds_the_orders_revenue_and_margins_of_their_order_pages():
    counted = shop(3)
    rows = daily_sales(now=NOW)
    assert len(rows) == 30
    assert rows[-1]["day"] == NOW.date()
    want = expected(counted)
    got = {r["day"]: [r["orders"], r["revenue"], r["margin"]] for r in rows if r["orders"]}
    assert got == {day: values for day, values in want.items()}
    assert all(r == {"day": r["day"], "orders": 0, "revenue": 0, "margin": 0} for r in rows if r["day"] not in want)


def test_the_queries_do_not_grow_with_the_orders():
    shop(2)
    with CaptureQueriesContext(connection) as few:
        daily_sales(now=NOW)
    shop(12)
    with CaptureQueriesContext(connection) as many:
        daily_sales(now=NOW)
    assert len(many) == len(few), [q["sql"][:120] for q in many.captured_queries]
