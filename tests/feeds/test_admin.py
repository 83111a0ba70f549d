"""Admin: settings, versions (build now, publish anyway, download, report), fetches, the URL."""

import pytest
from django.urls import reverse
from django.utils import translation

from catalog.models import Product
from feeds.models import FeedFetch, FeedResult, FeedVersion
from feeds.services import build_feed
from kaspisync.celery import app as celery_app
from kaspisync.models import DeferredTask
from tests.factories import make_staff

from .conftest import FEED_TOKEN

pytestmark = pytest.mark.django_db


def rebuild_asked() -> bool:
    """A price list rebuild waits in the outbox (feeds.rebuild.request_rebuild)."""
    return DeferredTask.objects.filter(task="feeds.tasks.build_feed").exists()


@pytest.fixture
def held(products, feed):
    items = products(10)
    build_feed()
    Product.objects.filter(pk__in=[p.pk for p in items[:5]]).update(is_active=False)
    version = build_feed()
    assert version.result == FeedResult.REJECTED
    return version


def test_pages_render_with_report_diff_and_url(admin_client, held, client):
    client.get(f"/feeds/{FEED_TOKEN}/kaspi.xml", HTTP_USER_AGENT="KaspiBot/2")
    listing = admin_client.get(reverse("admin:feeds_feedversion_changelist")).content.decode()
    assert "/feeds/***/kaspi.xml" in listing  # masked on the page ...
    assert f'data-url="http://testserver/feeds/{FEED_TOKEN}/kaspi.xml"' in listing  # ... whole in the copy button
    assert "KaspiBot/2" in listing
    assert "build-now/" in listing
    assert "Собрать сейчас" in listing
    assert "Последняя загрузка Kaspi" in listing  # Russian by default
    detail = admin_client.get(reverse("admin:feeds_feedversion_change", args=[held.pk])).content.decode()
    assert "publish-anyway" in detail
    assert "10" in detail
    fetches = admin_client.get(reverse("admin:feeds_feedfetch_changelist")).content.decode()
    assert "KaspiBot/2" in fetches
    settings_page = admin_client.get(reverse("admin:feeds_feedsettings_changelist"), follow=True)
    assert settings_page.status_code == 200
    assert "PP1" in settings_page.content.decode()


def test_copy_url_needs_the_build_permission(client, held):
    client.force_login(make_staff("viewer", "feeds.view_feedversion"))
    page = client.get(reverse("admin:feeds_feedversion_changelist")).content.decode()
    assert FEED_TOKEN not in page
    assert "/feeds/***/kaspi.xml" in page


def test_download_any_kept_version(admin_client, held):
    response = admin_client.get(reverse("admin:feeds_feedversion_download", args=[held.pk]))
    assert response.status_code == 200
    assert b"kaspi_catalog" in b"".join(response.streaming_content)
    assert "attachment" in response["Content-Disposition"]


def test_publish_anyway_is_permission_gated_and_recorded(client, held):
    url = reverse("admin:feeds_feedversion_publish_anyway", args=[held.pk])
    client.force_login(make_staff("viewer", "feeds.view_feedversion"))
    assert client.post(url).status_code == 403
    client.force_login(make_staff("boss", "feeds.view_feedversion", "feeds.publish_anyway"))
    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 302
    held.refresh_from_db()
    assert (held.result, held.published_by, held.forced) == (FeedResult.PUBLISHED, "boss", True)


def test_build_now_queues_on_commit(client, products, feed, django_capture_on_commit_callbacks):
    products(2)
    url = reverse("admin:feeds_feedversion_build_now")
    client.force_login(make_staff("viewer", "feeds.view_feedversion"))
    assert client.post(url).status_code == 403
    client.force_login(make_staff("ops", "feeds.view_feedversion", "feeds.build_feed"))
    celery_app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            assert client.post(url).status_code == 302
        assert len(callbacks) == 1
        assert not FeedVersion.objects.exists()  # nothing built in the request
        callbacks[0]()
    finally:
        celery_app.conf.task_always_eager = False
    version = FeedVersion.objects.get()
    assert (version.trigger, version.triggered_by, version.result) == ("admin", "ops", FeedResult.PUBLISHED)


def test_saving_settings_changes_the_sku_rule_and_asks_for_a_rebuild(admin_client, feed):
    from catalog.sku import article_for_sku, merchant_sku
    from feeds.selectors import sku_prefix

    assert merchant_sku(20908, sku_prefix()) == "AS20908"
    url = reverse("admin:feeds_feedsettings_change", args=[feed.pk])
    data = {
        "company": "Shop",
        "merchant_id": "123",
        "sku_prefix": "KZ",
        "stock_threshold": 1,
        "shrink_threshold": 20,
        "keep_versions": 5,
        "stores-TOTAL_FORMS": 1,
        "stores-INITIAL_FORMS": 1,
        "stores-0-id": feed.stores.get().pk,
        "stores-0-feed": feed.pk,
        "stores-0-store_id": "PP1",
        "stores-0-warehouses": "[]",
        "stores-0-position": 0,
        "cities-TOTAL_FORMS": 0,
        "cities-INITIAL_FORMS": 0,
    }
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert rebuild_asked()
    assert sku_prefix() == "KZ"
    assert merchant_sku(20908, sku_prefix()) == "KZ20908"
    assert article_for_sku("KZ20908", sku_prefix()) == 20908


def test_a_city_price_override_asks_for_a_rebuild(admin_client, feed, make_product):
    from feeds.models import FeedCity, FeedCityPriceOverride

    city = FeedCity.objects.create(feed=feed, city_id="750000000")
    product = make_product()
    response = admin_client.post(
        reverse("admin:feeds_feedcitypriceoverride_add"), {"product": product.pk, "city": city.pk, "price": 9990}
    )
    assert response.status_code == 302
    assert rebuild_asked()
    override = FeedCityPriceOverride.objects.get()
    DeferredTask.objects.all().delete()
    admin_client.post(reverse("admin:feeds_feedcitypriceoverride_delete", args=[override.pk]), {"post": "yes"})
    assert rebuild_asked()
    assert not FeedCityPriceOverride.objects.exists()


def test_fetch_log_is_read_only(admin_client):
    assert admin_client.get(reverse("admin:feeds_feedfetch_add")).status_code == 403
    assert not FeedFetch.objects.exists()


def test_city_offsets_that_would_price_products_at_zero_are_refused(feed, make_product):
    from django.core.exceptions import ValidationError

    from feeds.models import FeedCity

    make_product(sale_price=990)
    make_product(sale_price=50_000)
    FeedCity(feed=feed, city_id="710000000", offset=-500).full_clean()  # 490 ₸: fine
    with pytest.raises(ValidationError, match="990 ₸.*-10 ₸"):
        FeedCity(feed=feed, city_id="710000000", offset=-1000).full_clean()
    with pytest.raises(ValidationError):
        FeedCity(feed=feed, city_id="710000000", percent=-100).full_clean()


def test_the_diff_names_products_and_reads_old_to_new(admin_client, products, feed):
    """Issue 13 item 12: product names, prices old → new with arrows and percent, added and
    removed offers, the full list downloadable; the versions list summarises in words."""
    items = products(150)
    build_feed()
    Product.objects.filter(pk=items[0].pk).update(sale_price=14_289)  # 12 990 -> 14 289: +10 %
    Product.objects.filter(pk__in=[p.pk for p in items[1:121]]).update(stock=0)
    Product.objects.filter(pk=items[149].pk).update(is_active=False)
    version = build_feed(force=True)
    assert version.diff["counts"]["price_changed"] == 1, version.diff["counts"]
    page = admin_client.get(reverse("admin:feeds_feedversion_change", args=[version.pk])).content.decode()
    assert "Товар 0" in page
    assert "12\u00a0990\u00a0₸ → 14\u00a0289\u00a0₸" in page
    assert "↑ +10,0\u00a0%" in page
    assert "Товар 149" in page, version.diff["counts"]
    assert "Товар 100<" in page
    assert "Товар 101<" not in page  # the first 100 stock changes
    assert "… и ещё 20 — в CSV" in page  # 120 stock changes, 100 shown
    listing = admin_client.get(reverse("admin:feeds_feedversion_changelist")).content.decode()
    assert "1 цена изменена" in listing
    assert "120 остатков изменено" in listing
    response = admin_client.get(reverse("admin:feeds_feedversion_diff", args=[version.pk]))
    text = response.content.decode("utf-8-sig")
    assert response.content.startswith("\ufeff".encode())
    assert len(text.strip().splitlines()) == 1 + 1 + 1 + 120
    assert "Товар 119;" in text or ";Товар 119;" in text


def test_the_version_page_lists_the_offers_left_out_in_russian(admin_client, products, feed):
    items = products(10)
    Product.objects.filter(pk=items[2].pk).update(name="\x01")
    with translation.override("ru"):  # a worker builds in the site's language
        version = build_feed()
        assert version.dropped_offers == 1
        page = admin_client.get(reverse("admin:feeds_feedversion_change", args=[version.pk])).content.decode()
        listing = admin_client.get(reverse("admin:feeds_feedversion_changelist")).content.decode()
    assert "Предложения, не попавшие в прайс-лист, и почему" in page
    assert f"AS{items[2].article}" in page
    assert f"У SKU AS{items[2].article} нет названия" in page
    assert "Не попало в прайс-лист" in listing
