"""The merchant SKU published in the price list: only Latin letters and digits, <= 20 chars.

Stable interface (orders rely on it): `sku_for_article(article)` and `article_for_sku(sku)`.
Rule: the prefix from the price list settings (default FEED_SKU_PREFIX, "AS") plus the Al-Style
article, e.g. article 20908 -> "AS20908". The prefix is read from the database at most every
PREFIX_TTL seconds per process (orders map every order entry through here).
"""

import time

from django.conf import settings

MAX_LENGTH = 20
PREFIX_TTL = 30.0
_cache: dict = {}


def current_prefix() -> str:
    now = time.monotonic()
    if _cache.get("expires", 0) < now:
        from .models import FeedSettings

        prefix = FeedSettings.objects.filter(pk=FeedSettings.SINGLETON_ID).values_list("sku_prefix", flat=True).first()
        _cache.update(prefix=settings.FEED_SKU_PREFIX if prefix is None else prefix, expires=now + PREFIX_TTL)
    return _cache["prefix"]


def is_valid_sku(sku: str) -> bool:
    """1-20 Latin letters and digits (str methods: three times faster than a regexp)."""
    return len(sku) <= MAX_LENGTH and sku.isascii() and sku.isalnum()


def forget_prefix() -> None:
    """Called when the settings change, so the new rule applies at once in this process."""
    _cache.clear()


def sku_for_article(article: int, prefix: str | None = None) -> str:
    return f"{current_prefix() if prefix is None else prefix}{int(article)}"


def article_for_sku(sku: str, prefix: str | None = None) -> int | None:
    prefix = current_prefix() if prefix is None else prefix
    if not sku or not sku.startswith(prefix):
        return None
    rest = sku[len(prefix) :]
    return int(rest) if rest.isdigit() else None
