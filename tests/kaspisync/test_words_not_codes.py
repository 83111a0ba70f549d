"""Every value a person reads is in words (issue 13 item 7): no "PricingRun object (1)", no
"None → 777390", no raw JSON, no model codes."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.models import ImportRun, PriceRule, Product
from catalog.services import pricing
from tests.factories import make_staff

pytestmark = pytest.mark.django_db

RAW = ("object (", "None", "{&quot;", '{"', "True", "False", "pricerule")  # as text, not in links


@pytest.fixture
def boss_client(client):
    boss = make_staff("boss", superuser=True)
    client.force_login(boss)
    client.boss = boss
    return client


def assert_in_words(page: str, where: str) -> None:
    body = re.sub(r"<script.*?</script>|<[^>]+>", " ", page[page.index('<div id="content"') :], flags=re.S)
    for raw in RAW:
        assert raw not in body, f"{where}: raw value {raw!r} shown"


def test_history_runs_and_audit_read_in_words(boss_client):
    product = Product.objects.create(article=1, name="Ноутбук", dealer_price=676_000)
    rule = PriceRule.objects.create(name="Все", markup_percent=Decimal("15"))
    pricing.recompute_prices()
    pricing.set_override([product.pk], 777_390, user=boss_client.boss)
    before = pricing.snapshot(rule) | {"is_active": False, "rounding_mode": "nearest"}
    pricing.record_change(rule, user=boss_client.boss, before=before)
    run = ImportRun.objects.create(
        started_at=timezone.now(),
        finished_at=timezone.now(),
        stats={"stock_unreadable": 2},
        skipped={"bad_article": 3},
    )
    pages = {
        "sale price history": reverse("admin:catalog_salepricechange_changelist"),
        "product page": reverse("admin:catalog_product_change", args=[product.pk]),
        "price recomputes": reverse("admin:catalog_pricingrun_changelist"),
        "import run": reverse("admin:catalog_importrun_change", args=[run.pk]),
        "audit": reverse("admin:catalog_pricingaudit_changelist"),
    }
    for where, url in pages.items():
        assert_in_words(boss_client.get(url).content.decode(), where)
    history = boss_client.get(pages["sale price history"]).content.decode()
    assert "первая цена:" in history
    assert "777\u00a0390\u00a0₸" in history
    audit = boss_client.get(pages["audit"]).content.decode()
    assert "вверх" in audit, "a choice must read as its label"
    assert "up →" not in audit, "a choice must read as its label"
    assert "→ up" not in audit, "a choice must read as its label"
    run_page = boss_client.get(pages["import run"]).content.decode()
    assert "нечитаемых остатков: 2" in run_page
    assert "нечитаемых артикулов: 3" in run_page
