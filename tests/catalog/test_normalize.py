from decimal import Decimal

import pytest

from catalog import normalize
from catalog.models import StockQualifier, UnsellableReason
from catalog.normalize import SkipProduct


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (7, (7, "=")),
        ("7", (7, "=")),
        (" 12 ", (12, "=")),
        (">50", (50, ">")),
        (">100", (100, ">")),
        ("<10", (10, "<")),
        (0, (0, "=")),
        ("0", (0, "=")),
        (None, (0, "=")),
        ("", (0, "=")),
        (-3, (0, "=")),
        (5.0, (5, "=")),
    ],
)
def test_quantity_forms(value, expected):
    assert normalize.quantity(value) == expected


@pytest.mark.parametrize("value", ["много", ">", "5.5", [], {}, True, 2.5])
def test_quantity_garbage_raises(value):
    with pytest.raises(ValueError):
        normalize.quantity(value)


def test_promised_stock_reads_bounds_conservatively():
    assert normalize.promised_stock(10, StockQualifier.LESS_THAN) == 1
    assert normalize.promised_stock(0, StockQualifier.LESS_THAN) == 0
    assert normalize.promised_stock(50, StockQualifier.AT_LEAST) == 50
    assert normalize.promised_stock(3, StockQualifier.EXACT) == 3


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (125000, (125000, UnsellableReason.NONE)),
        ("125000", (125000, UnsellableReason.NONE)),
        ("125 000", (125000, UnsellableReason.NONE)),
        ("125000.00", (125000, UnsellableReason.NONE)),
        (1, (None, UnsellableReason.PRICE_ON_REQUEST)),
        ("1", (None, UnsellableReason.PRICE_ON_REQUEST)),
        (9_999_999, (None, UnsellableReason.PLACEHOLDER_PRICE)),
        (0, (None, UnsellableReason.NO_PRICE)),
        (None, (None, UnsellableReason.NO_PRICE)),
        ("по запросу", (None, UnsellableReason.NO_PRICE)),
    ],
)
def test_dealer_price(value, expected):
    assert normalize.dealer_price(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"), [(1, None), (0, None), (9_999_999, None), ("15990", 15990), ("x", None)]
)
def test_retail_price_and_rrp_one_means_none(value, expected):
    assert normalize.other_price(value) == expected


def test_text_is_kept_faithfully_except_nul():
    name = 'Кабель HDMI<->DVI "Pro" & Co\x0b\x1f\t'
    assert normalize.text(name) == name
    assert normalize.text("a\x00b") == "ab"
    assert normalize.text(12345) == "12345"
    assert normalize.text(None) == ""
    assert normalize.text({"a": 1}) == ""


def test_weight_and_images_and_warehouses():
    assert normalize.weight("0,5") == Decimal("0.500")
    assert normalize.weight(2.15) == Decimal("2.150")
    assert normalize.weight("тяжёлый") is None
    assert normalize.images(["http://img.al-style.kz/1_1.jpg", 5, "ftp://x"]) == ["http://img.al-style.kz/1_1.jpg"]
    assert normalize.warehouse_stock({"panfilov": 5, "karaganda": ">10", "astana": "<10", "x": "?"}) == {
        "panfilov": 5,
        "karaganda": 10,
        "astana": 1,
    }
    assert normalize.warehouse_stock([1, 2]) == {}


def _raw(**overrides):
    raw = {
        "article": 20908,
        "article_pn": "CE285A",
        "name": "Картридж HP 85A",
        "full_name": "Картридж HP 85A, черный",
        "category": "3600",
        "price1": "5600",
        "price2": 6490,
        "quantity": ">50",
        "isnew": "1",
        "quantityMarkdown": 0,
        "priceMarkdown": 0,
        "brand": " HP ",
        "rrp": 1,
        "weight": "0.8",
        "warehouses": {"panfilov": "<10"},
        "images": ["http://img.al-style.kz/20908_1.jpg"],
    }
    raw.update(overrides)
    return raw


def test_product_is_typed():
    item = normalize.product(_raw())
    assert item.article == 20908 and item.category_id == 3600 and item.brand == "HP"
    assert (item.dealer_price, item.retail_price, item.rrp, item.unsellable_reason) == (5600, 6490, None, "")
    assert (item.stock, item.stock_qualifier) == (50, ">")
    assert item.is_new is True and item.weight == Decimal("0.800") and item.warehouse_stock == {"panfilov": 1}


@pytest.mark.parametrize(
    ("overrides", "reason", "article"),
    [
        ({"article": "abc"}, "bad_article", None),
        ({"article": 0}, "bad_article", None),
        ({"name": "  "}, "no_name", 20908),
    ],
)
def test_product_with_garbage_is_skipped_with_a_reason(overrides, reason, article):
    with pytest.raises(SkipProduct) as caught:
        normalize.product(_raw(**overrides))
    assert caught.value.reason == reason and caught.value.article == article


def test_unreadable_stock_is_no_stock_never_the_last_known_one():
    item = normalize.product(_raw(quantity="много"))
    assert (item.stock, item.stock_qualifier, item.stock_unreadable) == (0, "=", True)
    assert normalize.price_stock(20908, {"quantity": "??", "price1": 5000}).stock_unreadable
    assert not normalize.product(_raw()).stock_unreadable


def test_price_stock_entry():
    entry = normalize.price_stock("20908", {"quantity": "<10", "price1": 1, "price2": "7000"})
    assert entry == normalize.PriceStockData(20908, None, 7000, "price_on_request", 10, "<", None)
    entry = normalize.price_stock(20908, {"quantity": 3, "price1": 900, "warehouse": {"panfilov": ">5"}})
    assert (entry.dealer_price, entry.warehouse_stock) == (900, {"panfilov": 5})
    with pytest.raises(SkipProduct):
        normalize.price_stock("x", {"quantity": 1})
