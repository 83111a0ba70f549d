"""One money formatter for the whole admin (issue 13 item 6, issue 10 item 7)."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from catalog.models import Product
from kaspisync import display
from orders.models import Order, OrderEntry
from tests.factories import make_staff

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (594830, "594 830 ₸"),
        (Decimal("436200.00"), "436 200 ₸"),
        (Decimal("1152590.5"), "1 152 591 ₸"),  # rounded half up, not truncated
        (Decimal("999.49"), "999 ₸"),
        (0, "0 ₸"),
        (-1500, "−1 500 ₸"),
        (None, "—"),
    ],
)
def test_money(value, text):
    assert display.money(value) == text.replace(" ", NBSP)


def test_percent_is_rounded_and_localised():
    with translation.override("ru"):
        assert display.percent(Decimal("12.35")) == f"12,4{NBSP}%"
        assert display.percent(Decimal("-3.04")) == f"−3,0{NBSP}%"
    with translation.override("en"):
        assert display.percent(Decimal("12.35")) == f"12.4{NBSP}%"


def test_change_reads_old_to_new_with_percent():
    with translation.override("ru"):
        assert display.change(1000, 1100) == f"1{NBSP}000{NBSP}₸ → 1{NBSP}100{NBSP}₸ (+10,0{NBSP}%)"


@pytest.mark.django_db
def test_every_amount_in_the_admin_reads_as_money(client):
    product = Product.objects.create(
        article=777, name="Ноутбук Acer", dealer_price=594830, retail_price=612345, sale_price=1202690, net_margin=85123
    )
    order = Order.objects.create(
        kaspi_id="k9",
        code="5001",
        status="APPROVED_BY_BANK",
        state="NEW",
        total_price=Decimal("436200.00"),
        created_at=timezone.now(),
    )
    OrderEntry.objects.create(
        order=order,
        kaspi_id="e1",
        sku="AS777",
        product=product,
        name="Ноутбук Acer",
        quantity=1,
        base_price=Decimal("436200.00"),
        total_price=Decimal("436200.00"),
        dealer_price_at_order=594830,
    )
    client.force_login(make_staff("boss", superuser=True))
    pages = {
        "product list": reverse("admin:catalog_product_changelist"),
        "product page": reverse("admin:catalog_product_change", args=[product.pk]),
        "order list": reverse("admin:orders_order_changelist"),
        "order page": reverse("admin:orders_order_change", args=[order.pk]),
    }
    expected = {
        "product list": ["594 830 ₸", "1 202 690 ₸"],
        "product page": ["594 830 ₸", "612 345 ₸", "1 202 690 ₸"],
        "order list": ["436 200 ₸"],
        "order page": ["436 200 ₸", "594 830 ₸"],
    }
    for name, url in pages.items():
        page = client.get(url).content.decode()
        for amount in expected[name]:
            assert amount.replace(" ", NBSP) in page, f"{name}: {amount!r} not shown as money"
        for raw in ("594830", "436200,00", "436200.00", "1202690", "436\u202f200"):
            assert f">{raw}" not in page, f"{name}: raw amount {raw!r} shown"
            assert f"{raw}<" not in page, f"{name}: raw amount {raw!r} shown"
