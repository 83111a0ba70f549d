"""Counts in Russian phrases read with their digits grouped, as money does ("1 001 результат",
"12 345 добавлено"), never as one long run of digits ("12345")."""

import re
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import translation

from alerts.models import Alert
from catalog.models import Product
from feeds.admin import FeedVersionAdmin
from feeds.notices import announce_dropped

pytestmark = pytest.mark.django_db


def words(text: str) -> str:
    return text.replace("\u00a0", " ")


def test_list_counts_are_grouped(admin_client):
    """A search over more rows than the list counts reads "более 1 000 товаров"; a list's own
    count phrase ("1 001 заказ") is grouped the same way."""
    from kaspisync.display import count_of

    Product.objects.bulk_create(
        [Product(article=500_000 + i, name=f"Кабель USB {i}", dealer_price=900, sale_price=1_290) for i in range(1_001)]
    )
    with translation.override("ru"):
        page = words(admin_client.get(reverse("admin:catalog_product_changelist"), {"q": "кабель"}).content.decode())
        assert "более 1 000 товаров" in page
        assert not re.search(r"\b1000 товаров", page)
        assert words(count_of(1_001, "orders.order")) == "1 001 заказ"
        assert words(count_of(12_345, "catalog.product")) == "12 345 товаров"
        assert words(count_of(2_000, "alerts.alert")) == "всего: 2 000"  # a model without its own phrase


def test_the_changes_between_price_list_versions_are_grouped():
    counts = {"added": 12_345, "removed": 0, "price_changed": 1_002, "stock_changed": 7, "reserved_for_orders": 0}
    with translation.override("ru"):
        text = words(FeedVersionAdmin.diff_column(None, SimpleNamespace(diff={"counts": counts})))
    assert text.startswith("12 345 "), text
    assert "1 002 цены" in text, text
    assert "12345" not in text


def test_offers_left_out_are_announced_with_a_grouped_count():
    version = SimpleNamespace(pk=1, dropped_offers=2_345, dropped=[{"sku": "AS1", "article": 1, "reason": "нет цены"}])
    announce_dropped(version)
    alert = Alert.objects.get()
    assert words(alert.title).startswith("2 345 предложений"), alert.title
    assert "2 344" in words(" ".join(alert.lines)), alert.lines
