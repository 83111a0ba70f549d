"""What runs inside catalog after an import has committed (the pricing recompute).

The import service calls `after_import(run, changed_product_ids)` once its data is committed.
"""


def after_import(run, changed_product_ids) -> None:
    """Recompute sale prices of the products whose supplier values changed (pricing fills this)."""
    return None
