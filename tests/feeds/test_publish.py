"""Building, the shrink guard, publishing, versions, the debounced rebuild, the command."""

import threading
from unittest.mock import patch

import pytest
from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from lxml import etree

from catalog.models import Product
from catalog.signals import catalog_changed
from feeds import rebuild, services, storage
from feeds.models import FeedResult, FeedVersion
from feeds.services import FeedError, build_feed, publish_anyway
from feeds.validation import validate_file
from kaspisync.models import RunStatus

pytestmark = pytest.mark.django_db


def read(name: str) -> bytes:
    with default_storage.open(name, "rb") as fh:
        return fh.read()


def test_first_build_publishes_and_an_unchanged_one_does_not(products, feed):
    products(3)
    first = build_feed()
    assert (first.result, first.status, first.offers, first.available_offers) == ("published", "success", 3, 3)
    assert first.published_at
    assert len(first.sha256) == 64
    assert first.size == len(read(first.file))
    assert read(storage.CURRENT_NAME) == read(first.file)
    assert read(first.gzip_file)[:2] == b"\x1f\x8b"
    second = build_feed()
    assert second.result == FeedResult.UNCHANGED
    assert second.file == ""
    assert second.offers_sha256 == first.offers_sha256
    assert FeedVersion.objects.filter(result=FeedResult.PUBLISHED).count() == 1


def test_diff_counts_against_the_published_version(products, make_product, feed):
    items = products(10, stock=5)
    build_feed()
    Product.objects.filter(pk=items[0].pk).update(sale_price=15000)
    Product.objects.filter(pk=items[1].pk).update(stock=0)
    Product.objects.filter(pk=items[2].pk).update(is_active=False)
    make_product(name="Новый")
    version = build_feed()
    assert version.result == FeedResult.PUBLISHED
    assert version.diff["counts"] == {
        "added": 1,
        "removed": 1,
        "price_changed": 1,
        "stock_changed": 1,
        "reserved_for_orders": 0,
    }
    sku = f"AS{items[0].article}"
    assert version.diff["price_changed"] == [[sku, 12990, 15000]]
    assert version.diff["removed"] == [f"AS{items[2].article}"]


def test_empty_feed_is_never_published_even_forced(feed):
    version = build_feed(force=True)
    assert version.result == FeedResult.INVALID
    assert not version.published_at
    assert any("no offers" in r.lower() for r in version.reasons)
    assert not default_storage.exists(storage.CURRENT_NAME)


def test_shrink_guard_holds_then_publish_anyway_records_who(products, feed):
    items = products(10)
    good = build_feed()
    Product.objects.filter(pk__in=[p.pk for p in items[:3]]).update(is_active=False)  # -30 %
    held = build_feed()
    assert held.result == FeedResult.REJECTED
    assert held.published_at is None
    assert any("10" in r and "7" in r for r in held.reasons)
    assert read(storage.CURRENT_NAME) == read(good.file)  # the last good one stays live
    assert services.selectors.published_version().pk == good.pk
    staff = User.objects.create_user("anna", is_staff=True)
    published = publish_anyway(held.pk, user=staff)
    assert (published.result, published.published_by, published.forced) == ("published", "anna", True)
    assert read(storage.CURRENT_NAME) == read(held.file)
    with pytest.raises(FeedError):
        publish_anyway(held.pk, user=staff)  # already published


def test_supplier_glitch_with_zero_stock_everywhere_is_held(products, feed):
    products(5, stock=3)
    build_feed()
    Product.objects.update(stock=0)
    held = build_feed()
    assert held.result == FeedResult.REJECTED
    assert held.available_offers == 0
    assert held.offers == 5


def test_force_publishes_past_the_shrink_guard_but_not_past_errors(products, feed):
    items = products(5)
    build_feed()
    Product.objects.filter(pk__in=[p.pk for p in items[:3]]).update(is_active=False)
    forced = build_feed(force=True)
    assert forced.result == FeedResult.PUBLISHED
    assert forced.forced
    feed.company = "\x01\x02"  # empty after cleaning: the whole document is invalid
    feed.save()
    invalid = build_feed(force=True)
    assert invalid.result == FeedResult.INVALID
    assert any("company" in e for e in invalid.errors)


def test_one_offer_that_fails_the_checks_is_left_out_and_the_rest_published(products, feed, tmp_path):
    """Issue 9, item 2: a sale price beyond the schema made the whole candidate invalid, so no
    price or stock reached Kaspi until someone found that product."""
    items = products(10)
    build_feed()
    Product.objects.filter(pk=items[3].pk).update(sale_price=2_000_000_000)  # 10 digits: passes
    Product.objects.filter(pk=items[4].pk).update(name="\x01\x02")  # no name after cleaning
    Product.objects.filter(pk=items[5].pk).update(sale_price=13_990)  # a real change to publish
    version = build_feed()
    assert version.result == FeedResult.PUBLISHED
    assert version.offers == 9
    assert version.dropped_offers == 1
    (dropped,) = version.dropped
    assert dropped["sku"] == f"AS{items[4].article}"
    assert "no name" in dropped["reason"]
    assert dropped["article"] == items[4].article
    path = tmp_path / "published.xml"
    with default_storage.open(version.file, "rb") as fh:
        path.write_bytes(fh.read())
    assert validate_file(path) == []
    assert f'sku="AS{items[4].article}"'.encode() not in path.read_bytes()
    assert f'sku="AS{items[3].article}"'.encode() in path.read_bytes()
    assert b">13990<" in path.read_bytes()


def test_a_mass_drop_is_held_by_the_shrink_guard(products, feed):
    items = products(10)
    build_feed()
    Product.objects.filter(pk__in=[p.pk for p in items[:4]]).update(name="\x01")
    held = build_feed()
    assert held.result == FeedResult.REJECTED
    assert held.dropped_offers == 4
    assert any("dropped from 10 to 6" in r for r in held.reasons)
    assert any("4 of 10 offers failed the checks" in r for r in held.reasons)


def test_a_first_build_that_drops_most_offers_is_held_too(products, feed):
    items = products(5)
    Product.objects.filter(pk__in=[p.pk for p in items[:3]]).update(name="\x01")
    first = build_feed()
    assert first.result == FeedResult.REJECTED
    assert first.dropped_offers == 3
    assert first.reasons == ["3 of 5 offers failed the checks and were left out (more than 20 %)."]


def test_older_held_version_cannot_roll_back(products, feed):
    items = products(10)
    build_feed()
    Product.objects.filter(pk__in=[p.pk for p in items[:5]]).update(is_active=False)
    held = build_feed()
    Product.objects.update(is_active=True, sale_price=13990)
    assert build_feed().result == FeedResult.PUBLISHED
    with pytest.raises(FeedError):
        publish_anyway(held.pk, user=User.objects.create_user("b"))


def test_a_held_version_cannot_be_published_over_a_newer_build(products, feed):
    items = products(10)
    build_feed()
    Product.objects.filter(pk__in=[p.pk for p in items[:5]]).update(is_active=False)
    older = build_feed()
    Product.objects.filter(pk=items[9].pk).update(sale_price=1)
    newer = build_feed()
    assert (older.result, newer.result) == (FeedResult.REJECTED, FeedResult.REJECTED)
    with pytest.raises(FeedError, match="newer build"):
        publish_anyway(older.pk, user=User.objects.create_user("b"))
    assert publish_anyway(newer.pk, user=User.objects.get(username="b")).result == FeedResult.PUBLISHED


def test_a_changed_sku_rule_that_renames_every_sku_is_held(products, feed):
    products(10)
    build_feed()
    feed.sku_prefix = "KZ"
    feed.save()
    services.settings_changed()  # what saving the settings does
    held = build_feed()
    assert held.result == FeedResult.REJECTED
    assert held.offers == 10
    assert held.diff["counts"]["removed"] == 10
    assert any("10 of the 10 SKUs published now would disappear" in r for r in held.reasons)


def test_only_one_build_at_a_time(products, feed):
    products(1)
    from kaspisync import locks

    lock = locks.acquire(services.LOCK_NAME)
    try:
        skipped = build_feed()
    finally:
        lock.release()
    assert skipped.status == RunStatus.SKIPPED
    assert skipped.result == FeedResult.SKIPPED


def test_versions_beyond_keep_lose_their_files_but_not_the_published_one(products, feed):
    items = products(3)
    feed.keep_versions = 2
    feed.save()
    versions = []
    for price in (1000, 2000, 3000, 4000):
        Product.objects.filter(pk=items[0].pk).update(sale_price=price)
        versions.append(build_feed())
    assert all(v.result == FeedResult.PUBLISHED for v in versions)
    kept = list(FeedVersion.objects.exclude(file="").values_list("pk", flat=True))
    assert sorted(kept) == [versions[2].pk, versions[3].pk]
    assert not default_storage.exists(versions[0].file)
    assert FeedVersion.objects.count() == 4  # the records stay


def test_rows_of_builds_that_changed_nothing_are_kept_a_month(products, feed):
    from datetime import timedelta

    from django.utils import timezone

    products(3)
    published = build_feed()
    old_unchanged, recent_unchanged = build_feed(), build_feed()
    assert old_unchanged.result == recent_unchanged.result == FeedResult.UNCHANGED
    FeedVersion.objects.filter(pk=old_unchanged.pk).update(started_at=timezone.now() - timedelta(days=31))
    FeedVersion.objects.filter(pk=published.pk).update(started_at=timezone.now() - timedelta(days=400))
    services.prune_versions()
    assert set(FeedVersion.objects.values_list("pk", flat=True)) == {published.pk, recent_unchanged.pk}


def test_pruning_spares_the_held_version_staff_may_still_publish(products, feed):
    items = products(10)
    feed.keep_versions = 1
    feed.save()
    published = build_feed()
    Product.objects.filter(pk__in=[p.pk for p in items[:5]]).update(is_active=False)
    held = build_feed()
    assert held.result == FeedResult.REJECTED
    Product.objects.filter(pk=items[9].pk).update(sale_price=1)
    invalid_or_held_again = build_feed()  # a newer held build: the older one may go, this one stays
    assert invalid_or_held_again.result == FeedResult.REJECTED
    published.refresh_from_db()
    invalid_or_held_again.refresh_from_db()
    assert default_storage.exists(published.file)
    assert default_storage.exists(invalid_or_held_again.file)


@pytest.mark.django_db(transaction=True)
def test_publishing_is_atomic_for_concurrent_readers(products, feed):
    items = products(300)
    payloads = set()
    build_feed()
    payloads.add(read(storage.CURRENT_NAME))
    path = default_storage.path(storage.CURRENT_NAME)
    stop, seen, broken = threading.Event(), set(), []

    def reader():
        while not stop.is_set():
            with open(path, "rb") as fh:
                data = fh.read()
            try:
                etree.fromstring(data)
            except etree.XMLSyntaxError:
                broken.append(len(data))
            seen.add(data)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for price in range(20000, 20005):
            Product.objects.filter(pk=items[0].pk).update(sale_price=price)
            version = build_feed()
            assert version.result == FeedResult.PUBLISHED
            payloads.add(read(version.file))
    finally:
        stop.set()
        thread.join()
    assert not broken
    assert seen <= payloads
    assert len(seen) >= 2


def test_burst_of_catalog_changes_asks_for_one_build_that_beat_queues_when_due(products, feed, settings):
    """The changes write one outbox row (not a message); the build is queued once it is due, by
    beat's round (kaspisync.runs.send_deferred_tasks), and runs once for the whole burst."""
    from datetime import timedelta

    from django.utils import timezone

    import feeds.tasks  # noqa: F401  registered, as in the worker that runs beat's round
    from kaspisync.celery import app as celery_app
    from kaspisync.models import DeferredTask
    from kaspisync.runs import send_deferred_tasks

    settings.FEED_REBUILD_DELAY = 60
    products(2)
    before = timezone.now()
    for _ in range(5):
        catalog_changed.send(sender=Product, reason="pricing", product_count=1)
    row = DeferredTask.objects.get()
    assert (row.task, row.kwargs) == ("feeds.tasks.build_feed", {"trigger": "chain"})
    assert row.due_at >= before + timedelta(seconds=60)
    assert row.requested_at > row.due_at - timedelta(seconds=60)  # the last request of the burst
    assert send_deferred_tasks() == []  # not due yet: nothing queued, nothing built
    assert FeedVersion.objects.count() == 0
    celery_app.conf.task_always_eager = True
    try:
        assert send_deferred_tasks(now=row.due_at) == ["feeds.tasks.build_feed"]
    finally:
        celery_app.conf.task_always_eager = False
    assert FeedVersion.objects.count() == 1
    assert FeedVersion.objects.get().trigger == "chain"
    assert not DeferredTask.objects.exists()


def test_debounce_window_reopens_once_the_build_was_queued(feed, settings):
    from django.utils import timezone

    import feeds.tasks  # noqa: F401  registered, as in the worker that runs beat's round
    from kaspisync.models import DeferredTask
    from kaspisync.runs import send_deferred_tasks

    settings.FEED_REBUILD_DELAY = 600
    assert rebuild.request_rebuild("a") is True
    assert rebuild.request_rebuild("b") is False
    with patch("feeds.tasks.build_feed.apply_async") as queued:
        assert send_deferred_tasks(now=timezone.now()) == []  # still inside the window
        assert send_deferred_tasks(now=DeferredTask.objects.get().due_at) == ["feeds.tasks.build_feed"]
    assert queued.call_count == 1
    args, kwargs = queued.call_args
    assert {"trigger": "chain"} in (*args, *kwargs.values())
    assert rebuild.request_rebuild("c") is True


def test_a_request_rolled_back_with_its_change_asks_for_nothing(feed):
    from django.db import transaction

    from kaspisync.models import DeferredTask

    with pytest.raises(RuntimeError), transaction.atomic():
        catalog_changed.send(sender=Product, reason="pricing", product_count=1)
        assert DeferredTask.objects.count() == 1
        raise RuntimeError("the change failed")
    assert not DeferredTask.objects.exists()


def test_command_exit_codes(products, feed, tmp_path, capsys):
    items = products(5)
    call_command("build_feed")
    assert "5 offers" in capsys.readouterr().out
    Product.objects.filter(pk__in=[p.pk for p in items[:4]]).update(is_active=False)
    with pytest.raises(CommandError):
        call_command("build_feed")
    assert "dropped" in capsys.readouterr().out
    call_command("build_feed", "--force")
    out = tmp_path / "kaspi.xml"
    published_before = FeedVersion.objects.filter(result=FeedResult.PUBLISHED).count()
    call_command("build_feed", "--output", str(out))
    assert etree.parse(str(out)).getroot().tag == "{kaspiShopping}kaspi_catalog"
    assert FeedVersion.objects.filter(result=FeedResult.PUBLISHED).count() == published_before
    Product.objects.update(is_active=False)
    with pytest.raises(CommandError):
        call_command("build_feed", "--force")
