"""Pricing benchmark: recompute the sale prices of 50,000 products on SQLite.

A realistic tree (8 roots x 6 children x 5 grandchildren), 300 brands, a dozen rules of every
scope (bands, rounding endings, floors, caps), per-category commissions, a few overrides and
exclusions. Times a recompute from scratch (every product written, with its history row) and a
recompute where nothing changed (read + price + compare only). Target: <= 5 s each.

    .venv/bin/python bench/bench_pricing.py [--products 50000]
"""

import argparse
import os
import random
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 5.0


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "kaspisync.settings"
    os.environ["KASPISYNC_VAR_DIR"] = tempfile.mkdtemp(prefix="bench-pricing-")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def populate(products: int) -> None:
    from catalog.models import (
        Brand,
        Category,
        CommissionRate,
        FeedExclusion,
        PriceBand,
        PriceOverride,
        PriceRule,
        Product,
    )

    rnd = random.Random(7)
    categories, counter = [], [0]

    def add(name, parent, level):
        counter[0] += 1
        cat = Category(id=counter[0], name=name, parent=parent, level=level)
        categories.append(cat)
        return cat

    leaves = []
    for r in range(8):
        root = add(f"Root {r}", None, 1)
        for c in range(6):
            child = add(f"Cat {r}.{c}", root, 2)
            leaves += [add(f"Leaf {r}.{c}.{g}", child, 3) for g in range(5)]
    Category.objects.bulk_create(categories)
    brands = Brand.objects.bulk_create([Brand(name=f"Brand {i}") for i in range(300)])
    rows = []
    for i in range(products):
        dealer = rnd.randint(500, 900_000)
        rows.append(
            Product(
                article=100000 + i,
                name=f"Product {i}",
                category=rnd.choice(leaves),
                brand=rnd.choice(brands),
                dealer_price=dealer,
                retail_price=int(dealer * rnd.choice((1.1, 1.3, 1.6))),
                stock=rnd.randint(0, 60),
                unsellable_reason="price_on_request" if i % 97 == 0 else "",
            )
        )
    Product.objects.bulk_create(rows, batch_size=2000)

    rules = [
        PriceRule(name="All", markup_percent=Decimal("15"), rounding_step=100, min_margin=500),
        PriceRule(category=categories[0], markup_percent=Decimal("12"), rounding_step=1000, rounding_ending=990),
        PriceRule(
            category=categories[1],
            markup_percent=Decimal("10"),
            rounding_step=100,
            rounding_ending=90,
            min_margin_percent=Decimal("5"),
        ),
        PriceRule(category=leaves[3], markup_percent=Decimal("20"), rounding_mode="nearest", rounding_step=50),
        PriceRule(category=leaves[40], markup_percent=Decimal("8"), cap="retail"),
        PriceRule(category=categories[100], markup_percent=Decimal("9"), markup_fixed=1000, rounding_step=10),
        PriceRule(brand=brands[0], markup_percent=Decimal("25"), rounding_step=100),
        PriceRule(brand=brands[1], markup_percent=Decimal("7"), min_margin=2000),
        PriceRule(brand=brands[2], category=categories[0], markup_percent=Decimal("11"), rounding_step=100),
        PriceRule(brand=brands[3], category=leaves[10], markup_percent=Decimal("14"), cap="retail"),
        PriceRule(product=rows[5], markup_percent=Decimal("3")),
        PriceRule(name="Banded", category=categories[200], rounding_step=100, rounding_ending=90),
    ]
    PriceRule.objects.bulk_create(rules)
    PriceBand.objects.bulk_create(
        [
            PriceBand(rule=rules[-1], low=0, high=10_000, markup_percent=Decimal("30")),
            PriceBand(rule=rules[-1], low=10_000, high=100_000, markup_percent=Decimal("18")),
            PriceBand(rule=rules[-1], low=100_000, markup_percent=Decimal("10")),
        ]
    )
    CommissionRate.objects.bulk_create(
        [CommissionRate(percent=Decimal("12"))]
        + [CommissionRate(category=c, percent=Decimal(rnd.randint(5, 15))) for c in categories[:8]]
    )
    FeedExclusion.objects.bulk_create([FeedExclusion(brand=brands[9]), FeedExclusion(category=leaves[7])])
    PriceOverride.objects.bulk_create([PriceOverride(product=p, price=99_990) for p in rows[:50]])


def timed(label: str, **kwargs):
    from catalog.services.pricing import recompute_prices

    started = time.perf_counter()
    run = recompute_prices(**kwargs)
    elapsed = time.perf_counter() - started
    verdict = "OK" if elapsed <= TARGET_SECONDS else "SLOW"
    print(
        f"{label:<34} {elapsed:6.2f} s  (target <= {TARGET_SECONDS:.0f} s) {verdict}  "
        f"examined {run.examined:,}, written {run.changed:,}"
    )
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--products", type=int, default=50_000)
    args = parser.parse_args()
    setup_django()
    started = time.perf_counter()
    populate(args.products)
    print(f"setup: {args.products:,} products in {time.perf_counter() - started:.1f} s")

    from catalog.models import PriceRule, Product, SalePriceChange

    timed("full recompute from scratch")
    timed("recompute, nothing changed")
    PriceRule.objects.filter(category__isnull=True, brand__isnull=True, product__isnull=True).update(
        markup_percent=Decimal("16")
    )
    timed("recompute after global rule change")
    priced = Product.objects.filter(sale_price__isnull=False).count()
    print(f"priced products: {priced:,}; price history rows: {SalePriceChange.objects.count():,}")


if __name__ == "__main__":
    main()
