"""The merchant SKU published in the price list: only Latin letters and digits, <= 20 chars.

Stable interface (orders rely on it): `sku_for_article(article)` and `article_for_sku(sku)`.
Default rule: a short prefix plus the Al-Style article, e.g. article 20908 -> "AS20908".
"""
import re

from django.conf import settings

SKU_RE = re.compile(r"^[A-Za-z0-9]{1,20}$")


def _prefix() -> str:
    return getattr(settings, "FEED_SKU_PREFIX", "AS")


def sku_for_article(article: int) -> str:
    return f"{_prefix()}{int(article)}"


def article_for_sku(sku: str) -> int | None:
    prefix = _prefix()
    if not sku or not sku.startswith(prefix):
        return None
    rest = sku[len(prefix):]
    return int(rest) if rest.isdigit() else None
