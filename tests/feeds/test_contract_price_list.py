"""The price list against the documented contract (shared/reference/kaspi-price-list.md):
"List every warehouse you sell from: Kaspi only stops selling at a warehouse listed with
available="no"." A store staff remove from the settings must therefore stay in every offer as
available="no"; leaving it out would let Kaspi go on selling there from the last stock it saw."""

import io

import pytest
from django.core.exceptions import ValidationError
from lxml import etree

from feeds.models import FeedSettings, FeedStore
from feeds.services import build_feed
from feeds.validation import validate_bytes
from feeds.writer import FeedConfig, Offer, Store, write_feed

from .conftest import FEED_TOKEN, add_store

NS = {"k": "kaspiShopping"}


def _availabilities(xml: bytes) -> dict[str, list[tuple]]:
    """{sku: [(storeId, available, stockCount), ...]} in document order."""
    root = etree.fromstring(xml)
    return {
        offer.get("sku"): [
            (a.get("storeId"), a.get("available"), a.get("stockCount"))
            for a in offer.iterfind("k:availabilities/k:availability", NS)
        ]
        for offer in root.iterfind("k:offers/k:offer", NS)
    }


def test_retired_stores_are_listed_as_not_available_in_every_offer():
    config = FeedConfig("Shop", "123", stores=(Store("PP1"),), retired_stores=("PP2", "PP1", "PP2"))
    offers = [Offer("AS1", "Колонки", "Xiaomi", (5,), 12990, 1), Offer("AS2", "Мышь", "", (0,), 990, 2)]
    fh = io.BytesIO()
    result = write_feed(fh, iter(offers), config)
    assert result.valid, result.errors
    assert list(validate_bytes(fh.getvalue())) == []
    assert _availabilities(fh.getvalue()) == {
        "AS1": [("PP1", "yes", "5"), ("PP2", "no", None)],  # a store still sold from is not listed twice
        "AS2": [("PP1", "no", None), ("PP2", "no", None)],
    }
    assert (result.offers, result.available_offers) == (2, 1)


@pytest.mark.django_db
def test_a_removed_store_stays_in_the_served_price_list_as_not_available(client, feed, make_product):
    make_product(name="Колонки Mi", stock=7)
    add_store(feed, "PP2")
    assert build_feed().result == "published"
    assert {s for rows in _availabilities(_served(client)).values() for s, *_ in rows} == {"PP1", "PP2"}

    FeedStore.objects.get(store_id="PP2").delete()
    feed.refresh_from_db()
    assert feed.retired_stores == ["PP2"]
    assert build_feed().result == "published"
    (rows,) = _availabilities(_served(client)).values()
    assert rows == [("PP1", "yes", "7"), ("PP2", "no", None)]


@pytest.mark.django_db
def test_a_recoded_store_retires_its_old_code_and_a_code_in_use_again_leaves_the_list(feed):
    store = feed.stores.get(store_id="PP1")
    store.store_id = "PP3"
    store.save()
    feed.refresh_from_db()
    assert feed.retired_stores == ["PP1"]
    add_store(feed, "PP1")
    feed.refresh_from_db()
    assert feed.retired_stores == []
    store.save()  # saved unchanged: nothing retired
    feed.refresh_from_db()
    assert feed.retired_stores == []


@pytest.mark.django_db
def test_retired_store_codes_are_checked(feed):
    feed.retired_stores = ["PP2", "склад 1"]
    with pytest.raises(ValidationError) as caught:
        feed.full_clean()
    assert "retired_stores" in caught.value.message_dict
    feed.retired_stores = ["PP2"]
    feed.full_clean()


@pytest.mark.django_db
def test_an_unusable_retired_code_stored_anyway_never_breaks_the_price_list(feed, make_product):
    make_product(name="Колонки Mi", stock=7)
    FeedSettings.objects.filter(pk=feed.pk).update(retired_stores=["PP2", "bad code", 5])
    version = build_feed()
    assert version.result == "published", version.errors
    assert version.offers == 1


def _served(client) -> bytes:
    response = client.get(f"/feeds/{FEED_TOKEN}/kaspi.xml")
    assert response.status_code == 200
    return b"".join(response.streaming_content)


@pytest.mark.django_db
def test_staff_see_and_edit_the_retired_stores_and_deleting_a_store_in_the_page_retires_it(admin_client, feed):
    url = f"/admin/feeds/feedsettings/{feed.pk}/change/"
    add_store(feed, "PP2")
    page = admin_client.get(url)
    assert page.status_code == 200
    assert b'name="retired_stores"' in page.content
    stores = list(feed.stores.order_by("position"))
    form = {
        "company": "Test Shop",
        "merchant_id": "30001234",
        "sku_prefix": "AS",
        "stock_threshold": 1,
        "shrink_threshold": 20,
        "keep_versions": 5,
        "retired_stores": "",
        "stores-TOTAL_FORMS": 2,
        "stores-INITIAL_FORMS": 2,
        "cities-TOTAL_FORMS": 0,
        "cities-INITIAL_FORMS": 0,
    }
    for i, store in enumerate(stores):
        form |= {
            f"stores-{i}-id": store.pk,
            f"stores-{i}-feed": feed.pk,
            f"stores-{i}-store_id": store.store_id,
            f"stores-{i}-warehouses": "[]",
            f"stores-{i}-position": i,
        }
    form["stores-1-DELETE"] = "on"
    response = admin_client.post(url, form)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    feed.refresh_from_db()
    assert feed.retired_stores == ["PP2"]
    assert list(feed.stores.values_list("store_id", flat=True)) == ["PP1"]
