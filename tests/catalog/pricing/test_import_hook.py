"""Pricing follows an import from the Al-Style emulator (real HTTP), once the import commits."""
from decimal import Decimal

import pytest

from catalog.models import CommissionRate, PriceChangeCause, PriceRule, Product, SalePriceChange
from catalog.services.importing import import_catalog

pytestmark = pytest.mark.django_db


def test_an_import_prices_new_products_and_reprices_dealer_changes(alstyle, django_capture_on_commit_callbacks):
    sandbox = alstyle(products=60)
    PriceRule.objects.create(markup_percent=Decimal("10"))
    CommissionRate.objects.create(percent=Decimal("0"))
    with django_capture_on_commit_callbacks(execute=True):
        import_catalog()
    sellable = Product.objects.filter(unsellable_reason="", dealer_price__isnull=False, is_active=True)
    assert sellable.exists()
    assert not sellable.filter(sale_price__isnull=True).exists()
    assert not Product.objects.exclude(unsellable_reason="").filter(sale_price__isnull=False).exists()

    product = sellable.first()
    sandbox.update_product(product.article, price1=50_000)
    with django_capture_on_commit_callbacks(execute=True):
        import_catalog()
    product.refresh_from_db()
    assert product.sale_price == 55_000
    change = SalePriceChange.objects.filter(product=product).first()
    assert (change.cause, change.new_price, change.user) == (PriceChangeCause.IMPORT, 55_000, None)
