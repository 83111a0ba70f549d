"""The pure pricing function: resolution order, bands, rounding, floor, cap, overrides."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from catalog.pricing.engine import Band, Book, Override, ProductIn, Rule, price_product, round_price

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=ZoneInfo("Asia/Almaty"))
NBSP = "\u00a0"
LAPTOPS, COMPUTERS, ELECTRONICS, GARDEN = 3, 2, 1, 5
ANCESTORS = {LAPTOPS: (3, 2, 1), COMPUTERS: (2, 1), ELECTRONICS: (1,), GARDEN: (5,)}


def book(commission="0", **kwargs):
    return Book(now=NOW, default_commission=Decimal(commission), ancestors=ANCESTORS, **kwargs)


def product(dealer=100_000, category=LAPTOPS, brand=7, pid=1, **kwargs):
    return ProductIn(id=pid, category_id=category, brand_id=brand, dealer_price=dealer, **kwargs)


def rule(rid, percent="10", **kwargs):
    return Rule(id=rid, label=f"rule {rid}", percent=Decimal(percent), **kwargs)


@pytest.mark.parametrize(
    "price, step, ending, mode, expected",
    [
        (184_380, 100, 0, "up", 184_400),
        (184_400, 100, 0, "up", 184_400),
        (184_349, 100, 0, "nearest", 184_300),
        (184_350, 100, 0, "nearest", 184_400),
        (1_024, 50, 0, "nearest", 1_000),
        (1_025, 50, 0, "nearest", 1_050),
        (184_001, 1000, 0, "up", 185_000),
        (184_380, 100, 90, "up", 184_390),
        (184_395, 100, 90, "up", 184_490),
        (184_330, 100, 90, "nearest", 184_290),
        (184_380, 1000, 990, "up", 184_990),
        (184_380, 1000, 990, "nearest", 183_990),
        (40, 100, 90, "nearest", 90),  # never rounds down to nothing
        (777, 1, 0, "nearest", 777),
    ],
)
def test_rounding_steps_modes_and_endings(price, step, ending, mode, expected):
    assert round_price(price, step, ending, mode) == expected


def test_most_specific_rule_wins():
    rules = dict(
        global_rule=rule(1),
        brand_rules={7: rule(2)},
        category_rules={ELECTRONICS: rule(3), LAPTOPS: rule(4)},
        brand_category_rules={(7, ELECTRONICS): rule(5), (7, COMPUTERS): rule(6)},
        product_rules={1: rule(7)},
    )

    def winner(**changes):
        return price_product(product(), book(**{**rules, **changes})).rule_id

    assert winner() == 7  # product
    assert winner(product_rules={}) == 6  # brand in the deepest category that has one
    assert winner(product_rules={}, brand_category_rules={(7, ELECTRONICS): rule(5)}) == 5
    assert winner(product_rules={}, brand_category_rules={}) == 4  # deepest category
    assert winner(product_rules={}, brand_category_rules={}, category_rules={ELECTRONICS: rule(3)}) == 3
    assert winner(product_rules={}, brand_category_rules={}, category_rules={}) == 2  # brand
    assert winner(product_rules={}, brand_category_rules={}, category_rules={}, brand_rules={}) == 1
    # Another brand or a category outside the subtree falls through to what matches it.
    other = book(**rules)
    assert price_product(product(pid=2, brand=8), other).rule_id == 4
    assert price_product(product(pid=2, brand=8, category=GARDEN), other).rule_id == 1


def test_no_rule_means_no_price():
    result = price_product(product(), book())
    assert result.sale_price is None
    assert result.rule_id is None


def test_markup_percent_fixed_and_commission_gross_up():
    # (100 000 × 1.12 + 500) / (1 − 0.08) = 122 282.6… → 122 283 → step 100 up → 122 300
    result = price_product(product(), book("8", global_rule=rule(1, "12", fixed=500, step=100)))
    assert result.sale_price == 122_300
    # net margin = 122 300 × 0.92 − 100 000 = 12 516
    assert result.net_margin == 12_516
    assert result.net_margin_percent == Decimal("10.23")
    assert result.below_floor is False


def test_bands_pick_the_markup_by_dealer_price():
    bands = (Band(0, 10_000, Decimal("30")), Band(10_000, 100_000, Decimal("18")), Band(100_000, None, Decimal("10")))
    b = book(global_rule=rule(1, "99", bands=bands))
    assert price_product(product(5_000), b).sale_price == 6_500
    assert price_product(product(10_000), b).sale_price == 11_800  # the low bound is inclusive
    assert price_product(product(99_999), b).sale_price == 117_999
    assert price_product(product(100_000), b).sale_price == 110_000
    # No band covers it: the rule's own markup.
    gap = book(global_rule=rule(1, "50", bands=(Band(0, 1_000, Decimal("30")),)))
    assert price_product(product(2_000), gap).sale_price == 3_000


def test_margin_floor_in_tenge_holds_after_commission():
    # floor = (100 000 + 20 000) / 0.9 = 133 333.3… → 133 334, rounded up to the step: 133 400
    result = price_product(product(), book("10", global_rule=rule(1, "5", step=100, min_margin=20_000)))
    assert result.sale_price == 133_400
    assert result.net_margin == 20_060  # 133 400 × 0.9 − 100 000
    assert result.below_floor is False


def test_margin_floor_in_percent_of_price():
    # floor = 90 000 / (0.9 − 0.1) = 112 500: margin 11 250 is exactly 10 % of the price
    result = price_product(product(90_000), book("10", global_rule=rule(1, "0", min_margin_percent=Decimal("10"))))
    assert result.sale_price == 112_500
    assert result.net_margin_percent == Decimal("10.00")


def test_cap_at_retail_price_or_rrp():
    capped = price_product(product(retail_price=120_000), book(global_rule=rule(1, "30", cap="retail")))
    assert capped.sale_price == 120_000
    uncapped = price_product(product(retail_price=150_000), book(global_rule=rule(1, "30", cap="retail")))
    assert uncapped.sale_price == 130_000
    by_rrp = price_product(product(rrp=115_000, retail_price=200_000), book(global_rule=rule(1, "30", cap="rrp")))
    assert by_rrp.sale_price == 115_000
    # The cap wins over the floor, and the product is flagged.
    under = price_product(
        product(retail_price=120_000), book(global_rule=rule(1, "30", cap="retail", min_margin=25_000))
    )
    assert under.sale_price == 120_000
    assert under.below_floor is True


def test_override_replaces_the_rule_until_it_expires():
    rules = dict(global_rule=rule(1, "10"))
    active = book(overrides={1: Override(99_000, NOW + timedelta(hours=1))}, **rules)
    result = price_product(product(), active)
    assert result.sale_price == 99_000
    assert result.below_floor is True  # under the dealer price: below the break-even floor
    assert result.net_margin == -1_000
    expired = book(overrides={1: Override(99_000, NOW - timedelta(seconds=1))}, **rules)
    assert price_product(product(), expired).sale_price == 110_000
    forever = book(overrides={1: Override(150_000)}, **rules)
    assert price_product(product(), forever).sale_price == 150_000


@pytest.mark.parametrize(
    "fields",
    [
        {"unsellable_reason": "price_on_request"},
        {"unsellable_reason": "stock_out_of_bounds"},
        {"dealer_price": None},
        {"dealer_price": 0},
        {"is_active": False},
    ],
)
def test_unsellable_or_inactive_products_get_no_price(fields):
    item = product(**{"dealer": fields.pop("dealer_price", 100_000)}, **fields)
    with translation.override("en"):
        result = price_product(item, book(global_rule=rule(1)))
    assert result.sale_price is None
    assert result.net_margin is None
    if item.unsellable_reason == "stock_out_of_bounds":  # a dealer price, but the stock is nonsense
        assert result.explanation == "not priced: the supplier's data makes it unsellable"


def test_exclusion_by_category_subtree_brand_or_product():
    assert price_product(product(), book(excluded_categories=frozenset({ELECTRONICS}))).excluded
    assert price_product(product(), book(excluded_brands=frozenset({7}))).excluded
    assert price_product(product(), book(excluded_products=frozenset({1}))).excluded
    assert not price_product(product(), book(excluded_categories=frozenset({GARDEN}))).excluded


def test_explanation_reads_as_one_line():
    laptops = Rule(id=1, label="Laptops", percent=Decimal("12"), step=100)
    with translation.override("en"):
        result = price_product(product(153_650), book("8", category_rules={LAPTOPS: laptops}))
    # 153 650 × 1.12 / 0.92 = 187 052.17… → 187 053 → 187 100
    assert result.explanation == (
        f"Laptops: 12{NBSP}% + commission 8 % → 187{NBSP}053{NBSP}₸ → rounded to 187{NBSP}100{NBSP}₸"
    )
    assert result.sale_price == 187_100


def test_min_stock_comes_from_the_winning_rule():
    assert price_product(product(), book(global_rule=rule(1, min_stock=3))).min_stock == 3
    assert price_product(product(), book()).min_stock == 1
