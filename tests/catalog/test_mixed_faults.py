"""A catalog import through ≥ 20 % mixed faults (5xx, throttling, timeouts, malformed, truncated and
dropped answers) ends exactly where a fault-free import ends: same rows, same history, no duplicates."""

import pytest

from catalog.models import Brand, Category, Product, ProductChange
from catalog.services.importing import import_catalog

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

KINDS = ("500", "502", "503", "403", "429", "interval", "timeout", "malformed", "truncated", "drop")
IGNORED = {"id", "first_seen_at", "changed_at", "updated_at", "category_id", "brand_id", "price_rule_id"}


def snapshot() -> dict:
    def rows(model, key):
        fields = [f.attname for f in model._meta.concrete_fields if f.attname not in IGNORED]
        return sorted((tuple(str(r[f]) for f in fields) for r in model.objects.values(*fields)), key=key)

    products = rows(Product, key=lambda r: r)
    return {
        "products": products,
        "where": sorted(Product.objects.values_list("article", "category__name", "brand__name")),
        "categories": rows(Category, key=lambda r: r),
        "brands": rows(Brand, key=lambda r: r),
        "history": sorted(ProductChange.objects.values_list("product__article", "field", "old_value", "new_value")),
    }


def wipe() -> None:
    for model in (ProductChange, Product, Brand, Category):
        model.objects.all().delete()


def imports(sandbox) -> list[dict]:
    """A first import, the supplier changes things, a second import: the state after each."""
    states = []
    assert import_catalog().status == "success"
    states.append(snapshot())
    changed, removed = sandbox.products[10], sandbox.products[20]
    sandbox.update_product(changed["article"], price1=123_450, quantity=">50")
    sandbox.remove_products([removed["article"]])
    sandbox.add_products(3)
    assert import_catalog().status == "success"
    states.append(snapshot())
    sandbox.update_product(sandbox.products[30]["article"], price1=77_000, quantity=3)
    assert import_catalog(quick=True).status == "success"  # the quick price and stock refresh
    states.append(snapshot())
    return states


def test_an_import_through_mixed_faults_ends_as_a_fault_free_one(alstyle, settings):
    clean = imports(alstyle(products=2500))
    wipe()
    sandbox = alstyle(products=2500)
    settings.ALSTYLE_MAX_ATTEMPTS = 10  # 0.3¹⁰: no request fails for good
    settings.HTTP_READ_TIMEOUT = 0.3
    sandbox.faults.at_random(0.3, KINDS, delay=0.5, seed=9)
    faulty = imports(sandbox)
    requests_made = sandbox.request_count()
    assert sandbox.faults.random_taken >= 0.2 * requests_made, (sandbox.faults.random_taken, requests_made)
    assert set(sandbox.stats()["by_method"]) >= {"categories", "brands", "elements-pagination"}
    for step, (expected, got) in enumerate(zip(clean, faulty)):
        for part in expected:
            assert got[part] == expected[part], f"after import {step + 1}: {part} differ"
    assert Product.objects.values("article").distinct().count() == Product.objects.count() == 2503  # one deactivated
    assert Product.objects.filter(is_active=True).count() == 2502
