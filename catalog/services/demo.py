"""Demo data for `make run` with the Al-Style sandbox (registered in catalog/wiring.py)."""

from ..models import PriceRule


def seed_demo_pricing() -> str | None:
    """With no pricing rule yet, a global demo rule, so the demo shows sale prices and a filled
    price list (production starts with none on purpose: nothing is published at a price nobody
    set). Returns what was created, or None."""
    if PriceRule.objects.exists():
        return None
    PriceRule.objects.create(
        name="Демо: все товары", markup_percent=15, rounding_step=100, rounding_ending=90, min_margin=500
    )
    return "demo pricing rule (15 %, ends in 90)"
