"""Pricing rules, commission, overrides and price history (the pricing issue fills this in)."""

__all__: list[str] = []
