"""The feed-fetch log stays bounded: requests with a wrong token are counted per day and address
(one row each, whatever their number), never stored one by one; real fetches are kept 90 days,
wrong-token counts 30, pruned by a scheduled task (issue 9, item 8)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from feeds.fetchlog import prune_fetch_log
from feeds.models import FeedFetch, FeedProbe
from feeds.services import build_feed
from kaspisync.schedule import beat_schedule

from .conftest import FEED_TOKEN

URL = f"/feeds/{FEED_TOKEN}/kaspi.xml"
pytestmark = pytest.mark.django_db


@pytest.fixture
def published(products, feed):
    products(2)
    return build_feed()


def test_wrong_token_requests_are_counted_not_stored_one_by_one(client, published):
    for n in range(300):
        response = client.get(f"/feeds/guess-{n}/kaspi.xml", HTTP_USER_AGENT="x" * 300, REMOTE_ADDR="203.0.113.7")
        assert response.status_code == 404
        assert response.content == b"Not Found"
    client.get("/feeds/guess/kaspi.xml", REMOTE_ADDR="203.0.113.8")
    assert FeedFetch.objects.count() == 0
    probes = {p.ip: p for p in FeedProbe.objects.all()}
    assert set(probes) == {"203.0.113.7", "203.0.113.8"}
    assert probes["203.0.113.7"].count == 300
    assert len(probes["203.0.113.7"].user_agent) <= 100
    assert client.get(URL, REMOTE_ADDR="195.210.46.10").status_code == 200
    fetch = FeedFetch.objects.get()
    assert fetch.ip == "195.210.46.10"
    assert fetch.status == 200


def test_the_right_token_with_nothing_published_is_a_fetch(client, products, feed):
    assert client.get(URL).status_code == 404
    assert FeedFetch.objects.get().status == 404
    assert not FeedProbe.objects.exists()


def test_addresses_beyond_the_daily_cap_share_one_row(client, published, settings):
    settings.FEED_PROBE_MAX_ADDRESSES = 3
    for n in range(10):
        client.get("/feeds/nope/kaspi.xml", REMOTE_ADDR=f"198.51.100.{n}")
    assert FeedProbe.objects.count() == 4
    assert FeedProbe.objects.get(ip="").count == 7  # the rest, counted together


@pytest.mark.django_db(transaction=True)
def test_batched_wrong_token_counts_add_up(client, published, settings):
    import time

    settings.FEED_FETCH_LOG_SECONDS = 0.2
    for _ in range(5):
        client.get("/feeds/nope/kaspi.xml", REMOTE_ADDR="203.0.113.9")
    deadline = time.monotonic() + 5
    while not FeedProbe.objects.filter(count=5).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    for _ in range(2):
        client.get("/feeds/nope/kaspi.xml", REMOTE_ADDR="203.0.113.9")
    while not FeedProbe.objects.filter(count=7).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert FeedProbe.objects.get().count == 7


def test_prune_keeps_real_fetches_ninety_days_and_wrong_token_counts_thirty(published):
    now = timezone.now()
    for days in (1, 89, 91, 400):
        FeedFetch.objects.create(fetched_at=now - timedelta(days=days), status=200, method="GET")
    for days in (1, 29, 31):
        at = now - timedelta(days=days)
        FeedProbe.objects.create(day=at.date(), ip=f"203.0.113.{days}", count=5, first_at=at, last_at=at)
    assert prune_fetch_log(now) == {"fetches": 2, "wrong_token": 1}
    kept = sorted((now - f.fetched_at).days for f in FeedFetch.objects.all())
    assert kept == [1, 89]
    assert sorted(p.ip for p in FeedProbe.objects.all()) == ["203.0.113.1", "203.0.113.29"]


def test_the_prune_is_scheduled_daily():
    entry = beat_schedule()["feeds-prune-fetch-log"]
    assert entry["task"] == "feeds.tasks.prune_fetch_log"
    assert entry["schedule"] == 24 * 60 * 60
