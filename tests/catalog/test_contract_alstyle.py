"""The Al-Style client and normaliser against the documented contract
(shared/reference/alstyle-api.md), with values our own emulator does not send by itself."""

import itertools

import pytest

from catalog import normalize
from catalog.alstyle import AlstyleClient
from catalog.models import Category, Product, StockQualifier
from catalog.services.importing import import_catalog
from feeds.writer import FeedConfig, Store, offers_from_products

LESS_THAN = StockQualifier.LESS_THAN.value


def _raw(**fields) -> dict:
    raw = {"article": 20908, "name": "Колонки Mi", "price1": 10000, "price2": 12990, "quantity": 5}
    raw.update(fields)
    return raw


# --- categories: "flat JSON array of {id, name, left, right, level, elements}" ---------------------
@pytest.mark.django_db
def test_a_category_without_usable_tree_numbers_is_kept_with_its_products(alstyle):
    """A different server (or a category the supplier has not placed yet) may send the nested-set
    numbers as null, "" or missing: the category is still a category, and its products belong to it
    (their category decides price rules and commission)."""
    sandbox = alstyle()
    leaf = sandbox.products[0]["category"]
    rows = sandbox.category_rows()

    def rows_with_nulls():
        answer = []
        for row in rows:
            if row["id"] == leaf:
                row = {**row, "left": None, "right": "", "level": None}
                del row["elements"]
            answer.append(row)
        return answer

    sandbox.category_rows = rows_with_nulls
    read = {row.id: row for row in AlstyleClient().categories()}
    assert leaf in read
    assert (read[leaf].left, read[leaf].right, read[leaf].elements) == (0, 0, 0)

    run = import_catalog()
    assert run.status == "success"
    assert Category.objects.filter(id=leaf, is_active=True).exists()
    in_leaf = [p["article"] for p in sandbox.products if p["category"] == leaf]
    assert in_leaf
    assert set(Product.objects.filter(article__in=in_leaf).values_list("category_id", flat=True)) == {leaf}


@pytest.mark.parametrize("value", [None, "", "x", [], {}])
def test_unreadable_tree_numbers_are_zero_not_a_lost_category(value):
    row = normalize.category({"id": "3521", "name": "Ноутбуки", "left": value, "right": value, "level": value})
    assert (row.id, row.name, row.left, row.right, row.level) == (3521, "Ноутбуки", 0, 0, 0)


# --- quantity: '"<10" is stock (fewer than ten), not "none"' --------------------------------------
def test_fewer_than_one_is_no_stock_and_fewer_than_ten_is_some():
    assert normalize.promised_stock(10, LESS_THAN) == 1
    assert normalize.promised_stock(2, LESS_THAN) == 1
    assert normalize.promised_stock(1, LESS_THAN) == 0
    assert normalize.promised_stock(0, LESS_THAN) == 0
    item = normalize.product(_raw(quantity="<1", warehouses={"panfilov": "<1", "karaganda": "<10"}))
    assert (item.stock, item.stock_qualifier) == (1, LESS_THAN)
    assert item.warehouse_stock == {"panfilov": 0, "karaganda": 1}


def test_fewer_than_one_is_published_as_not_available():
    config = FeedConfig("Shop", "123", stores=(Store("PP1"), Store("PP2", warehouses=("panfilov",))))
    product = {
        "id": 1,
        "article": 20908,
        "name": "Колонки Mi",
        "brand__name": "Xiaomi",
        "sale_price": 12990,
        "stock": 1,
        "stock_qualifier": LESS_THAN,
        "warehouse_stock": {"panfilov": 0},
        "publish_min_stock": 0,
    }
    (offer,) = offers_from_products([product], config)
    assert offer.stocks == (0, 0)
    (offer,) = offers_from_products([{**product, "stock": 10, "warehouse_stock": {"panfilov": 1}}], config)
    assert offer.stocks == (1, 1)


# --- isnew: 0/1 (numbers sometimes arrive as strings; a JSON boolean is the same flag) ----------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [(1, True), ("1", True), (True, True), (0, False), ("0", False), (False, False), (None, False), ("", False)],
)
def test_isnew_flag_in_any_form(value, expected):
    assert normalize.product(_raw(isnew=value)).is_new is expected


def test_changed_rules_reread_every_product():
    """RULES_VERSION is part of the fingerprint: after these rules changed, the next import reads
    every product again instead of keeping values normalised by the old rules."""
    from catalog.alstyle import SupplierProduct

    before = SupplierProduct(_raw()).fingerprint
    original = normalize.RULES_VERSION
    try:
        normalize.RULES_VERSION = original + b"+"
        assert SupplierProduct(_raw()).fingerprint != before
    finally:
        normalize.RULES_VERSION = original


# --- paging: "Page by what the response says"; "No documented error body" ---------------------------
@pytest.mark.parametrize("omit_pagination", [True, False])
def test_a_server_that_ignores_offset_is_not_asked_forever(alstyle, omit_pagination):
    """Without a total, only an empty page ends the paging: a server that ignores `offset` (or a
    page block without totalCount) would be asked the first page again forever, one rate slot each."""
    sandbox = alstyle(products=100)
    sandbox.omit_pagination = omit_pagination
    page = sandbox.page

    def ignoring_offset(query):
        answer = page({**query, "offset": "0"})
        if "pagination" in answer:
            del answer["pagination"]["totalCount"]
        return answer

    sandbox.page = ignoring_offset
    client = AlstyleClient()
    pages = list(itertools.islice(client.product_pages(), 10))
    assert [len(p.products) for p in pages] == [100]
    assert sandbox.request_count("elements-pagination") == 2


@pytest.mark.django_db
def test_an_import_from_a_server_that_ignores_offset_ends_and_deactivates_nothing(alstyle):
    sandbox = alstyle(products=300)
    import_catalog()
    page = sandbox.page
    sandbox.page = lambda query: page({**query, "offset": "0"})
    run = import_catalog()
    assert run.status == "success"
    assert run.deactivated == 0
    assert Product.objects.filter(is_active=True).count() == 300
    assert sandbox.request_count("elements-pagination") <= 2 + 2
