"""The catalog's dashboard panel: products, margin floor, last imports, unpriced products."""

from decimal import Decimal

import pytest
from django.utils import timezone

from catalog.models import ImportKind, ImportRun, PriceRule, Product
from catalog.services.pricing import recompute_prices
from kaspisync.models import RunStatus
from tests.factories import make_staff

pytestmark = pytest.mark.django_db


def dashboard(client, language="en") -> str:
    response = client.get("/admin/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def boss(client):
    client.force_login(make_staff("boss", superuser=True))
    return client


def test_unpriced_sellable_products_are_pointed_out_until_a_global_rule_prices_them(boss):
    for article in (1, 2, 3):
        Product.objects.create(article=article, name=f"P{article}", dealer_price=1000 * article)
    Product.objects.create(article=4, name="On request", dealer_price=None, unsellable_reason="price_on_request")
    page = dashboard(boss)
    assert "4 active products, 3 sellable" in page
    assert "3 sellable products have no sale price" in page
    assert "no pricing rule applies" in page
    assert "/admin/catalog/pricerule/add/" in page
    assert "No full import has run yet." in page
    assert "3 товара в продаже без цены продажи" in dashboard(boss, "ru")

    PriceRule.objects.create(markup_percent=Decimal("10"))
    page = dashboard(boss)
    assert "a recompute is queued or has failed" in page  # a rule, not yet applied
    recompute_prices()
    page = dashboard(boss)
    assert "no sale price" not in page


def test_last_runs_and_margin_floor_are_shown(boss):
    Product.objects.create(article=1, name="P", dealer_price=1000, sale_price=900, below_margin_floor=True)
    run = ImportRun.objects.create(
        kind=ImportKind.FULL,
        status=RunStatus.SUCCESS,
        started_at=timezone.now(),
        created=7000,
        updated=12,
        deactivated=3,
    )
    ImportRun.objects.create(kind=ImportKind.QUICK, status=RunStatus.FAILED, started_at=timezone.now())
    page = dashboard(boss)
    assert f"/admin/catalog/importrun/{run.pk}/change/" in page
    assert "7\u00a0000 created, 12 updated, 3 deactivated" in page
    assert "Last quick refresh" in page
    assert "1 below the margin floor" in page
    assert "below_margin_floor__exact=1" in page


def test_staff_without_catalog_access_do_not_see_the_panel(client):
    client.force_login(make_staff("orders-only", "orders.view_order"))
    assert "Catalog and prices" not in dashboard(client)
