"""The catalog's models, one import path for all: supplier data (catalog.py) and pricing (pricing.py)."""

from .catalog import (
    Brand,
    Category,
    ImportKind,
    ImportRun,
    Product,
    ProductChange,
    StockQualifier,
    SupplierField,
    UnsellableReason,
    ValueProblem,
)
from .pricing import *  # noqa: F401,F403  (pricing rules live in catalog/models/pricing.py)

__all__ = [
    "Brand",
    "Category",
    "ImportKind",
    "ImportRun",
    "Product",
    "ProductChange",
    "StockQualifier",
    "SupplierField",
    "UnsellableReason",
    "ValueProblem",
]
