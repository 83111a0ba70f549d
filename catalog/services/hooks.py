"""What runs inside catalog after an import has committed (the pricing recompute).

The import service calls `after_import(run, changed_product_ids)` once its data is committed.
"""

from .pricing import reprice_after_import


def after_import(run, changed_product_ids) -> None:
    """Reprice the products whose supplier values changed (history cause: dealer price change
    from an import). The import sends `catalog_changed` itself right after, so no second signal."""
    if changed_product_ids:
        reprice_after_import(changed_product_ids)
