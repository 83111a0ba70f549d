"""Pricing admin. `ProductPricingMixin` adds the pricing columns, filters and actions to the
product list (ProductAdmin in catalog.py inherits it)."""


class ProductPricingMixin:
    pricing_list_display: tuple = ("sale_price",)
    pricing_list_filter: tuple = ()
    pricing_actions: tuple = ()
