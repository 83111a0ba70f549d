"""Product cards benchmark: readiness of 50,000 products (all in mapped categories, with Al-Style
properties) and the card JSON of 10,000 cards (built, checked against Kaspi's schema, encoded
as the upload body), on SQLite. Prints medians of 3 runs and the peak Python memory rise.

Targets: readiness ≤ 5 s (first computation: every status row written), card JSON ≤ 2 s,
peak memory rise ≤ 100 MB.

    .venv/bin/python bench/bench_cards.py [--products 50000] [--cards 10000]
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
READINESS_TARGET_S, JSON_TARGET_S, MEMORY_TARGET_MB = 5.0, 2.0, 100.0
NB = "Notebooks*Obshie harakteristiki.notebooks"


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "kaspisync.settings"
    os.environ["KASPISYNC_VAR_DIR"] = tempfile.mkdtemp(prefix="bench-cards-")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def populate(count: int) -> None:
    from django.utils import timezone

    from cards.models import (
        AlstyleProperties,
        AttributeMapping,
        AttributeSource,
        CategoryMapping,
        KaspiAttribute,
        KaspiAttributeValue,
        KaspiCategory,
    )
    from catalog.models import Brand, Category, Product
    from catalog.services.upsert import bulk_upsert

    rnd = random.Random(11)
    root = Category.objects.create(id=1, name="Ноутбуки", level=1, left=1, right=8)
    leaves = [
        Category.objects.create(id=2 + i, name=f"Ноутбуки {i}", parent=root, level=2, left=2 + 2 * i, right=3 + 2 * i)
        for i in range(3)
    ]
    brands = [Brand.objects.create(name=name) for name in ("Lenovo", "HP", "ASUS", "Acer")]
    kaspi = KaspiCategory.objects.create(
        code="Master - Notebooks", title="Ноутбуки", refreshed_at=timezone.now(), attributes_loaded_at=timezone.now()
    )
    spec = [
        ("diagonal", "number", True, False, "Диагональ экрана"),
        ("processor", "enum", True, False, "Процессор"),
        ("ram", "number", True, False, "Объем оперативной памяти"),
        ("keyboard backlight", "boolean", False, False, "Подсветка клавиатуры"),
        ("color", "enum", False, True, "Цвет"),
    ]
    mapping = CategoryMapping.objects.create(alstyle_category=root, kaspi_category=kaspi)
    processors = ["Intel Core i5", "Intel Core i7", "AMD Ryzen 5", "AMD Ryzen 7"]
    colours = ["черный", "серый", "серебристый", "белый"]
    for position, (name, kind, mandatory, multi, prop) in enumerate(spec):
        attribute = KaspiAttribute.objects.create(
            category=kaspi, code=f"{NB}*{name}", type=kind, mandatory=mandatory, multi_valued=multi, position=position
        )
        values = processors if name == "processor" else colours if name == "color" else []
        KaspiAttributeValue.objects.bulk_create(
            KaspiAttributeValue(attribute=attribute, code=v, name=v) for v in values
        )
        AttributeMapping.objects.create(
            mapping=mapping, attribute=attribute, source=AttributeSource.PROPERTY, property_name=prop
        )
    Product.objects.bulk_create(
        (
            Product(
                article=100_000 + i,
                name=f"Ноутбук {rnd.choice(['Lenovo', 'HP'])} IdeaPad {i} 15.6 Intel Core i5 8GB 512GB SSD",
                category=rnd.choice(leaves),
                brand=rnd.choice(brands),
                dealer_price=rnd.randrange(100_000, 900_000),
                weight=Decimal("2.150"),
                description="<p>Ноутбук для работы &amp; учёбы. Официальная гарантия.</p>",
                images=[f"http://img.al-style.kz/{100_000 + i}_{n}.jpg" for n in range(1, rnd.randint(1, 4))],
            )
            for i in range(count)
        ),
        batch_size=5000,
    )
    now = timezone.now()
    rows = [
        {
            "product_id": pid,
            "values": {
                "Диагональ экрана": rnd.choice(['15,6"', '14"', '16"']),
                "Процессор": rnd.choice([*processors, "Apple M2"]),
                "Объем оперативной памяти": rnd.choice(["8 ГБ", "16 ГБ"]),
                "Подсветка клавиатуры": rnd.choice(["Да", "Нет"]),
                "Цвет": rnd.choice(colours),
                "Гарантия": "12 мес.",
            },
            "fetched_at": now,
        }
        for pid in Product.objects.values_list("pk", flat=True)
    ]
    for start in range(0, len(rows), 5000):
        bulk_upsert(
            AlstyleProperties,
            rows[start : start + 5000],
            unique_field="product",
            update_fields=("values", "fetched_at"),
        )


def readiness_seconds() -> tuple[float, dict]:
    from cards.models import ProductCard
    from cards.services.readiness import refresh_readiness

    ProductCard.objects.all().delete()  # the first computation: every row written
    started = time.perf_counter()
    counts = refresh_readiness()
    return time.perf_counter() - started, counts


def card_json_seconds(count: int) -> tuple[float, int]:
    import orjson

    from cards.models import CardStatus, ProductCard
    from cards.services.readiness import evaluate

    ids = list(ProductCard.objects.filter(status=CardStatus.READY).values_list("product_id", flat=True)[:count])
    started = time.perf_counter()
    cards = [card for _row, _m, card, reasons, _h in evaluate(ids) if not reasons]
    body = orjson.dumps(cards)
    return time.perf_counter() - started, len(body)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--products", type=int, default=50_000)
    parser.add_argument("--cards", type=int, default=10_000)
    args = parser.parse_args()
    setup_django()
    print(f"populating {args.products} products in mapped categories ...", flush=True)
    populate(args.products)
    readiness, json_times = [], []
    for _ in range(3):
        seconds, counts = readiness_seconds()
        readiness.append(seconds)
        seconds, size = card_json_seconds(args.cards)
        json_times.append(seconds)
    tracemalloc.start()  # one more run, traced (tracing slows it: not timed)
    readiness_seconds()
    card_json_seconds(args.cards)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peak_mb = peak / 1024 / 1024
    r, j = statistics.median(readiness), statistics.median(json_times)
    print(f"statuses: {counts}")
    print(
        f"readiness of {args.products} products: {r:.2f} s (target ≤ {READINESS_TARGET_S} s) runs {[round(x, 2) for x in readiness]}"
    )
    print(
        f"card JSON of {args.cards} cards ({size / 1e6:.1f} MB body): {j:.2f} s (target ≤ {JSON_TARGET_S} s) runs {[round(x, 2) for x in json_times]}"
    )
    print(f"peak memory rise (Python allocations): {peak_mb:.0f} MB (target ≤ {MEMORY_TARGET_MB:.0f} MB)")
    ok = r <= READINESS_TARGET_S and j <= JSON_TARGET_S and peak_mb <= MEMORY_TARGET_MB
    print("OK" if ok else "OVER TARGET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
