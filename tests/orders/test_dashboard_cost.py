"""The dashboard's cost does not grow with the orders: its 30 days (orders.selectors.daily_sales)
are worked out in the database, and must be exactly what a plain computation over the same orders
gives (each order's margin as its order page computes it, `order_financials`), for every kind of
line: costs kept when ordered, costs of today (dealer price, commission by category), lines
without a product or a dealer price, units bought at other prices, fractional quantities,
commissions that round half to even, delivery charged to the seller. And the admin index page
runs the same number of queries with 60 orders as with 1,500."""

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import Category, CommissionRate, Product
from orders.models import Order, OrderEntry, OrderStatus, Purchase
from orders.selectors import daily_sales, order_financials
from tests.factories import make_staff

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(timezone.datetime(2026, 11, 20, 9, 0))
STATUSES = [
    OrderStatus.COMPLETED,
    OrderStatus.ACCEPTED_BY_MERCHANT,
    OrderStatus.APPROVED_BY_BANK,
    OrderStatus.KASPI_DELIVERY_RETURN_REQUESTED,
    OrderStatus.RETURN_ACCEPTED_BY_MERCHANT,
    OrderStatus.CANCELLED,  # not sales: left out
    OrderStatus.CANCELLING,
    OrderStatus.RETURNED,
]


def catalog() -> list[Product]:
    """A category tree with commissions on some branches (a child without its own rate takes its
    parent's; a category without any the default) and products in each, some without a dealer
    price, one without a category."""
    root = Category.objects.create(id=9001, name="Электроника", level=1)
    child = Category.objects.create(id=9002, name="Телефоны", level=2, parent=root)
    grandchild = Category.objects.create(id=9003, name="Смартфоны", level=3, parent=child)
    other = Category.objects.create(id=9004, name="Кабели", level=1)
    CommissionRate.objects.create(category=root, percent=Decimal("8.00"))
    CommissionRate.objects.create(category=grandchild, percent=Decimal("10.55"))
    products = []
    for n, (category, dealer_price) in enumerate(
        [(root, 100_000), (child, 2_990), (grandchild, 149_990), (other, 1_234), (None, 7_000), (child, None)]
    ):
        products.append(
            Product.objects.create(
                article=700_000 + n, name=f"Товар {n}", category=category, dealer_price=dealer_price, sale_price=1
            )
        )
    return products


def shop(n: int, products: list[Product], seed: int) -> list[Order]:
    """`n` random orders over 33 days around the window, with 0 to 3 lines each."""
    rng = random.Random(seed)
    orders = []
    for i in range(n):
        created = NOW - timedelta(minutes=rng.randint(-600, 33 * 24 * 60))
        order = Order.objects.create(
            kaspi_id=f"cost-{seed}-{i}",
            code=f"{seed}{i:05d}",
            state="ARCHIVE",
            status=rng.choice(STATUSES),
            total_price=Decimal(rng.randint(0, 900_000)) / 100,
            delivery_cost_for_seller=rng.choice([Decimal(0), Decimal("1500.00"), Decimal("2390.55")]),
            created_at=created,
            attributes_hash="x",
        )
        for k in range(rng.choice([0, 1, 1, 1, 2, 3])):
            product = rng.choice(products + [None])
            quantity = Decimal(rng.choice(["1", "1", "2", "3", "0.5", "1.255", "7"]))
            base = Decimal(rng.choice(["100.00", "300.00", "2990.50", "129990", "1.01"])) + rng.randint(0, 5000)
            stored = product is not None and rng.random() < 0.7  # costs kept when ordered
            OrderEntry.objects.create(
                order=order,
                kaspi_id=f"{order.code}-{k}",
                entry_number=k,
                sku="AS1",
                product=product,
                name="Товар",
                quantity=quantity,
                base_price=base,
                total_price=(quantity * base).quantize(Decimal("0.01")),
                dealer_price_at_order=rng.choice([product.dealer_price, 5_000]) if stored else None,
                commission_percent_at_order=Decimal(rng.choice(["12.00", "12.50", "8.35", "0"])) if stored else None,
            )
        orders.append(order)
    entries = list(OrderEntry.objects.filter(order__in=orders).select_related("order"))
    for entry in rng.sample(entries, len(entries) // 4):  # units bought from Al-Style
        for _ in range(rng.choice([1, 2])):
            Purchase.objects.create(
                order=entry.order,
                entry=entry,
                product=entry.product,
                article=1,
                quantity=rng.randint(1, 4),
                unit_price=rng.randint(900, 150_000),
                document="Б-17",
                recorded_at=NOW,
                unmarked_at=NOW if rng.random() < 0.3 else None,
            )
    return orders


def ties(products: list[Product]) -> None:
    """Commissions exactly half a tiyn: 12.5 % of 1.00 ₸ is 12.5 tiyn (12), of 3.00 ₸ 37.5 (38)."""
    for n, total in enumerate(["1.00", "3.00", "5.00", "7.00"]):
        order = Order.objects.create(
            kaspi_id=f"tie-{n}",
            code=f"77{n}",
            state="ARCHIVE",
            status=OrderStatus.COMPLETED,
            total_price=Decimal(total),
            created_at=NOW - timedelta(days=n),
            attributes_hash="x",
        )
        OrderEntry.objects.create(
            order=order,
            kaspi_id=f"tie-{n}-0",
            sku="AS1",
            product=products[0],
            name="Товар",
            quantity=Decimal(1),
            base_price=Decimal(total),
            total_price=Decimal(total),
            dealer_price_at_order=0,
            commission_percent_at_order=Decimal("12.50"),
        )


def plain(now) -> dict:
    """{day: [orders, revenue, margin]} by reading every order and computing it in Python."""
    today = timezone.localdate(now)
    first = today - timedelta(days=29)
    rows = {}
    for order in Order.objects.exclude(status__in=["CANCELLED", "CANCELLING", "RETURNED"]):
        day = timezone.localtime(order.created_at).date()
        if first <= day <= today:
            row = rows.setdefault(day, [0, Decimal(0), Decimal(0)])
            row[0] += 1
            row[1] += order.total_price
            row[2] += order_financials(order).margin or 0
    return rows


def figures(now) -> dict:
    rows = daily_sales(now=now)
    assert [r["day"] for r in rows] == [timezone.localdate(now) - timedelta(days=29 - i) for i in range(30)]
    return {r["day"]: [r["orders"], r["revenue"], r["margin"]] for r in rows if r["orders"]}


def test_the_days_are_exactly_the_plain_computation_over_every_kind_of_line():
    products = catalog()
    shop(300, products, seed=5)
    ties(products)
    want = plain(NOW)
    assert sum(row[0] for row in want.values()) > 150  # the window holds most of them
    assert any(row[2] < 0 for row in want.values()) or any(row[2] > 0 for row in want.values())
    assert figures(NOW) == want


def test_ties_round_half_to_even_like_the_order_page():
    products = catalog()
    ties(products)
    margins = {o.total_price: order_financials(o).margin for o in Order.objects.all()}
    assert margins == {  # 1.00 - 0.12; 3.00 - 0.38 (37.5 → 38); 5.00 - 0.62 (62.5 → 62); 7.00 - 0.88
        Decimal("1.00"): Decimal("0.88"),
        Decimal("3.00"): Decimal("2.62"),
        Decimal("5.00"): Decimal("4.38"),
        Decimal("7.00"): Decimal("6.12"),
    }
    assert figures(NOW) == plain(NOW)


def test_a_default_commission_with_more_decimals_and_changed_rates_follow_the_catalog(monkeypatch):
    """Lines stored without a commission take today's: the default (here 12.345 %) or their
    category's; changing a rate changes them, not the lines that kept theirs."""
    monkeypatch.setattr("catalog.selectors.DEFAULT_COMMISSION_PERCENT", Decimal("12.345"))
    products = catalog()
    shop(120, products, seed=9)
    assert figures(NOW) == plain(NOW)
    CommissionRate.objects.filter(category_id=9001).update(percent=Decimal("15.25"))
    Product.objects.filter(dealer_price=2_990).update(dealer_price=3_100)
    assert figures(NOW) == plain(NOW)


def test_an_empty_window_is_thirty_zero_days():
    rows = daily_sales(now=NOW)
    assert len(rows) == 30
    assert all(r["orders"] == 0 and r["revenue"] == 0 and r["margin"] == 0 for r in rows)


def bulk_shop(n: int, products: list[Product], start: int) -> None:
    """`n` orders in bulk (two lines each, of `products` in turn; some bought, a third open:
    the purchase list reads their products), for counting queries."""
    now = timezone.now()
    orders = Order.objects.bulk_create(
        Order(
            kaspi_id=f"bulk-{start + i}",
            code=f"9{start + i:07d}",
            state="ARCHIVE",
            status=[OrderStatus.COMPLETED, OrderStatus.ACCEPTED_BY_MERCHANT, OrderStatus.CANCELLED][i % 3],
            total_price=Decimal("5980.00"),
            created_at=now - timedelta(hours=i % (40 * 24)),
            attributes_hash="x",
        )
        for i in range(n)
    )
    entries = OrderEntry.objects.bulk_create(
        OrderEntry(
            order=order,
            kaspi_id=f"{order.code}-{k}",
            entry_number=k,
            sku="AS1",
            product=products[(2 * ((start + i) // 3) + k) % len(products)],
            name="Товар",
            quantity=Decimal(1),
            base_price=Decimal("2990.00"),
            total_price=Decimal("2990.00"),
            dealer_price_at_order=None if i % 5 == 0 else 2_000,
            commission_percent_at_order=None if i % 5 == 0 else Decimal(12),
        )
        for i, order in enumerate(orders)
        for k in range(2)
    )
    Purchase.objects.bulk_create(
        Purchase(order_id=e.order_id, entry=e, article=1, quantity=1, unit_price=1_900, document="Б", recorded_at=now)
        for e in entries[::7]
        if e.order.status == OrderStatus.COMPLETED  # open orders still need every product
    )


def test_the_dashboard_runs_as_many_queries_with_1500_orders_as_with_60(client):
    """With 1,500 orders, 500 open ones need 1,000 products: more than one `IN (...)` holds."""
    catalog()
    Product.objects.bulk_create(
        Product(article=800_000 + n, name=f"Товар {n}", dealer_price=1_000 + n, sale_price=1) for n in range(1_200)
    )
    products = list(Product.objects.order_by("pk"))
    client.force_login(make_staff("boss", superuser=True))
    bulk_shop(60, products, 0)
    client.get("/admin/")  # caches a first request fills once
    with CaptureQueriesContext(connection) as few:
        assert client.get("/admin/").status_code == 200
    bulk_shop(1_440, products, 60)
    with CaptureQueriesContext(connection) as many:
        page = client.get("/admin/")
    assert page.status_code == 200
    assert 'id="sales-charts"' in page.content.decode()
    assert page.content.decode().count('id="purchase-status"') == 1
    assert len(many) == len(few), [q["sql"][:150] for q in many.captured_queries]
