"""Property-based tests (hypothesis) of what the supplier and the price list can throw at us:
supplier normalisation, the SKU rule and the XML writer, with arbitrary Unicode, numbers as
strings, huge and negative values. Never a crash, never a stored value out of bounds, never an
invalid price list (the written file is validated against the XSD)."""

import io
import string
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog import normalize
from catalog.sku import article_for_sku, is_valid_sku, merchant_sku
from catalog.text import clean_text
from feeds.validation import WriterValidator, validate_bytes
from feeds.writer import City, FeedConfig, Offer, Store, write_feed

PROPERTIES = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

huge = st.integers(min_value=-(10**40), max_value=10**40)
number_text = st.one_of(
    huge.map(str),
    huge.map(lambda n: f">{n}"),
    huge.map(lambda n: f"<{n}"),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.from_regex(r"\A[ \d.,\-+<>eE]{0,15}\Z"),
)
supplier_value = st.one_of(
    st.none(),
    st.booleans(),
    huge,
    st.floats(allow_nan=False, allow_infinity=False),
    number_text,
    st.text(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)
raw_product = st.fixed_dictionaries(
    {"article": st.one_of(st.integers(min_value=1, max_value=normalize.MAX_ID), supplier_value)},
    optional={
        name: supplier_value
        for name in (
            "name",
            "article_pn",
            "full_name",
            "category",
            "brand",
            "price1",
            "price2",
            "rrp",
            "quantity",
            "isnew",
            "barcode",
            "weight",
            "warranty",
            "description",
            "url",
            "images",
            "quantityMarkdown",
            "priceMarkdown",
        )
    }
    | {"warehouses": st.dictionaries(st.text(max_size=8), supplier_value, max_size=3)},
)


def storable(text: str) -> bool:
    return "\x00" not in text and not any("\ud800" <= ch <= "\udfff" for ch in text)


@pytest.mark.slow
@PROPERTIES
@given(raw_product)
def test_normalising_any_supplier_product_never_crashes_and_stores_only_sane_values(raw):
    try:
        item = normalize.product(raw)
    except normalize.SkipProduct as skip:
        assert skip.reason in (normalize.BAD_ARTICLE, normalize.NOT_AN_OBJECT, normalize.NO_NAME)
        return
    assert 0 < item.article <= normalize.MAX_ID
    assert 0 <= item.stock <= normalize.MAX_STOCK
    assert 0 <= item.markdown_stock <= normalize.MAX_STOCK
    assert all(0 <= n <= normalize.MAX_STOCK for n in item.warehouse_stock.values())
    for price in (item.dealer_price, item.retail_price, item.rrp, item.markdown_price):
        assert price is None or 0 < price <= normalize.MAX_PRICE
    assert item.category_id is None or 0 < item.category_id <= normalize.MAX_ID
    for text in (item.name, item.article_pn, item.full_name, item.brand, item.description, item.unsellable_value):
        assert storable(text)
    if item.unsellable_reason.endswith("_out_of_bounds"):
        assert item.unsellable_value
        assert any(p.kind == normalize.OUT_OF_BOUNDS for p in item.problems)
    for problem in item.problems:
        assert len(problem.value) <= normalize.SHOWN_LENGTH
        assert storable(problem.value)


@PROPERTIES
@given(st.one_of(st.text(), st.integers()), st.dictionaries(st.text(max_size=10), supplier_value, max_size=6))
def test_a_quick_refresh_entry_never_crashes(key, raw):
    try:
        entry = normalize.price_stock(key, raw)
    except normalize.SkipProduct:
        return
    assert 0 <= entry.stock <= normalize.MAX_STOCK
    assert entry.dealer_price is None or 0 < entry.dealer_price <= normalize.MAX_PRICE


prefixes = st.text(alphabet=string.ascii_letters + string.digits, max_size=8)


@PROPERTIES
@given(st.integers(min_value=1, max_value=normalize.MAX_ID), prefixes)
def test_the_sku_of_any_article_is_valid_and_reads_back(article, prefix):
    sku = merchant_sku(article, prefix)
    assert is_valid_sku(sku)
    assert len(sku) <= 18
    assert article_for_sku(sku, prefix) == article


@PROPERTIES
@given(st.text(), prefixes)
def test_reading_an_article_out_of_any_text_never_crashes(text, prefix):
    article = article_for_sku(text, prefix)
    assert article is None or merchant_sku(article, prefix) == text


# --- the XML writer -------------------------------------------------------------------------
prices = st.one_of(st.integers(min_value=-(10**15), max_value=10**15), st.sampled_from([1, 999_999_999_999]))
offers = st.lists(
    st.builds(
        Offer,
        sku=st.one_of(st.text(max_size=25), st.integers(min_value=0, max_value=10**12).map(lambda n: f"AS{n}")),
        model=st.text(),
        brand=st.text(max_size=30),
        stocks=st.tuples(st.integers(min_value=-5, max_value=10**11), st.integers(min_value=-5, max_value=10**11)),
        price=prices,
        article=st.integers(min_value=1, max_value=normalize.MAX_ID),
    ),
    max_size=12,
)
config = FeedConfig(
    company="Shop «Ромашка» & Co <b>",
    merchant_id="30001234",
    stores=(Store("PP1"), Store("PP2", pre_order=3)),
)


@PROPERTIES
@given(offers, st.text(), st.booleans())
def test_whatever_the_offers_the_written_price_list_is_valid_or_says_why(items, company, with_cities):
    chosen = config
    if with_cities:  # city prices instead of one price (a percent and an offset that can go wrong)
        chosen = FeedConfig(
            company=company or "Shop",
            merchant_id="30001234",
            stores=config.stores,
            cities=(City("750000000", offset=-1000), City("710000000", percent=Decimal("10.5"))),
        )
        items = [o._replace(price=tuple((c.city_id, c.price(0, o.price)) for c in chosen.cities)) for o in items]
    out = io.BytesIO()
    result = write_feed(out, items, chosen, validator=WriterValidator(threads=0))
    data = out.getvalue()
    assert result.offers + result.dropped_count == len(items)  # every offer written or left out, with a reason
    assert all(d["reason"] for d in result.dropped)
    assert not result.schema_bad_lines  # the writer's own checks caught everything the schema would
    if result.valid:
        assert validate_bytes(data) == []
        assert result.offers > 0
        assert data.count(b"<offer ") == result.offers == len(result.snapshot)
    else:  # only the whole document can be wrong: no offers at all, or an empty company name
        assert result.offers == 0 or (with_cities and not clean_text(company or "Shop"))
