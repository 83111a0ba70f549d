"""Orders, entries and products for the purchase list tests, written straight to the database.

`order(...)` stores an order as a pull would (entries with the cost when ordered); `product(...)`
an Al-Style product as an import would. Times are aware (Asia/Almaty)."""

import itertools
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from catalog.models import Product
from orders.models import Order, OrderEntry
from tests.factories import make_product

ALMATY = ZoneInfo("Asia/Almaty")
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=ALMATY)
_codes = itertools.count(500_000_001)


def product(article=None, *, dealer_price=10_000, stock=20, qualifier="=", warehouses=None, **fields) -> Product:
    """tests.factories.make_product with the stock an Al-Style answer states: its qualifier and
    the units per warehouse."""
    return make_product(
        article,
        dealer_price=dealer_price,
        stock=stock,
        stock_qualifier=qualifier,
        warehouse_stock=warehouses or {},
        **{"sale_price": 13_990, **fields},
    )


def order(
    *entries,
    status="ACCEPTED_BY_MERCHANT",
    created=None,
    planned=None,
    mode="DELIVERY_LOCAL",
    pickup="",
    customer="Айгерим Садыкова",
    code=None,
) -> Order:
    """`entries`: (product or None, quantity, unit price[, dealer price when ordered[, commission %]])."""
    code = code or str(next(_codes))
    created = created or T0
    total = sum(Decimal(q) * Decimal(p) for _prod, q, p, *_ in entries)
    o = Order.objects.create(
        kaspi_id=f"id-{code}",
        code=code,
        state="NEW",
        status=status,
        total_price=total,
        delivery_mode=mode,
        pickup_point_id=pickup,
        customer_name=customer,
        customer_phone="7011234567",
        created_at=created,
        planned_delivery_at=planned,
        attributes_hash="x",
    )
    for n, (prod, quantity, price, *rest) in enumerate(entries):
        dealer = rest[0] if rest else (prod.dealer_price if prod else None)
        percent = Decimal(rest[1]) if len(rest) > 1 else (Decimal(12) if prod else None)
        OrderEntry.objects.create(
            order=o,
            kaspi_id=f"{code}-{n}",
            entry_number=n,
            sku=f"AS{prod.article}" if prod else "FOREIGN77",
            product=prod,
            name=prod.name if prod else "Чужой товар",
            quantity=Decimal(quantity),
            unit_type="PIECES",
            base_price=Decimal(price),
            total_price=Decimal(quantity) * Decimal(price),
            dealer_price_at_order=dealer,
            commission_percent_at_order=percent,
        )
    return o


def days(n: float) -> datetime:
    return T0 + timedelta(days=n)
