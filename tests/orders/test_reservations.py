"""What Kaspi orders hold of the stock (orders.purchase_list.reservation_demands, registered with
catalog.reservations), the hand-over of bought units to the next import, the product page, and
the debounced price list rebuild that follows a change."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog import reservations
from catalog.models import ImportKind, ImportRun
from feeds.models import FeedStore
from feeds.services import feed_settings
from kaspisync.models import DeferredTask, RunStatus
from orders.purchase_list import reservation_demands
from orders.services import pull_orders
from orders.services.purchases import mark_entry_purchased, unmark_purchase

from .purchase_helpers import days, order, product

pytestmark = pytest.mark.django_db

D = reservations.Demand


def imported(started, status=RunStatus.SUCCESS, kind=ImportKind.QUICK) -> ImportRun:
    return ImportRun.objects.create(kind=kind, status=status, started_at=started, finished_at=started)


def test_open_orders_hold_what_they_still_need_earliest_first_with_their_point_of_service():
    a = product()
    late = order((a, 2, 13_990), planned=days(3), pickup="30001234_PP1")
    early = order((a, 1, 13_990), planned=days(1), pickup="30001234_PP1")
    entry = early.entries.get()
    entry.raw = {
        "relationships": {"deliveryPointOfService": {"data": {"type": "pointofservices", "id": "30001234_PP2"}}}
    }
    entry.save(update_fields=["raw"])
    for status in ("COMPLETED", "CANCELLED", "RETURNED", "CANCELLING"):
        order((a, 5, 13_990), status=status)
    order((None, 4, 5_000))  # not in the catalog: holds nothing
    assert reservation_demands() == {a.pk: [D(1, "30001234_PP2"), D(2, "30001234_PP1")]}
    assert late.code  # (the later order comes second)


def test_bought_units_keep_the_point_of_service_of_their_entry():
    a = product()
    o = order((a, 1, 13_990), pickup="30001234_PP1")
    entry = o.entries.get()
    entry.raw = {
        "relationships": {"deliveryPointOfService": {"data": {"type": "pointofservices", "id": "30001234_PP2"}}}
    }
    entry.save(update_fields=["raw"])
    mark_entry_purchased(entry.pk, quantity=1, unit_price=9_000, document="АС-1", user=None)
    assert reservation_demands() == {a.pk: [D(1, "30001234_PP2")]}


def test_bought_units_stay_held_until_an_import_that_started_after_the_purchase():
    a = product()
    o = order((a, 3, 13_990))
    before_purchase = imported(timezone.now() - timedelta(hours=1))
    mark_entry_purchased(o.entries.get().pk, quantity=2, unit_price=9_000, document="АС-1", user=None)
    # one unit still needed, two bought: all three held (Al-Style's stock we hold still counts them)
    assert sorted(d.units for d in reservation_demands()[a.pk]) == [1, 2]
    # an import that started before the purchase (and ended after it) read the old stock
    before_purchase.finished_at = timezone.now()
    before_purchase.save()
    assert sum(d.units for d in reservation_demands()[a.pk]) == 3
    # neither a failed nor a skipped import that started after hands them over
    imported(timezone.now() + timedelta(seconds=1), status=RunStatus.FAILED, kind=ImportKind.FULL)
    imported(timezone.now() + timedelta(seconds=1), status=RunStatus.SKIPPED)
    assert sum(d.units for d in reservation_demands()[a.pk]) == 3
    # the first successful one (full or quick) does: the bought units are gone from Al-Style's figure
    imported(timezone.now() + timedelta(seconds=2))
    assert reservation_demands()[a.pk] == [D(1, "")]


def test_unmarked_purchases_hold_nothing_and_their_units_are_needed_again():
    a = product()
    o = order((a, 2, 13_990))
    done = mark_entry_purchased(o.entries.get().pk, quantity=2, unit_price=9_000, document="АС-1", user=None)
    assert reservation_demands() == {a.pk: [D(2, "")]}  # bought, not yet seen by an import
    unmark_purchase(done.purchases[0].pk, user=None)
    assert reservation_demands() == {a.pk: [D(2, "")]}  # needed again
    imported(timezone.now() + timedelta(seconds=1))
    assert reservation_demands() == {a.pk: [D(2, "")]}


def test_a_bought_order_completed_or_cancelled_before_the_next_import_keeps_its_units_held():
    a = product()
    o = order((a, 1, 13_990))
    mark_entry_purchased(o.entries.get().pk, quantity=1, unit_price=9_000, document="АС-1", user=None)
    o.status = "COMPLETED"
    o.save(update_fields=["status"])
    assert reservation_demands() == {a.pk: [D(1, "")]}


def test_the_catalog_merges_registered_sources_and_can_ask_for_some_products():
    a, b = product(), product()
    order((a, 1, 13_990), (b, 2, 13_990))
    assert reservations.demands() == {a.pk: [D(1, "")], b.pk: [D(2, "")]}  # orders registered itself
    assert reservations.demands([b.pk]) == {b.pk: [D(2, "")]}


def test_product_page_shows_al_style_stock_reserved_and_offered_per_store(admin_client):
    feed = feed_settings()
    FeedStore.objects.filter(feed=feed).update(warehouses=["panfilov"])
    FeedStore.objects.create(feed=feed, store_id="PP2", warehouses=["karaganda"], position=1)
    a = product(stock=7, warehouses={"panfilov": 5, "karaganda": 2})
    order((a, 2, 13_990), pickup="30001234_PP2")
    order((a, 1, 13_990))
    page = admin_client.get(reverse("admin:catalog_product_change", args=[a.pk])).content.decode()
    assert "Остаток Al-Style: 7 (Алматы, ул. Панфилова 5, Караганда 2)" in page  # warehouses in words
    assert "Зарезервировано под заказы: 3 (Караганда 2, Алматы, ул. Панфилова 1)" in page
    assert "В продаже: PP1: 4, PP2: нет в наличии" in page


@pytest.mark.django_db(transaction=True)
def test_a_pull_that_brings_an_order_queues_a_debounced_price_list_rebuild(kaspi, catalog_products):
    sandbox = kaspi()
    sandbox.add_order()
    pull_orders(days=1)
    asked = DeferredTask.objects.get(task="feeds.tasks.build_feed")
    assert asked.due_at > timezone.now()
    DeferredTask.objects.all().delete()
    pull_orders(days=1)  # nothing new: nothing asked
    assert not DeferredTask.objects.exists()


def test_marking_a_purchase_asks_the_price_list_to_follow(django_capture_on_commit_callbacks):
    a = product()
    o = order((a, 1, 13_990))
    with django_capture_on_commit_callbacks(execute=True):
        mark_entry_purchased(o.entries.get().pk, quantity=1, unit_price=9_000, document="АС-1", user=None)
    assert DeferredTask.objects.filter(task="feeds.tasks.build_feed").exists()
