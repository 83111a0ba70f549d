"""Stock reserved for Kaspi orders in the published price list: per store, the publish minimum,
the hand-over of bought units to the next import, the version diff naming the cause, and the
writer's fast path agreeing with the rule (catalog.reservations)."""

import random
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone
from lxml import etree

from catalog import reservations
from catalog.models import PriceRule, Product
from catalog.services.importing import import_catalog
from feeds.models import FeedStore
from feeds.selectors import published_version
from feeds.services import build_feed
from feeds.writer import FeedConfig, Store, offers_from_products
from orders.services.purchases import mark_article_purchased
from tests.catalog.conftest import alstyle  # noqa: F401  (the Al-Style emulator fixture)
from tests.orders.purchase_helpers import order, product

from .conftest import add_store

pytestmark = pytest.mark.django_db
NS = {"k": "kaspiShopping"}


def published_stock(build, article) -> dict[str, str | None]:
    """{store id: stockCount, or None when published as unavailable} of one offer in the price
    list published after `build` (published by it, or kept because it changed nothing)."""
    assert build.result in ("published", "unchanged"), build.reasons
    with default_storage.open(published_version().file, "rb") as fh:
        root = etree.parse(fh).getroot()
    offer = root.find(f".//k:offer[@sku='AS{article}']", NS)
    return {
        a.get("storeId"): (a.get("stockCount") if a.get("available") == "yes" else None)
        for a in offer.iterfind(".//k:availability", NS)
    }


@pytest.fixture
def two_stores(feed):
    FeedStore.objects.filter(feed=feed, store_id="PP1").update(warehouses=["panfilov"])
    add_store(feed, "PP2", warehouses=["karaganda"])
    return feed


def test_each_store_offers_its_warehouses_stock_less_what_orders_leaving_from_it_hold(two_stores):
    a = product(stock=7, warehouses={"panfilov": 5, "karaganda": 2})
    untouched = product(stock=7, warehouses={"panfilov": 5, "karaganda": 2})
    order((a, 2, 13_990), pickup="30001234_PP2")  # Kaspi says it leaves from PP2
    order((a, 1, 13_990))  # Kaspi does not say: the largest stock (panfilov)
    order((a, 9, 13_990), status="CANCELLED")  # holds nothing
    version = build_feed(force=True)
    assert published_stock(version, a.article) == {"PP1": "4", "PP2": None}
    assert published_stock(version, untouched.article) == {"PP1": "5", "PP2": "2"}
    assert version.stats["reserved_offers"] == 1


def test_a_remainder_below_the_publish_minimum_is_published_as_unavailable(feed):
    feed.stock_threshold = 3
    feed.save()
    a, b = product(stock=5), product(stock=50, qualifier=">")
    order((a, 3, 13_990))  # leaves 2 < 3
    order((b, 45, 13_990))  # ">50" counts 50: leaves 5
    version = build_feed(force=True)
    assert published_stock(version, a.article) == {"PP1": None}
    assert published_stock(version, b.article) == {"PP1": "5"}


def test_bought_units_stay_reserved_until_an_import_that_started_later_shows_them_gone(
    alstyle,  # noqa: F811
    feed,
    django_capture_on_commit_callbacks,
):
    def imported(quick):
        with django_capture_on_commit_callbacks(execute=True):  # the import reprices once committed
            assert import_catalog(quick=quick).status == "success"

    PriceRule.objects.create(name="Всё", markup_percent=20)
    sandbox = alstyle(products=30)
    imported(quick=False)
    raw = next(p for p in sandbox.products if isinstance(p["quantity"], int) and p["quantity"] >= 5 and p["price1"] > 1)
    sandbox.update_product(raw["article"], quantity=5, warehouses={})
    imported(quick=True)
    item = Product.objects.get(article=raw["article"])
    assert item.sale_price
    assert item.stock == 5
    order((item, 2, item.sale_price))
    assert published_stock(build_feed(force=True), item.article) == {"PP1": "3"}

    # The buyer buys the 2 units at Al-Style; until an import started after that, Al-Style's
    # figure we hold (5) still counts them: they stay reserved, never offered twice.
    mark_article_purchased(item.article, quantity=2, unit_price=item.dealer_price, document="АС-77", user=None)
    assert published_stock(build_feed(force=True), item.article) == {"PP1": "3"}
    sandbox.update_product(item.article, quantity=3)  # Al-Style sold them to us
    imported(quick=True)  # started after the purchase: Al-Style's figure now shows 3
    item.refresh_from_db()
    assert item.stock == 3
    assert published_stock(build_feed(force=True), item.article) == {"PP1": "3"}
    assert reservations.demands([item.pk]) == {}


def test_the_version_diff_names_reserved_for_orders_as_the_cause(products, feed, admin_client):
    a, b = products(2, stock=5)
    build_feed(force=True)
    order((a, 2, 13_990))
    Product.objects.filter(pk=b.pk).update(stock=4)  # Al-Style's own change
    version = build_feed(force=True)
    assert version.diff["counts"]["stock_changed"] == 2
    assert version.diff["reserved_for_orders"] == [[f"AS{a.article}", [5], [3]]]
    page = admin_client.get(reverse("admin:feeds_feedversion_change", args=[version.pk])).content.decode()
    assert "из них: резерв под заказы (1)" in page  # the admin speaks Russian
    listing = admin_client.get(reverse("admin:feeds_feedversion_changelist")).content.decode()
    assert "(1 — из-за резерва под заказы)" in listing
    changes = admin_client.get(reverse("admin:feeds_feedversion_diff", args=[version.pk])).content.decode("utf-8-sig")
    assert f"изменился остаток: резерв под заказы;AS{a.article};" in changes
    assert f"изменился остаток;AS{b.article};" in changes
    # the order is cancelled: the units come back, and that too is the reservation's doing
    a_order = a.order_entries.get().order
    a_order.status = "CANCELLED"
    a_order.save(update_fields=["status"])
    again = build_feed(force=True)
    assert again.diff["reserved_for_orders"] == [[f"AS{a.article}", [3], [5]]]
    assert again.diff["counts"]["stock_changed"] == 1


def test_without_reservations_the_writer_fast_path_is_the_rule(db):
    rng = random.Random(14)
    stores = (Store("PP1", warehouses=("a",)), Store("PP2", warehouses=("b", "c")), Store("PP3"))
    config = FeedConfig(company="X", merchant_id="1", stock_threshold=2, stores=stores)
    rows = []
    for i in range(300):
        qualifier = rng.choice(["=", ">", "<"])
        rows.append(
            {
                "id": i,
                "article": 10_000 + i,
                "name": "Товар",
                "brand__name": "",
                "sale_price": 1000,
                "stock": rng.choice([0, 1, 3, 10, 50]),
                "stock_qualifier": qualifier,
                "warehouse_stock": {c: rng.randint(0, 4) for c in "abc" if rng.random() < 0.7},
                "publish_min_stock": rng.choice([1, 3]),
            }
        )
    store_warehouses = {s.store_id: s.warehouses for s in stores}
    for row, offer in zip(rows, offers_from_products(rows, config)):
        total = 1 if row["stock_qualifier"] == "<" and row["stock"] else row["stock"]
        minimum = max(config.stock_threshold, row["publish_min_stock"])
        expected = reservations.offered(total, row["warehouse_stock"], None, store_warehouses, minimum)
        assert offer.stocks == tuple(expected.values()), row


def test_a_build_with_nothing_reserved_stores_plain_snapshots(products, feed):
    products(2)
    version = build_feed(force=True)
    assert version.stats["reserved_offers"] == 0
    assert timezone.now() - version.started_at < timedelta(minutes=5)
