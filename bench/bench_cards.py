"""Product cards benchmark: readiness of 50,000 products (all in mapped categories, with Al-Style
properties) and the card JSON of 10,000 cards (built, checked against Kaspi's schema, encoded as
the upload body), on SQLite.

Targets (issue 11): readiness <= 5 s (the first computation: every status row written), card
JSON <= 2 s, peak memory rise <= 100 MB.

The catalog is written once; every measurement then runs in a fresh process (as a worker runs
the job), RUNS times, and the medians are printed beside the targets. The memory rise is the
process's peak RSS during the measured call (VmHWM, reset first through /proc/self/clear_refs)
minus its RSS just before it: real memory, not tracemalloc (which slows Python ten-fold).
Also shown, without a target: an unchanged re-run of readiness (nothing to write).

    .venv/bin/python bench/bench_cards.py [--products 50000] [--cards 10000] [--runs 5]
"""

import argparse
import gc
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
READINESS_TARGET_S, JSON_TARGET_S, MEMORY_TARGET_MB = 5.0, 2.0, 100.0
NB = "Notebooks*Obshie harakteristiki.notebooks"


def setup_django(var_dir: str, migrate: bool = False) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "kaspisync.settings"
    os.environ["KASPISYNC_VAR_DIR"] = var_dir
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as fh:
        return int(re.search(rf"{field}:\s+(\d+)", fh.read()).group(1))


class PeakRss:
    """Peak RSS rise of this process over a block, in MB (`.rise`)."""

    def __enter__(self):
        gc.collect()
        try:
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")  # VmHWM := current RSS
        except OSError:
            pass  # then the peak so far is the floor: the rise is understated only if setup peaked higher
        self.before = _status_kb("VmRSS")
        return self

    def __exit__(self, *exc):
        self.rise = max(0, _status_kb("VmHWM") - self.before) / 1024


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


def measure_readiness() -> dict:
    from cards.models import ProductCard
    from cards.services.readiness import refresh_readiness

    ProductCard.objects.all().delete()  # the first computation: every row written
    with PeakRss() as memory:
        started, cpu = time.perf_counter(), time.process_time()
        counts = refresh_readiness()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    started = time.perf_counter()
    again = refresh_readiness()
    unchanged = time.perf_counter() - started
    assert again == counts, (again, counts)
    return {"seconds": seconds, "cpu": cpu, "memory_mb": memory.rise, "unchanged_seconds": unchanged, "counts": counts}


def measure_card_json(count: int) -> dict:
    import orjson

    from cards.models import CardStatus, ProductCard
    from cards.services.readiness import ready_cards

    ids = list(ProductCard.objects.filter(status=CardStatus.READY).values_list("product_id", flat=True)[:count])
    assert len(ids) == count, f"only {len(ids)} ready products"
    with PeakRss() as memory:
        started, cpu = time.perf_counter(), time.process_time()
        cards, _not_ready = ready_cards(ids)  # as an upload builds a batch, and sends it:
        body = orjson.dumps([card for card, _hash in cards.values()])
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert len(cards) == count, len(cards)
    return {"seconds": seconds, "cpu": cpu, "memory_mb": memory.rise, "bytes": len(body)}


def child(kind: str, var_dir: str, count: int) -> None:
    setup_django(var_dir)
    result = measure_readiness() if kind == "readiness" else measure_card_json(count)
    print(json.dumps(result))


def run_child(kind: str, var_dir: str, count: int) -> dict:
    args = [sys.executable, __file__, "--child", kind, "--var-dir", var_dir, "--cards", str(count)]
    out = subprocess.run(args, cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def line(label: str, values: list[float], unit: str, target: float) -> bool:
    median = statistics.median(values)
    ok = median <= target
    runs = ", ".join(f"{v:.2f}" for v in values)
    print(f"{label}: {median:.2f} {unit} (target <= {target:g} {unit}) {'ok' if ok else 'OVER'}   runs: {runs}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--products", type=int, default=50_000)
    parser.add_argument("--cards", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", choices=("readiness", "json"), help=argparse.SUPPRESS)
    parser.add_argument("--var-dir", help="keep the populated database here and reuse it on the next run")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.var_dir, args.cards)
        return 0
    keep = bool(args.var_dir)
    var_dir = args.var_dir or tempfile.mkdtemp(prefix="bench-cards-")
    reuse = keep and (Path(var_dir) / "db.sqlite3").exists()
    setup_django(var_dir, migrate=not reuse)
    if reuse:
        print(f"reusing the catalog in {var_dir}", flush=True)
    else:
        print(f"populating {args.products} products in mapped categories ...", flush=True)
        populate(args.products)
    from django.db import connections

    connections.close_all()
    readiness, json_runs = [], []
    try:
        for number in range(args.runs):  # alternated: load on the shared machine hits both alike
            readiness.append(run_child("readiness", var_dir, args.cards))
            json_runs.append(run_child("json", var_dir, args.cards))
            print(
                f"  run {number + 1}: readiness {readiness[-1]['seconds']:.2f} s, card JSON {json_runs[-1]['seconds']:.2f} s",
                flush=True,
            )
    finally:
        if not keep:
            shutil.rmtree(var_dir, ignore_errors=True)
    print(f"statuses: {readiness[-1]['counts']}")
    print(
        f"card JSON body: {json_runs[-1]['bytes'] / 1e6:.1f} MB; medians of {args.runs} runs, each in a fresh process"
    )
    ok = line(
        f"readiness of {args.products} products (first computation)",
        [r["seconds"] for r in readiness],
        "s",
        READINESS_TARGET_S,
    )
    ok &= line(f"card JSON of {args.cards} cards", [r["seconds"] for r in json_runs], "s", JSON_TARGET_S)
    ok &= line("peak memory rise (RSS), readiness", [r["memory_mb"] for r in readiness], "MB", MEMORY_TARGET_MB)
    ok &= line("peak memory rise (RSS), card JSON", [r["memory_mb"] for r in json_runs], "MB", MEMORY_TARGET_MB)
    cpu = statistics.median(r["cpu"] for r in readiness), statistics.median(r["cpu"] for r in json_runs)
    print(
        f"  (CPU time, steadier than wall time on a shared machine: readiness {cpu[0]:.2f} s, card JSON {cpu[1]:.2f} s)"
    )
    unchanged = statistics.median(r["unchanged_seconds"] for r in readiness)
    print(f"  (readiness re-run, nothing changed: {unchanged:.2f} s, no target)")
    print("OK" if ok else "OVER TARGET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
