"""Reads of the catalog used by other apps (feeds, orders) and by the admin.

Contract for the feed: `publishable_products()` yields what the price list needs, one dict per
product, in article order, streaming (iterator), never loading all model instances.
"""
from .models import Product


def publishable_products():
    """Products the feed may list: active, with a sale price, not excluded."""
    return (
        Product.objects.filter(is_active=True, sale_price__isnull=False, feed_excluded=False)
        .order_by("article")
        .values(
            "id", "article", "name", "brand__name", "sale_price", "stock", "stock_qualifier", "warehouse_stock"
        )
        .iterator(chunk_size=5000)
    )
