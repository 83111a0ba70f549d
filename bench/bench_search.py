"""Search benchmark: the product list's search (name, supplier part number, barcode, article) at
50,000 products on SQLite, for an ASCII word, a lowercase Cyrillic word and a Kazakh word.

SQLite folds only ASCII in LIKE; kaspisync/search.py folds other alphabets with small SQL
functions. Prints the median of 7 searches (the admin's own search query, counted and a page of
100 read), wall time and the process's CPU time (the database is in the process: on the shared,
busy machine CPU time is the steadier figure). Target: <= 100 ms each.

    .venv/bin/python bench/bench_search.py [--products 50000]
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 100.0
WORDS = ["Ноутбук", "Мышь", "Клавиатура", "Монитор", "Кабель", "Принтер", "Қазақша пернетақта", "Өнім"]


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "kaspisync.settings"
    os.environ["KASPISYNC_VAR_DIR"] = tempfile.mkdtemp(prefix="bench-search-")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def populate(count: int) -> None:
    from catalog.models import Product

    rnd = random.Random(13)
    Product.objects.bulk_create(
        (
            Product(
                article=100_000 + i,
                name=f"{rnd.choice(WORDS)} Lenovo IdeaPad {i} серый 15.6 Intel Core i5 8GB 512GB SSD",
                article_pn=f"PN-{i:06d}",
                barcode=f"48{i:011d}",
                dealer_price=rnd.randrange(1_000, 900_000),
            )
            for i in range(count)
        ),
        batch_size=2000,
    )


def search_ms(term: str) -> tuple[float, int]:
    from django.contrib import admin
    from django.test import RequestFactory

    from catalog.models import Product

    model_admin = admin.site._registry[Product]
    request = RequestFactory().get("/", {"q": term})
    timings, cpu, found = [], [], 0
    for _ in range(7):
        started, started_cpu = time.perf_counter(), time.process_time()
        queryset, _dupes = model_admin.get_search_results(request, Product.objects.all(), term)
        found = queryset.count()
        list(queryset.order_by("-pk")[:100])
        timings.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return statistics.median(timings), statistics.median(cpu), found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=50_000)
    args = parser.parse_args()
    setup_django()
    populate(args.products)
    failed = False
    for term in ("lenovo", "ноутбук", "қазақша"):
        median, cpu, found = search_ms(term)
        ok = median <= TARGET_MS
        failed |= not ok
        print(
            f"search {term!r} in {args.products} products: {found} found, median {median:.1f} ms wall, "
            f"{cpu:.1f} ms CPU (target <= {TARGET_MS:.0f} ms) {'ok' if ok else 'SLOW'}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
