"""Benchmark: pulling 5,000 Kaspi orders over 14 days with 50 ms emulated latency per request.

    .venv/bin/python bench/bench_orders.py [--orders 5000] [--latency-ms 50] [--workers 8]

Measures the first pull (time, requests) and an unchanged re-pull (requests must be the list
pages only, no entries calls, no rows written). Runs against the Kaspi emulator over loopback
with a fresh SQLite database in a temporary folder.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django():
    os.environ["DJANGO_SETTINGS_MODULE"] = "kaspisync.settings"
    os.environ["KASPISYNC_VAR_DIR"] = tempfile.mkdtemp(prefix="bench-orders-")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


class WriteCounter:
    """Counts INSERT/UPDATE/DELETE statements on the order tables."""

    TABLES = ('"orders_order"', '"orders_orderentry"', '"orders_orderevent"')

    def __init__(self):
        self.writes = 0

    def __call__(self, execute, sql, params, many, context):
        if sql.split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE") and any(t in sql for t in self.TABLES):
            self.writes += 1
        return execute(sql, params, many, context)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--products", type=int, default=300)
    args = parser.parse_args()
    setup_django()

    from django.conf import settings
    from django.db import connection

    from catalog.models import Product
    from catalog.sku import merchant_sku
    from kaspisync.sandbox.kaspi import KaspiSandbox
    from orders.models import Order, OrderEntry
    from orders.services import pull_orders

    articles = range(10001, 10001 + args.products)
    products = [
        {
            "sku": merchant_sku(a, settings.FEED_SKU_PREFIX),
            "name": f"Товар {a}",
            "price": 5000 + a % 97 * 1000,
            "brand": "Bench",
        }
        for a in articles
    ]
    # 90 % of what Kaspi sells is in our catalog; the rest shows up as unmatched entries.
    Product.objects.bulk_create(
        [Product(article=a, name=f"Товар {a}", dealer_price=4000 + a % 97 * 800) for a in articles if a % 10]
    )
    sandbox = KaspiSandbox(products, orders=args.orders, days=14, latency_ms=args.latency_ms, token="bench-token-1")
    with sandbox.serve() as server:
        settings.KASPI_API_URL, settings.KASPI_TOKEN = server.url, "bench-token-1"
        settings.ORDERS_ENTRY_WORKERS = args.workers

        started = time.perf_counter()
        first = pull_orders()
        first_time = time.perf_counter() - started
        first_pages = sandbox.request_count("/orders", "GET") - sandbox.request_count("/orders/", "GET")

        sandbox.clear_log()
        counter = WriteCounter()
        started = time.perf_counter()
        with connection.execute_wrapper(counter):
            second = pull_orders()
        second_time = time.perf_counter() - started
        pages = sum(1 for m, p, _q in sandbox.log if m == "GET" and p == "/orders")
        entries_calls = sum(
            1 for m, p, _q in sandbox.log if p.startswith(("/orders/", "/orderentries", "/masterproducts"))
        )

    serial_estimate = first.requests_made * args.latency_ms / 1000
    print(
        f"Kaspi order pull: {args.orders} orders over 14 days, {args.latency_ms:.0f} ms latency per request, "
        f"{args.workers} entry workers"
    )
    print(
        f"first pull      : {first_time:7.1f} s   status {first.status}, {first.created} orders stored "
        f"(of {args.orders} generated), {Order.objects.count()} in db, {OrderEntry.objects.count()} entries "
        f"({first.unmatched_entries} unmatched)"
    )
    print(
        f"  requests      : {first.requests_made:7d}     ({first_pages} list pages + entries/product/SKU calls; "
        f"serially that would be ≥ {serial_estimate:.0f} s of latency alone)"
    )
    print(f"  throughput    : {first.created / first_time:7.1f} orders/s")
    print(f"unchanged re-pull: {second_time:6.1f} s   status {second.status}")
    print(
        f"  requests      : {second.requests_made:7d}     target ≤ pages ({pages})   "
        f"{'OK' if second.requests_made <= pages else 'MISSED'}"
    )
    print(f"  entries calls : {entries_calls:7d}     target 0   {'OK' if entries_calls == 0 else 'MISSED'}")
    print(f"  rows written  : {counter.writes:7d}     target 0   {'OK' if counter.writes == 0 else 'MISSED'}")
    print(f"  unchanged     : {second.unchanged:7d}     (created {second.created}, updated {second.updated})")


if __name__ == "__main__":
    main()
