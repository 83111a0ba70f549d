"""Supplier fields are read-only everywhere in the admin: the next import would overwrite them,
and a changed article would rewrite the Kaspi SKU and break matching with Al-Style (issue 9,
item 10)."""

import pytest
from django.contrib import admin
from django.urls import reverse

from catalog.models import Brand, Category, Product
from catalog.services.importing import SUPPLIER_FIELDS
from tests.factories import make_staff

pytestmark = pytest.mark.django_db

SUPPLIER = {Product: {"article", *SUPPLIER_FIELDS}, Category: None, Brand: None}  # None: every field


def editable_fields(model_admin, request, obj):
    form = model_admin.get_form(request, obj)
    return set(form.base_fields)


def admins_of_supplier_models():
    """Every registered admin and inline that edits a supplier model."""
    for model, model_admin in admin.site._registry.items():
        if model in SUPPLIER:
            yield model, model_admin, None
        for inline in model_admin.inlines:
            if inline.model in SUPPLIER:
                yield inline.model, model_admin, inline


def test_no_admin_edits_a_supplier_field(rf):
    user = make_staff("root", superuser=True)
    request = rf.get("/")
    request.user = user
    product = Product.objects.create(article=4242, name="x", dealer_price=100)
    found = 0
    for model, model_admin, inline in admins_of_supplier_models():
        found += 1
        if inline is None:
            obj = (
                product
                if model is Product
                else model.objects.create(
                    **({"name": "x"} if model is Brand else {"id": 1, "name": "x", "left": 1, "right": 2, "level": 1})
                )
            )
            editable = (
                editable_fields(model_admin, request, obj) if model_admin.has_change_permission(request, obj) else set()
            )
        else:
            instance = inline(model_admin.model, admin.site)
            editable = (
                set(instance.get_formset(request, None).form.base_fields)
                if instance.has_change_permission(request)
                else set()
            )
        protected = SUPPLIER[model] or {f.name for f in model._meta.get_fields() if f.concrete}
        assert not editable & protected, f"{type(model_admin).__name__} edits {sorted(editable & protected)}"
    assert found >= 3


def test_posting_a_new_article_changes_nothing(client):
    client.force_login(make_staff("root", superuser=True))
    product = Product.objects.create(article=4242, name="Колонки", dealer_price=100)
    url = reverse("admin:catalog_product_change", args=[product.pk])
    page = client.get(url).content.decode()
    assert 'name="article"' not in page
    assert "4242" in page
    client.post(url, {"article": "9999", "name": "Другое", "dealer_price": "1", "publish_min_stock": ""})
    product.refresh_from_db()
    assert (product.article, product.name, product.dealer_price) == (4242, "Колонки", 100)
