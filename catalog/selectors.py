"""Reads of the catalog used by other apps (feeds, orders) and by the admin.

Stable contracts (other apps rely on them; keep the signatures):
- `publishable_products()`: what the price list needs, one dict per product, in article order,
  streamed (iterator), never loading model instances. Keys: id, article, name, brand__name,
  sale_price (int), stock (int), stock_qualifier, warehouse_stock (dict),
  publish_min_stock (int: below it the product is published as unavailable).
- `commission_percent_for_products(product_ids)`: {product_id: Decimal percent} of the Kaspi
  commission that pricing applies to each product (used by orders for margins).
"""
from decimal import Decimal

from .models import Product

DEFAULT_COMMISSION_PERCENT = Decimal("12")


def publishable_products():
    """Products the feed may list: active, with a sale price, not excluded."""
    return (
        Product.objects.filter(is_active=True, sale_price__isnull=False, feed_excluded=False)
        .order_by("article")
        .values(
            "id",
            "article",
            "name",
            "brand__name",
            "sale_price",
            "stock",
            "stock_qualifier",
            "warehouse_stock",
            "publish_min_stock",
        )
        .iterator(chunk_size=5000)
    )


def commission_percent_for_products(product_ids) -> dict:
    """Placeholder until pricing rules land: the global default for every product."""
    return {pk: DEFAULT_COMMISSION_PERCENT for pk in product_ids}
