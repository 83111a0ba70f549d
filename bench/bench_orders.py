"""Benchmark: pulling 5,000 Kaspi orders over 14 days with 50 ms emulated latency per request.

    .venv/bin/python bench/bench_orders.py [--orders 5000] [--latency-ms 50] [--workers 8]

Measures the first pull against its floor and an unchanged re-pull. The floor is what no pull
can do without: the list pages (entries included) plus one SKU lookup per distinct Kaspi product
whose SKU is not known yet (its `offer.code` is not one of our SKUs: the emulator gives Kaspi's
own code for 30 % of products, and 10 % of what sells is not in our catalog). Targets: first
pull ≤ 1.2 × the floor in requests and ≤ 15 s; the re-pull makes the list calls only, no
entries or SKU calls, and writes nothing. Runs against the Kaspi emulator over loopback with a
fresh SQLite database in a temporary folder.
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
    parser.add_argument("--omit-included", type=float, default=0.0, help="share of list answers without entries")
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
    sandbox = KaspiSandbox(
        products,
        orders=args.orders,
        days=14,
        latency_ms=args.latency_ms,
        token="bench-token-1",
        omit_included=args.omit_included,
    )
    ours = {merchant_sku(a, settings.FEED_SKU_PREFIX) for a in articles if a % 10}
    sold = {e["sku"] for o in sandbox.orders.values() for e in o["entries"]}
    unknown_products = sum(1 for sku in sold if sandbox.offer_code(sku) not in ours)
    with sandbox.serve() as server:
        settings.KASPI_API_URL, settings.KASPI_TOKEN = server.url, "bench-token-1"
        settings.ORDERS_ENTRY_WORKERS = args.workers

        started = time.perf_counter()
        first = pull_orders()
        first_time = time.perf_counter() - started
        first_pages = sum(1 for m, p, _q in sandbox.log if m == "GET" and p == "/orders")

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

    floor = first_pages + unknown_products
    ratio = first.requests_made / floor

    def verdict(ok: bool) -> str:
        return "OK" if ok else "MISSED"

    print(
        f"Kaspi order pull: {args.orders} orders over 14 days, {args.latency_ms:.0f} ms latency per request, "
        f"{args.workers} workers, {args.omit_included:.0%} of list answers without entries"
    )
    print(
        f"first pull      : {first.created} orders stored (status {first.status}), "
        f"{OrderEntry.objects.count()} entries ({first.unmatched_entries} unmatched), {Order.objects.count()} in db"
    )
    print(f"  time          : {first_time:7.1f} s   target ≤ 15 s   {verdict(first_time <= 15)}")
    print(
        f"  requests      : {first.requests_made:7d}     floor {floor} = {first_pages} list pages + "
        f"{unknown_products} products whose SKU is unknown"
    )
    print(f"  ÷ floor       : {ratio:7.2f}     target ≤ 1.20   {verdict(ratio <= 1.2)}")
    print(
        f"  of which      : {first.stats['sku_lookups']} SKU lookups, {first.stats['entries_fetched']} orders' "
        f"entries asked separately"
    )
    print(f"  throughput    : {first.created / first_time:7.1f} orders/s")
    print(f"unchanged re-pull: {second_time:6.1f} s   status {second.status}")
    print(
        f"  requests      : {second.requests_made:7d}     target = list pages ({pages})   "
        f"{verdict(second.requests_made <= pages)}"
    )
    print(f"  other calls   : {entries_calls:7d}     target 0   {verdict(entries_calls == 0)}")
    print(f"  rows written  : {counter.writes:7d}     target 0   {verdict(counter.writes == 0)}")
    print(f"  unchanged     : {second.unchanged:7d}     (created {second.created}, updated {second.updated})")


if __name__ == "__main__":
    main()
