"""Price list alerts: a held or invalid build (in its transaction, once per published version),
and Kaspi not fetching the price list for two hours."""

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from alerts.models import Alert, Kind
from catalog.models import Product
from feeds.models import FeedFetch, FeedResult, FeedVersion
from feeds.notices import check_fetches
from feeds.services import build_feed

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def russian():
    with translation.override("ru"):  # the feeds tests read English; alerts are Russian anyway
        yield


def test_a_held_build_is_announced_once_while_the_same_version_is_live(products, feed):
    items = products(10)
    build_feed()
    assert not Alert.objects.exists()
    Product.objects.filter(pk__in=[p.pk for p in items[:3]]).update(is_active=False)  # -30 %
    held = build_feed()
    assert held.result == FeedResult.REJECTED
    alert = Alert.objects.get(kind=Kind.FEED_HELD)
    assert alert.title.startswith("Новый прайс-лист задержан")
    assert any("10" in line and "7" in line for line in alert.lines)
    assert alert.link == f"/admin/feeds/feedversion/{held.pk}/change/"
    build_feed()  # held again, against the same live version: no second alert
    assert Alert.objects.filter(kind=Kind.FEED_HELD).count() == 1


def test_an_invalid_build_is_announced_with_its_errors(products, feed):
    items = products(3)
    build_feed()
    feed.company = "\x01\x02"  # empty after cleaning: the whole document is invalid (one bad offer is left out)
    feed.save()
    invalid = build_feed(force=True)
    assert invalid.result == FeedResult.INVALID
    assert items
    alert = Alert.objects.get(kind=Kind.FEED_HELD)
    assert alert.title == "Новый прайс-лист не прошёл проверку: остаётся действующий"
    assert any("company" in line for line in alert.lines), alert.lines


def test_kaspi_not_fetching_for_two_hours_is_announced_once_per_last_fetch(products, feed):
    products(2)
    version = build_feed()
    now = timezone.now()
    assert check_fetches(now + timedelta(hours=1)) is None
    alert = check_fetches(now + timedelta(hours=2, minutes=1))  # never fetched since publication
    assert alert.title.startswith("Kaspi ещё ни разу не забрал прайс-лист")
    FeedFetch.objects.create(fetched_at=now, status=200, method="GET", version=version)
    assert check_fetches(now + timedelta(hours=1, minutes=59)) is None
    alert = check_fetches(now + timedelta(hours=3))
    assert alert.title == "Kaspi не забирает прайс-лист 3\xa0часа"
    assert check_fetches(now + timedelta(hours=4)) is None  # once for that last fetch
    assert Alert.objects.filter(kind=Kind.FEED_NOT_FETCHED).count() == 2


def test_no_alert_before_anything_is_published(feed):
    assert not FeedVersion.objects.exists()
    assert check_fetches(timezone.now() + timedelta(days=1)) is None


def test_offers_left_out_of_a_build_are_announced_once_per_set_of_offers(products, feed):
    items = products(10)
    build_feed()
    Product.objects.filter(pk=items[4].pk).update(name="\x01\x02")  # no name after cleaning: left out
    version = build_feed()
    assert version.result == FeedResult.PUBLISHED
    assert version.dropped_offers == 1
    [alert] = Alert.objects.filter(kind=Kind.FEED_OFFERS_DROPPED)
    assert alert.title == "1 предложение не попало в прайс-лист: не прошло проверку"
    assert alert.lines[0].startswith(f"AS{items[4].article} ({items[4].article}): ")
    assert alert.link == f"/admin/feeds/feedversion/{version.pk}/change/"
    Product.objects.filter(pk=items[5].pk).update(sale_price=13_990)  # another build, the same offer left out
    build_feed()
    assert Alert.objects.filter(kind=Kind.FEED_OFFERS_DROPPED).count() == 1
    Product.objects.filter(pk=items[6].pk).update(name="\x01")  # a new one left out: announced
    build_feed()
    assert Alert.objects.filter(kind=Kind.FEED_OFFERS_DROPPED).count() == 2
