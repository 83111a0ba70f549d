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
        (5.0, (5, "=")),
        (1_000_000, (1_000_000, "=")),
    ],
)
def test_quantity_forms(value, expected):
    assert normalize.quantity(value) == expected


@pytest.mark.parametrize("value", [-3, "-3", 1_000_001, ">2000000", 1e30, 10**30, "1" * 40])
def test_quantity_out_of_bounds_raises(value):
    with pytest.raises(normalize.OutOfBounds):
        normalize.quantity(value)


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
        (100_000_000, (100_000_000, UnsellableReason.NONE)),
        (100_000_001, (None, UnsellableReason.DEALER_PRICE_OUT_OF_BOUNDS)),
        (10**12, (None, UnsellableReason.DEALER_PRICE_OUT_OF_BOUNDS)),
        (1e30, (None, UnsellableReason.DEALER_PRICE_OUT_OF_BOUNDS)),
        (-5, (None, UnsellableReason.DEALER_PRICE_OUT_OF_BOUNDS)),
        ("-5000", (None, UnsellableReason.DEALER_PRICE_OUT_OF_BOUNDS)),
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
    assert item.article == 20908
    assert item.category_id == 3600
    assert item.brand == "HP"
    assert (item.dealer_price, item.retail_price, item.rrp, item.unsellable_reason) == (5600, 6490, None, "")
    assert (item.stock, item.stock_qualifier) == (50, ">")
    assert item.is_new is True
    assert item.weight == Decimal("0.800")
    assert item.warehouse_stock == {"panfilov": 1}


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
    assert caught.value.reason == reason
    assert caught.value.article == article


def test_unreadable_stock_is_no_stock_never_the_last_known_one():
    item = normalize.product(_raw(quantity="много"))
    assert (item.stock, item.stock_qualifier, item.unsellable_reason) == (0, "=", "")
    assert item.problems == (normalize.Problem("quantity", "unreadable", "много"),)
    entry = normalize.price_stock(20908, {"quantity": "??", "price1": 5000})
    assert entry.problems == (normalize.Problem("quantity", "unreadable", "??"),)
    assert normalize.product(_raw()).problems == ()


def test_unreadable_values_are_flagged_field_by_field_and_become_none():
    item = normalize.product(
        _raw(price1="по запросу", price2="дорого", rrp=[1], quantityMarkdown="пара", warehouses={"astana": "?"})
    )
    assert (item.dealer_price, item.retail_price, item.rrp, item.markdown_stock) == (None, None, None, 0)
    assert item.unsellable_reason == "no_price"
    assert item.warehouse_stock == {}
    assert {(p.field, p.kind, p.value) for p in item.problems} == {
        ("price1", "unreadable", "по запросу"),
        ("price2", "unreadable", "дорого"),
        ("rrp", "unreadable", "[1]"),
        ("quantityMarkdown", "unreadable", "пара"),
        ("warehouses", "unreadable", "astana: ?"),
    }


@pytest.mark.parametrize(
    ("overrides", "reason", "value"),
    [
        ({"quantity": 1e30}, "stock_out_of_bounds", "1e+30"),
        ({"quantity": "1000000000000000000000000000000"}, "stock_out_of_bounds", "1000000000000000000000000000000"),
        ({"quantity": -5}, "stock_out_of_bounds", "-5"),
        ({"quantity": ">2000000"}, "stock_out_of_bounds", ">2000000"),
        ({"warehouses": {"panfilov": 10**7}}, "stock_out_of_bounds", "panfilov: 10000000"),
        ({"price1": 1e30}, "dealer_price_out_of_bounds", "1e+30"),
        ({"price1": 10**12}, "dealer_price_out_of_bounds", "1000000000000"),
        ({"price1": -100}, "dealer_price_out_of_bounds", "-100"),
        ({"price2": 10**12}, "retail_price_out_of_bounds", "1000000000000"),
        ({"price2": "-1"}, "retail_price_out_of_bounds", "-1"),
    ],
)
def test_a_number_out_of_bounds_makes_the_product_unsellable_and_is_never_stored(overrides, reason, value):
    item = normalize.product(_raw(**overrides))
    assert (item.unsellable_reason, item.unsellable_value) == (reason, value)
    assert 0 <= item.stock <= normalize.MAX_STOCK
    assert all(0 <= n <= normalize.MAX_STOCK for n in item.warehouse_stock.values())
    for price in (item.dealer_price, item.retail_price):
        assert price is None or 0 < price <= normalize.MAX_PRICE
    assert [p.kind for p in item.problems] == ["out_of_bounds"]
    entry = normalize.price_stock(20908, {**_raw(**overrides), "warehouse": _raw(**overrides)["warehouses"]})
    assert (entry.unsellable_reason, entry.unsellable_value) == (reason, value)


def test_out_of_bounds_rrp_and_markdown_values_are_dropped_but_leave_the_product_sellable():
    item = normalize.product(_raw(rrp=10**12, priceMarkdown=-1, quantityMarkdown=10**9))
    assert (item.rrp, item.markdown_price, item.markdown_stock, item.unsellable_reason) == (None, None, 0, "")
    assert sorted(p.field for p in item.problems) == ["priceMarkdown", "quantityMarkdown", "rrp"]


def test_the_dealer_price_out_of_bounds_wins_over_the_price_reasons():
    item = normalize.product(_raw(price1=1, quantity=1e30))
    assert item.unsellable_reason == "stock_out_of_bounds"  # not "price on request": the data is wrong


@pytest.mark.parametrize("article", [2**31, 10**30, 1e30, -1])
def test_an_article_beyond_the_database_integer_is_skipped(article):
    with pytest.raises(SkipProduct) as caught:
        normalize.product(_raw(article=article))
    assert caught.value.reason == "bad_article"


def test_text_drops_what_no_database_stores():
    assert normalize.text("Кабель\ud800 HDMI\x00") == "Кабель HDMI"
    assert normalize.shown("x" * 100) == "x" * normalize.SHOWN_LENGTH


def test_category_and_brand_numbers_are_bounded():
    with pytest.raises(ValueError):
        normalize.category({"id": 10**12, "name": "x"})
    row = normalize.category({"id": 5, "name": "x", "left": -4, "right": 1e30, "level": 10**9, "elements": 10**20})
    assert (row.left, row.right, row.level, row.elements) == (
        0,
        normalize.MAX_ID,
        normalize.MAX_LEVEL,
        normalize.MAX_ID,
    )
    assert normalize.brand({"id": "G", "name": "B", "count": 10**20}).count == normalize.MAX_ID


def test_price_stock_entry():
    entry = normalize.price_stock("20908", {"quantity": "<10", "price1": 1, "price2": "7000"})
    assert entry == normalize.PriceStockData(20908, None, 7000, "price_on_request", 10, "<", None, "", ())
    entry = normalize.price_stock(20908, {"quantity": 3, "price1": 900, "warehouse": {"panfilov": ">5"}})
    assert (entry.dealer_price, entry.warehouse_stock) == (900, {"panfilov": 5})
    with pytest.raises(SkipProduct):
        normalize.price_stock("x", {"quantity": 1})
