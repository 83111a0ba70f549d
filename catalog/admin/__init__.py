"""Catalog admin: supplier data (catalog.py) and pricing (pricing.py)."""

from . import catalog, pricing  # noqa: F401  (registers the ModelAdmins)
