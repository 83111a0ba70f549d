import pytest
from django.utils import translation

from feeds.models import FeedSettings, FeedStore

FEED_TOKEN = "feed-test-token-4f9a2c71"


@pytest.fixture(autouse=True)
def feed_env(settings, tmp_path):
    """Files in a temporary storage dir, a known token, English diagnoses (tests read them)."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.FEED_TOKEN = FEED_TOKEN
    settings.KASPI_COMPANY_NAME = "Test Shop"
    settings.KASPI_MERCHANT_ID = "30001234"
    settings.FEED_STORE_IDS = ["PP1"]
    settings.FEED_FETCH_LOG_SECONDS = 0  # fetches written at once (the batching has its own test)
    settings.FEED_SERVE_CACHE_SECONDS = 0  # the published version read on every request
    from feeds.selectors import forget_sku_prefix

    forget_sku_prefix()
    with translation.override("en"):
        yield
    forget_sku_prefix()


@pytest.fixture
def products(make_product):  # make_product: tests/conftest.py
    """make many: products(n, **fields) -> list."""

    def make_many(n, **fields):
        return [make_product(name=f"Товар {i}", **fields) for i in range(n)]

    return make_many


@pytest.fixture
def feed(db):
    from feeds.services import feed_settings

    return feed_settings()


def add_store(feed: FeedSettings, store_id: str, **fields) -> FeedStore:
    return FeedStore.objects.create(feed=feed, store_id=store_id, position=feed.stores.count(), **fields)
