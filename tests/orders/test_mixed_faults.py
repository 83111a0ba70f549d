"""Order pulls through ≥ 20 % mixed faults (5xx, 429, timeouts, malformed, truncated and dropped
answers) end exactly where fault-free pulls end: the same orders, entries, SKUs and timeline, no
duplicates, on the first pull and on the pulls that follow Kaspi's changes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import MasterProductSku, Order, OrderEntry, OrderEvent, PullRun
from orders.services import pull_orders

pytestmark = [pytest.mark.django_db, pytest.mark.slow, pytest.mark.usefixtures("english")]

KINDS = ("500", "502", "503", "504", "429", "timeout", "malformed", "truncated", "drop")
# (raw: its links name the emulator's port and whether entries were included: its attributes are compared)
ORDER_IGNORED = {"id", "first_seen_at", "changed_at", "return_checked_at", "version", "raw"}


def snapshot() -> dict:
    fields = [f.attname for f in Order._meta.concrete_fields if f.attname not in ORDER_IGNORED]
    return {
        "orders": sorted(tuple(str(row[f]) for f in fields) for row in Order.objects.values(*fields)),
        "payloads": sorted(str(raw["attributes"]) for raw in Order.objects.values_list("raw", flat=True)),
        "entries": sorted(
            OrderEntry.objects.values_list(
                "order__code", "kaspi_id", "sku", "product__article", "quantity", "total_price", "sku_error", "name"
            )
        ),
        "timeline": sorted(
            OrderEvent.objects.values_list(
                "order__code", "from_state", "from_status", "to_state", "to_status", "source"
            )
        ),
        "skus": sorted(MasterProductSku.objects.values_list("master_product_id", "sku")),
    }


def pulls(sandbox) -> list[dict]:
    """A first pull, then half a day of Kaspi's changes (new orders, cancellations, deliveries)
    and another pull, then one more with nothing changed: the state after each."""
    states = []
    for hours in (0, 12, 0):
        sandbox.advance(hours * 3600)
        run = pull_orders()
        assert run.status == "success", run.error
        states.append(snapshot())
    return states


def test_pulls_through_mixed_faults_end_as_fault_free_ones(kaspi, settings, catalog_products):
    start = timezone.now() - timedelta(hours=12)  # after advancing, the emulator's clock is now
    options = {"orders": 300, "days": 13, "orders_per_day": 40, "now": start, "omit_included": 0.2}
    clean = pulls(kaspi(**options))
    for model in (OrderEvent, OrderEntry, Order, MasterProductSku, PullRun):
        model.objects.all().delete()

    sandbox = kaspi(**options)
    settings.KASPI_MAX_ATTEMPTS = 10  # 0.3¹⁰: no request fails for good
    settings.HTTP_READ_TIMEOUT = 0.3
    sandbox.faults.at_random(0.3, KINDS, delay=0.5, seed=5)
    faulty = pulls(sandbox)
    assert sandbox.faults.random_taken >= 0.2 * sandbox.request_count()
    for step, (expected, got) in enumerate(zip(clean, faulty)):
        for part in expected:
            assert got[part] == expected[part], f"after pull {step + 1}: {part} differ"
    assert Order.objects.values("kaspi_id").distinct().count() == Order.objects.count() == len(sandbox.orders)
    assert OrderEvent.objects.filter(from_status="").count() == Order.objects.count()  # one "first seen" each
