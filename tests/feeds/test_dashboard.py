"""The price list's dashboard panel: what is live, a held build, Kaspi's last fetch."""

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import Product
from feeds.models import FeedFetch
from feeds.services import build_feed

from .conftest import FEED_TOKEN

pytestmark = pytest.mark.django_db


def dashboard(client) -> str:
    response = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    return response.content.decode()


def test_published_version_held_build_and_fetches(admin_client, products, feed, client):
    assert "No price list has been published yet." in dashboard(admin_client)
    items = products(10)
    build_feed()
    page = dashboard(admin_client)
    assert "10 offers, 10 available" in page
    assert "Kaspi has not fetched the price list yet" in page

    client.get(f"/feeds/{FEED_TOKEN}/kaspi.xml", HTTP_USER_AGENT="KaspiBot")
    page = dashboard(admin_client)
    assert "Kaspi last fetched it" in page
    assert "(HTTP 200)" in page
    assert "has not fetched" not in page

    FeedFetch.objects.update(fetched_at=timezone.now() - timedelta(hours=3))
    assert "Kaspi has not fetched the price list for more than 2 hours" in dashboard(admin_client)

    Product.objects.filter(pk__in=[p.pk for p in items[:5]]).update(is_active=False)
    held = build_feed()
    page = dashboard(admin_client)
    assert "was not published" in page
    assert "The previous price list stays live." in page
    assert f"/admin/feeds/feedversion/{held.pk}/change/" in page
    assert "10 offers, 10 available" in page  # still the live one


def test_without_a_token_the_panel_says_the_list_is_not_served(admin_client, settings):
    settings.FEED_TOKEN = ""
    assert "The price list is not served: FEED_TOKEN is not set." in dashboard(admin_client)
