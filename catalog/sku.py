"""The merchant SKU of a product: the one rule, used by the price list, orders, cards and the sandbox.

    merchant_sku(20908, "AS")        -> "AS20908"
    article_for_sku("AS20908", "AS") -> 20908   (None for a SKU this rule did not make)
    is_valid_sku("AS20908")          -> True    (what Kaspi accepts as an offer's sku)

Rule: the prefix (the price list settings' "SKU prefix", FEED_SKU_PREFIX by default) followed by
the Al-Style article in decimal digits. Kaspi takes only Latin letters and digits, at most 20
characters (docs: shared/reference/kaspi-price-list.md), so a prefix of up to 8 letters and an
article of up to 10 digits always fit, and two articles never share a SKU.

Pure functions: the caller passes the prefix in (feeds.selectors.sku_prefix() reads the one in
use). Nothing here needs Django settings, so the API sandboxes import it as they are.
"""

MAX_LENGTH = 20


def merchant_sku(article: int, prefix: str) -> str:
    """The SKU of the product with this Al-Style article."""
    return f"{prefix}{int(article)}"


def article_for_sku(sku: str, prefix: str) -> int | None:
    """The Al-Style article a SKU of this rule names; None for any other SKU."""
    if not sku or not sku.startswith(prefix):
        return None
    rest = sku[len(prefix) :]
    if not (rest.isascii() and rest.isdigit()) or (len(rest) > 1 and rest[0] == "0"):
        return None  # "AS007" or "AS²" is no SKU of ours: merchant_sku never writes them
    return int(rest)


def is_valid_sku(sku: str) -> bool:
    """1-20 Latin letters and digits (str methods: three times faster than a regexp)."""
    return len(sku) <= MAX_LENGTH and sku.isascii() and sku.isalnum()
