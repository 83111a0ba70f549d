"""GET /feeds/<token>/kaspi.xml as Kaspi's robot sees it."""

import gzip

import pytest
from django.core.files.storage import default_storage

from feeds.models import FeedFetch
from feeds.services import build_feed

from .conftest import FEED_TOKEN

pytestmark = pytest.mark.django_db
URL = f"/feeds/{FEED_TOKEN}/kaspi.xml"
UA = "Kaspi-PriceList-Loader/1.0"


@pytest.fixture
def published(products, feed):
    products(3)
    return build_feed()


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_serves_the_published_file_with_validators(client, published):
    response = client.get(URL, HTTP_USER_AGENT=UA, REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml; charset=utf-8"
    assert response["ETag"] == f'"{published.sha256}"'
    assert response["Last-Modified"]
    assert "Accept-Encoding" in response["Vary"]
    with default_storage.open(published.file, "rb") as fh:
        assert body(response) == fh.read()
    fetch = FeedFetch.objects.get()
    assert (fetch.status, fetch.ip, fetch.user_agent, fetch.bytes_sent, fetch.version_id) == (
        200,
        "10.1.2.3",
        UA,
        published.size,
        published.pk,
    )


def test_conditional_requests_get_304(client, published):
    first = client.get(URL)
    by_etag = client.get(URL, HTTP_IF_NONE_MATCH=first["ETag"])
    assert by_etag.status_code == 304
    assert by_etag.content == b""
    by_date = client.get(URL, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    assert by_date.status_code == 304
    stale = client.get(URL, HTTP_IF_NONE_MATCH='"something-else"')
    assert stale.status_code == 200
    assert list(FeedFetch.objects.order_by("id").values_list("status", "bytes_sent")) == [
        (200, published.size),
        (304, 0),
        (304, 0),
        (200, published.size),
    ]


def test_gzip_when_accepted(client, published):
    response = client.get(URL, HTTP_ACCEPT_ENCODING="gzip, deflate")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    with default_storage.open(published.file, "rb") as fh:
        assert gzip.decompress(body(response)) == fh.read()
    assert response["ETag"] != f'"{published.sha256}"'  # another representation, another tag
    again = client.get(URL, HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304
    assert FeedFetch.objects.filter(gzip=True).count() == 2


@pytest.mark.parametrize("header", ["gzip;q=0", "deflate, gzip; q=0.0", "identity", "br", "x-gzip-ish"])
def test_no_gzip_when_refused_or_not_listed(client, published, header):
    response = client.get(URL, HTTP_ACCEPT_ENCODING=header)
    assert response.status_code == 200
    assert not response.has_header("Content-Encoding")


def test_fetcher_address_behind_our_proxy_and_last_fetch_counts_gets_only(client, published, settings):
    from feeds.selectors import last_fetch

    client.head(URL)
    assert last_fetch() is None  # a monitor's HEAD is not Kaspi fetching the list
    settings.FEED_TRUSTED_PROXIES = ["127.0.0.1", "10.0.0.2"]
    client.get(URL, HTTP_X_FORWARDED_FOR="6.6.6.6, 195.210.46.10, 10.0.0.2", REMOTE_ADDR="127.0.0.1")
    assert last_fetch().ip == "195.210.46.10"  # the left-most entry is whatever the client claimed
    settings.FEED_TRUSTED_PROXIES = []
    client.get(URL, HTTP_X_FORWARDED_FOR="6.6.6.6", REMOTE_ADDR="195.210.46.11")
    assert last_fetch().ip == "195.210.46.11"  # no trusted proxy: the header is ignored


def test_head_has_headers_and_no_body(client, published):
    response = client.head(URL)
    assert response.status_code == 200
    assert response.content == b""
    assert response["Content-Length"] == str(published.size)
    assert response["ETag"]


def test_wrong_or_disabled_token_is_a_plain_404(client, published, settings):
    wrong = client.get("/feeds/not-the-token/kaspi.xml")
    assert wrong.status_code == 404
    assert wrong.content == b"Not Found"
    assert not FeedFetch.objects.exists()  # counted per day and address instead (test_fetch_log.py)
    settings.FEED_TOKEN = ""
    assert client.get("/feeds//kaspi.xml").status_code == 404
    assert client.get(URL).status_code == 404


def test_nothing_published_yet_is_404_and_never_builds(client, products, feed):
    products(2)
    assert client.get(URL).status_code == 404
    from feeds.models import FeedVersion

    assert not FeedVersion.objects.exists()


def test_post_is_not_allowed(client, published):
    assert client.post(URL).status_code == 405


def test_new_version_changes_etag(client, published):
    from catalog.models import Product

    first = client.get(URL)["ETag"]
    Product.objects.update(sale_price=15990)
    build_feed()
    response = client.get(URL, HTTP_IF_NONE_MATCH=first)
    assert response.status_code == 200
    assert response["ETag"] != first


@pytest.mark.django_db(transaction=True)
def test_fetches_are_batched_by_a_timer(client, products, feed, settings):
    import time

    products(1)
    build_feed()
    settings.FEED_FETCH_LOG_SECONDS = 0.2
    for _ in range(3):
        assert client.get(URL).status_code == 200
    assert FeedFetch.objects.count() == 0  # not written inside the requests
    deadline = time.monotonic() + 5
    while FeedFetch.objects.count() < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert FeedFetch.objects.count() == 3


def test_published_version_is_cached_per_process_and_forgotten_on_publish(
    client, published, settings, django_capture_on_commit_callbacks
):
    from catalog.models import Product
    from feeds.models import FeedVersion

    settings.FEED_SERVE_CACHE_SECONDS = 60
    first = client.get(URL)["ETag"]
    FeedVersion.objects.filter(pk=published.pk).update(sha256="0" * 64)  # behind the cache's back
    assert client.get(URL)["ETag"] == first  # served from the cache
    Product.objects.update(sale_price=15990)
    with django_capture_on_commit_callbacks(execute=True):
        version = build_feed()
    assert client.get(URL)["ETag"] == f'"{version.sha256}"'
