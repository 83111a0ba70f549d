"""Signals catalog sends so that other apps can follow it without catalog knowing them.

`catalog_changed` is sent after a transaction that changed what the feed publishes (an import,
a price recompute) has committed. Each receiving app connects its own receiver in its
AppConfig.ready() (feeds: FeedsConfig.ready, which asks for a debounced price list rebuild).
kwargs: reason (str: "import", "quick", "pricing", ...), product_count (int).
"""

from django.dispatch import Signal

catalog_changed = Signal()
