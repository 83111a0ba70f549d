"""Pricing follows an import from the Al-Style emulator (real HTTP), once the import commits."""

from decimal import Decimal

import pytest

from catalog.models import Category, CommissionRate, PriceChangeCause, PriceRule, Product, SalePriceChange
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


def test_a_category_the_supplier_moves_reprices_the_products_below_it(alstyle, django_capture_on_commit_callbacks):
    sandbox = alstyle(products=120)
    PriceRule.objects.create(markup_percent=Decimal("10"))
    CommissionRate.objects.create(percent=Decimal("0"))
    with django_capture_on_commit_callbacks(execute=True):
        import_catalog()
    priced = Product.objects.filter(sale_price__isnull=False)
    moving = priced.filter(category__parent__isnull=False).select_related("category").first().category
    target = (
        Category.objects.filter(parent__isnull=True).exclude(pk=moving.parent.parent_id or moving.parent_id).first()
    )
    PriceRule.objects.create(category=target, markup_percent=Decimal("50"))  # no recompute of its own here
    elsewhere = dict(priced.exclude(category=moving).values_list("pk", "sale_price"))

    sandbox.move_category(moving.pk, target.pk)
    with django_capture_on_commit_callbacks(execute=True):
        run = import_catalog()
    assert run.updated == 0  # no product's own supplier data changed
    moving.refresh_from_db()
    assert moving.parent_id == target.pk
    moved = list(priced.filter(category=moving))
    assert moved
    for product in moved:
        assert product.sale_price == -(-product.dealer_price * 3 // 2), product  # the target's 50 % rule
        change = SalePriceChange.objects.filter(product=product).first()
        assert (change.cause, change.new_price) == (PriceChangeCause.IMPORT, product.sale_price)
    assert dict(priced.exclude(category=moving).values_list("pk", "sale_price")) == elsewhere


def test_after_a_run_whose_worker_died_every_product_is_repriced(alstyle, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    from catalog.models import ImportRun

    alstyle(products=60)
    PriceRule.objects.create(markup_percent=Decimal("10"))
    CommissionRate.objects.create(percent=Decimal("0"))
    with django_capture_on_commit_callbacks(execute=True):
        import_catalog()
    product = Product.objects.filter(sale_price__isnull=False).first()
    expected = product.sale_price
    # What a dead run may leave behind: a product written but never repriced.
    Product.objects.filter(pk=product.pk).update(sale_price=1)
    with django_capture_on_commit_callbacks(execute=True):
        import_catalog(quick=True)
    product.refresh_from_db()
    assert product.sale_price == 1  # nothing changed at the supplier: nothing repriced
    ImportRun.objects.create(status="running", started_at=timezone.now() - timedelta(hours=2))
    with django_capture_on_commit_callbacks(execute=True):
        import_catalog(quick=True)
    product.refresh_from_db()
    assert product.sale_price == expected
