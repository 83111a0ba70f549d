"""Reads of the price list: its configuration, the SKU prefix in use, the published version, fetches."""

import time
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from .models import FeedCity, FeedCityPriceOverride, FeedFetch, FeedResult, FeedSettings, FeedVersion, store_code
from .writer import City, FeedConfig, Store

SERVED_FIELDS = ("pk", "file", "sha256", "size", "gzip_size", "published_at")
SUCCESS_STATUSES = (200, 304)
FETCH_OVERDUE = timedelta(hours=2)  # Kaspi polls every 30-60 minutes
HELD_RESULTS = (FeedResult.REJECTED, FeedResult.INVALID)
SKU_PREFIX_TTL = 30.0  # seconds a process keeps the SKU prefix it read (orders map every entry)
_served: dict = {"value": None, "expires": 0.0}
_sku_prefix: dict = {"value": None, "expires": 0.0}


def sku_prefix() -> str:
    """The prefix of the merchant SKUs the price list publishes (catalog.sku.merchant_sku): the
    settings' value, FEED_SKU_PREFIX until the settings exist; read at most every SKU_PREFIX_TTL
    seconds per process."""
    now = time.monotonic()
    if _sku_prefix["expires"] < now:
        prefix = FeedSettings.objects.filter(pk=FeedSettings.SINGLETON_ID).values_list("sku_prefix", flat=True).first()
        _sku_prefix.update(value=settings.FEED_SKU_PREFIX if prefix is None else prefix, expires=now + SKU_PREFIX_TTL)
    return _sku_prefix["value"]


def forget_sku_prefix() -> None:
    """After the settings changed: the new SKU rule applies at once in this process."""
    _sku_prefix.update(value=None, expires=0.0)


def feed_config(feed: FeedSettings) -> FeedConfig:
    """Everything the writer needs, loaded once per build."""
    overrides: dict[int, dict[int, int]] = {}
    for city_id, product_id, price in FeedCityPriceOverride.objects.values_list("city_id", "product_id", "price"):
        overrides.setdefault(city_id, {})[product_id] = price
    cities = tuple(
        City(c.city_id, offset=c.offset, percent=Decimal(c.percent), overrides=overrides.get(c.pk, {}))
        for c in FeedCity.objects.filter(feed=feed)
    )
    stores = tuple(Store(s.store_id, s.pre_order_days, tuple(s.warehouses or ())) for s in feed.stores.all())
    return FeedConfig(
        company=feed.company,
        merchant_id=feed.merchant_id,
        sku_prefix=feed.sku_prefix,
        stock_threshold=feed.stock_threshold,
        stores=stores,
        cities=cities,
        retired_stores=tuple(c for c in feed.retired_stores or () if isinstance(c, str) and store_code.regex.match(c)),
    )


def published_version() -> FeedVersion | None:
    """The version Kaspi is served now: the last one published."""
    return FeedVersion.objects.filter(result=FeedResult.PUBLISHED).order_by("-published_at", "-pk").first()


def builds():
    """Versions that were real builds of the price list (not skipped, not written to a file only)."""
    return FeedVersion.objects.exclude(result__in=(FeedResult.SKIPPED, FeedResult.WRITTEN))


def newest_build() -> FeedVersion | None:
    return builds().order_by("-started_at", "-pk").first()


def held_version() -> FeedVersion | None:
    """The newest build, if it is held by the shrink guard (the one "Publish anyway" may publish)."""
    newest = newest_build()
    return newest if newest is not None and newest.result == FeedResult.REJECTED else None


def served_version() -> dict | None:
    """The few fields the public view needs, read at most every FEED_SERVE_CACHE_SECONDS per
    process: Kaspi's polling (and a 304 storm) then costs no database round trip, and a newly
    published version is served within that many seconds."""
    now = time.monotonic()
    if _served["expires"] > now:
        return _served["value"]
    value = (
        FeedVersion.objects.filter(result=FeedResult.PUBLISHED)
        .order_by("-published_at", "-pk")
        .values(*SERVED_FIELDS)
        .first()
    )
    _served.update(value=value, expires=now + settings.FEED_SERVE_CACHE_SECONDS)
    return value


def forget_served_version() -> None:
    """After publishing: this process serves the new version at once."""
    _served.update(value=None, expires=0.0)


def last_fetch() -> FeedFetch | None:
    """When the price list was last fetched successfully (a GET answered 200 or 304): by Kaspi,
    normally (a HEAD from a monitor does not count)."""
    return FeedFetch.objects.filter(status__in=SUCCESS_STATUSES, method="GET").order_by("-fetched_at", "-pk").first()


def versions_with_files():
    return FeedVersion.objects.exclude(file="").order_by("-started_at", "-pk")


def dashboard_status() -> dict:
    """The price list at a glance: what is live, whether the last build was held, Kaspi's last fetch."""
    published = published_version()
    last_build = newest_build()
    fetch = last_fetch()
    return {
        "feed_enabled": bool(settings.FEED_TOKEN),
        "published": published,
        "held": last_build if last_build is not None and last_build.result in HELD_RESULTS else None,
        "last_fetch": fetch,
        "fetch_overdue": published is not None and (fetch is None or timezone.now() - fetch.fetched_at > FETCH_OVERDUE),
        "overdue_hours": int(FETCH_OVERDUE.total_seconds() // 3600),
    }


# --- a version's changes against the version before it, for people -----------------------------
DIFF_PAGE = 100  # rows of each kind shown on the version page; the CSV has them all


def diff_rows(version: FeedVersion, limit: int | None = DIFF_PAGE) -> dict:
    """{"added"|"removed"|"price_changed"|"stock_changed"|"reserved_for_orders": [row]}, every row with the product's
    article and name: {sku, article, name, old_price, new_price, old_stock, new_stock}. Read in full
    from the two versions' offer snapshots while their files are kept (else from the version's
    stored diff, which holds the first entries of each kind); `limit` rows per kind (None: all)."""
    from catalog.models import Product
    from catalog.sku import article_for_sku

    from . import storage

    previous = version.previous
    old = storage.read_json_gz(previous.snapshot_file) if previous is not None else None
    new = storage.read_json_gz(version.snapshot_file)
    if old is not None and new is not None:
        kinds = {
            "added": [(sku, None, new[sku]) for sku in new if sku not in old],
            "removed": [(sku, old[sku], None) for sku in old if sku not in new],
            "price_changed": [(sku, old[sku], v) for sku, v in new.items() if sku in old and old[sku][0] != v[0]],
            "stock_changed": [
                (sku, old[sku], v) for sku, v in new.items() if sku in old and list(old[sku][1]) != list(v[1])
            ],
        }
        # of those, the changes reservations for orders alone made (the stocks without them, kept as
        # a snapshot entry's third item, did not move: services.diff_snapshots)
        kinds["reserved_for_orders"] = [(s, o, n) for s, o, n in kinds["stock_changed"] if list(o[-1]) == list(n[-1])]
    else:  # files pruned: what the version stored
        stored = version.diff or {}
        kinds = {
            "added": [(sku, None, None) for sku in stored.get("added", [])],
            "removed": [(sku, None, None) for sku in stored.get("removed", [])],
            "price_changed": [(sku, [o, []], [n, []]) for sku, o, n in stored.get("price_changed", [])],
            "stock_changed": [(sku, [None, o], [None, n]) for sku, o, n in stored.get("stock_changed", [])],
            "reserved_for_orders": [(sku, [None, o], [None, n]) for sku, o, n in stored.get("reserved_for_orders", [])],
        }
    if limit is not None:
        kinds = {kind: items[:limit] for kind, items in kinds.items()}
    prefix = sku_prefix()
    articles = {sku: article_for_sku(sku, prefix) for items in kinds.values() for sku, _, _ in items}
    names = dict(Product.objects.filter(article__in={a for a in articles.values() if a}).values_list("article", "name"))

    def stock(values):
        return None if values is None else sum(c for c in values[1] if isinstance(c, int))

    def row(sku, before, after):
        return {
            "sku": sku,
            "article": articles[sku],
            "name": names.get(articles[sku], ""),
            "old_price": before[0] if before else None,
            "new_price": after[0] if after else None,
            "old_stock": stock(before),
            "new_stock": stock(after),
        }

    return {kind: [row(*item) for item in items] for kind, items in kinds.items()}
