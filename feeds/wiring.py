"""What the price list adds to the shared plumbing (kaspisync.registry), registered in
FeedsConfig.ready(): the feed URL configuration check, the dashboard panel and the build job;
and, to catalog, the stores the price list offers stock at (catalog.reservations)."""

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from kaspisync import registry

BUILD_LOCK = "feeds.build"  # the build's job lock (feeds.services)

# The price list's stores, cities and city prices: edited by price managers (kaspisync.roles).
SETTINGS_MODELS = ("feedstore", "feedcity", "feedcitypriceoverride")


def check_feed() -> str:
    if not settings.FEED_TOKEN:
        raise RuntimeError("FEED_TOKEN is empty: the price list is not served; set it and give Kaspi the URL")
    if len(settings.FEED_TOKEN) < 16:
        raise RuntimeError("FEED_TOKEN is shorter than 16 characters: anyone could guess the price list URL")
    return "/feeds/<FEED_TOKEN>/kaspi.xml is served"


def stores_for_reservations() -> tuple[dict[str, tuple[str, ...]], int]:
    """The price list's stores ({store id: warehouse codes}) and publish minimum, for
    catalog.reservations (what a product page says each store offers)."""
    from . import selectors
    from .services import feed_settings

    config = selectors.feed_config(feed_settings())
    return {s.store_id: s.warehouses for s in config.stores}, config.stock_threshold


def register() -> None:
    from catalog import reservations

    reservations.register_stores(stores_for_reservations)
    registry.connection_check("feed", check_feed)
    registry.dashboard_panel("admin/feeds/dashboard_panel.html")
    registry.job(
        registry.Job(
            name="feeds.build",
            label=_("price list build"),
            run_model="feeds.FeedVersion",
            interval_setting="FEED_BUILD_INTERVAL",
            lock_name=BUILD_LOCK,
            task="feeds.tasks.build_feed",
            alert_after=3,
        )
    )
    registry.role_permissions(
        registry.PRICE_MANAGERS,
        [
            "feeds.build_feed",
            "feeds.publish_anyway",
            "feeds.change_feedsettings",
            *(f"feeds.{action}_{model}" for action in ("add", "change", "delete") for model in SETTINGS_MODELS),
        ],
    )
