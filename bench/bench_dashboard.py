"""Dashboard benchmark: the admin index page staff open first thing every morning, at 20,000
orders, through the web server `make run` starts (gunicorn, 2 workers, as bench_admin_list runs
it) on a private port, as a logged-in superuser (every panel shown), on SQLite (with --postgres:
on a private PostgreSQL server, bench/private_postgres.py, whose CPU time counts too).

The orders are spread over the last 60 days (about 10,000 in the dashboard's 30-day window: a
busy shop's month), 1 to 3 lines each, as a pull stores them: costs kept when ordered on most
lines, today's catalog cost on the rest (commission by category), 2 % of lines not in our
catalog, 3 % of lines with units bought from Al-Style (some unmarked); orders wait for acceptance
only in the last 2 hours and are on their way only in the last 3 days (the purchase list reads
those), the older ones are settled (completed, cancelled, returned).

Prints the queries the page runs with 2,000 orders and with 20,000 (Django's test client in
this process): they must be the same. Then the web server's CPU time per request (its
processes' user + system time: what a request costs, however busy the shared machine is; median
of rounds of 5 requests) and the wall-time p50/p95, beside the target: <= 300 ms of server CPU
per request, a quarter of the ~1.1-1.24 s measured before the margins moved into the database.
What is left grows with the 30-day window (one aggregate query over its ~10,000 orders: ~60 ms
on SQLite) and with the open orders (the "to buy today" panel builds the purchase list of ~800
of them: ~70 ms), not with the orders before; the page with no order at all costs ~60-80 ms.

With --baseline DIR (another checkout, e.g. `git archive main | tar -x -C DIR`), a second server
runs that code on the same database and the two are measured in one run, interleaved (rounds of
5 requests each, in turn), so the shared machine's load falls on both alike.

    .venv/bin/python bench/bench_dashboard.py [--orders 20000] [--requests 40] [--port 18200]
                                              [--baseline DIR] [--var-dir DIR] [--postgres]
"""

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
TARGET_CPU_MS = 300.0
SMALL = 2_000  # orders when the queries are first counted
INDEX = "/admin/"


def setup_django(var_dir: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "kaspisync.settings"
    os.environ["KASPISYNC_VAR_DIR"] = var_dir
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


def seed_catalog(rng: random.Random) -> None:
    """100 categories (a third with their own commission), 2,000 products (1 % without a dealer
    price, 2 % without a category)."""
    from catalog.models import Category, CommissionRate, Product

    categories = Category.objects.bulk_create([Category(id=i, name=f"Категория {i}", level=1) for i in range(1, 101)])
    CommissionRate.objects.bulk_create(
        [CommissionRate(category=c, percent=Decimal(rng.choice(["8", "10.5", "12", "15"]))) for c in categories[::3]]
    )
    Product.objects.bulk_create(
        [
            Product(
                article=100_000 + i,
                name=f"Товар {i}",
                category=categories[i % 100] if i % 50 else None,
                dealer_price=None if i % 97 == 0 else rng.randint(1_000, 300_000),
                sale_price=rng.randint(1_500, 400_000),
                stock=rng.randint(0, 40),
            )
            for i in range(2_000)
        ],
        batch_size=2000,
    )


def seed_orders(first: int, last: int, days: int, rng: random.Random) -> None:
    """Orders number `first` to `last` - 1 over the last `days` days, their lines and purchases."""
    from django.db import transaction
    from django.utils import timezone

    from catalog.models import Product
    from orders.models import Order, OrderEntry, OrderStatus, Purchase

    now = timezone.now()
    before = Order.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    products = list(Product.objects.values_list("pk", "dealer_price"))
    settled = [
        (OrderStatus.COMPLETED, 0.90),
        (OrderStatus.CANCELLED, 0.055),
        (OrderStatus.CANCELLING, 0.005),
        (OrderStatus.RETURNED, 0.02),
        (OrderStatus.KASPI_DELIVERY_RETURN_REQUESTED, 0.01),
        (OrderStatus.RETURN_ACCEPTED_BY_MERCHANT, 0.01),
    ]
    batch = 5000
    for start in range(first, last, batch):
        orders, lines = [], []
        for i in range(start, min(start + batch, last)):
            created = now - timedelta(seconds=rng.uniform(0, days * 86400))
            age = now - created
            if age < timedelta(hours=2) and rng.random() < 0.5:
                status = OrderStatus.APPROVED_BY_BANK  # waits for acceptance
            elif age < timedelta(days=3) and rng.random() < 0.8:
                status = OrderStatus.ACCEPTED_BY_MERCHANT  # on its way
            else:
                status = rng.choices([s for s, _ in settled], [w for _, w in settled])[0]
            entries = []
            for _k in range(rng.choice([1, 1, 1, 2, 3])):
                quantity = Decimal(rng.choice(["1", "1", "1", "2", "3", "0.5", "1.250"]))
                roll = rng.random()
                if roll < 0.02:  # not in our catalog: the order's margin is unknown
                    product_id, dealer, percent = None, None, None
                else:
                    product_id, today = rng.choice(products)
                    if roll < 0.07:  # stored before it was matched: the catalog's cost today
                        dealer, percent = None, None
                    else:
                        dealer = (today or rng.randint(1_000, 300_000)) - rng.choice([0, 0, 500])
                        percent = Decimal(rng.choice(["8", "10.5", "12", "12.35"]))
                price = Decimal(rng.randrange(1_500, 450_000)) + Decimal(rng.choice(["0", "0", "0.5", "0.99"]))
                entries.append((product_id, quantity, price, dealer, percent))
            total = sum((q * p for _, q, p, _, _ in entries), Decimal(0))
            orders.append(
                Order(
                    kaspi_id=f"bench-{i}",
                    code=str(700_000_000 + i),
                    state="ARCHIVE",
                    status=status,
                    total_price=total.quantize(Decimal("0.01")),
                    delivery_cost_for_seller=Decimal(rng.choice(["0", "0", "0", "1500", "2390.50"])),
                    created_at=created,
                    approved_by_bank_at=created + timedelta(seconds=30),
                    attributes_hash="x",
                )
            )
            lines.append(entries)
        with transaction.atomic():
            Order.objects.bulk_create(orders, batch_size=1000)
            pks = dict(Order.objects.filter(kaspi_id__in=[o.kaspi_id for o in orders]).values_list("kaspi_id", "pk"))
            rows = []
            for order, entries in zip(orders, lines, strict=True):
                for k, (product_id, quantity, price, dealer, percent) in enumerate(entries):
                    rows.append(
                        OrderEntry(
                            order_id=pks[order.kaspi_id],
                            kaspi_id=f"{order.code}-{k}",
                            entry_number=k,
                            sku=f"AS{product_id}" if product_id else "FOREIGN",
                            product_id=product_id,
                            name="Товар",
                            quantity=quantity,
                            base_price=price,
                            total_price=(quantity * price).quantize(Decimal("0.01")),
                            dealer_price_at_order=dealer,
                            commission_percent_at_order=percent,
                        )
                    )
            OrderEntry.objects.bulk_create(rows, batch_size=2000)
    # units bought from Al-Style for ~3 % of the lines (some twice, some unmarked): their cost is the price paid
    bought = list(
        OrderEntry.objects.filter(product__isnull=False, order_id__gt=before).values_list(
            "pk", "order_id", "product_id", "quantity"
        )
    )
    purchases = []
    for entry_id, order_id, product_id, quantity in rng.sample(bought, len(bought) // 33):
        for _ in range(rng.choice([1, 1, 2])):
            purchases.append(
                Purchase(
                    order_id=order_id,
                    entry_id=entry_id,
                    product_id=product_id,
                    article=1,
                    quantity=rng.randint(1, max(1, int(quantity) + 1)),
                    unit_price=rng.randint(900, 250_000),
                    document="Б-1",
                    recorded_at=now - timedelta(days=rng.randint(0, 30)),
                    unmarked_at=now if rng.random() < 0.1 else None,
                )
            )
    Purchase.objects.bulk_create(purchases, batch_size=2000)


# --- queries per page, in this process -------------------------------------------------------------
def queries_per_page() -> int:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="localhost")
    client.force_login(get_user_model().objects.get(is_superuser=True))
    client.get(INDEX)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(INDEX)
    if response.status_code != 200 or 'id="sales-charts"' not in response.content.decode():
        raise SystemExit(f"the dashboard answered {response.status_code} without its charts")
    return len(captured.captured_queries)


# --- the web servers -----------------------------------------------------------------------------
def measure(servers: dict, requests_count: int, database_cpu=None, round_size: int = 5) -> dict:
    """{label: (wall times in ms, server CPU ms per request)}: rounds of `round_size` requests
    to each server in turn. `database_cpu`: the database server's CPU seconds so far (PostgreSQL),
    added to the web server's."""
    from bench_admin_list import server_cpu_ms

    def cpu_ms(server) -> float:
        return server_cpu_ms(server) + (database_cpu() * 1000 if database_cpu else 0.0)

    result = {label: ([], []) for label in servers}
    for _ in range(-(-requests_count // round_size)):
        for label, (server, session, url) in servers.items():
            cpu_before = cpu_ms(server)
            for _ in range(round_size):
                started = time.perf_counter()
                response = session.get(url, timeout=120)
                result[label][0].append((time.perf_counter() - started) * 1000)
                if response.status_code != 200 or 'id="sales-charts"' not in response.text:
                    raise SystemExit(f"{label}: {response.status_code} {response.url}")
            result[label][1].append((cpu_ms(server) - cpu_before) / round_size)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=60, help="the orders are spread over this many days back")
    parser.add_argument("--requests", type=int, default=40, help="timed requests (per server)")
    parser.add_argument("--port", type=int, default=18200, help="the first port tried (then the next free one)")
    parser.add_argument("--baseline", help="another checkout to measure beside this one, interleaved")
    parser.add_argument("--var-dir", help="keep the populated database here and reuse it on the next run")
    parser.add_argument(
        "--postgres", action="store_true", help="on a private PostgreSQL server started for the bench (CPU: its too)"
    )
    args = parser.parse_args()
    if not args.postgres:
        return run(args)
    from private_postgres import private_postgres

    with private_postgres() as url:
        os.environ["DATABASE_URL"] = url
        return run(args)


def run(args) -> int:
    keep = bool(args.var_dir)
    var_dir = args.var_dir or tempfile.mkdtemp(prefix="bench-dashboard-")
    Path(var_dir).mkdir(parents=True, exist_ok=True)
    reuse = keep and not args.postgres and (Path(var_dir) / "db.sqlite3").exists()
    setup_django(var_dir)
    from bench_admin_list import PASSWORD, USER, free_port, logged_in, percentile, start_server, stop_server

    servers = {}
    try:
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.db import connections

        from orders.models import Order

        call_command("migrate", verbosity=0)
        counted = None
        if reuse:
            print(f"reusing the orders in {var_dir}", flush=True)
        else:
            started, rng = time.perf_counter(), random.Random(21)
            seed_catalog(rng)
            get_user_model().objects.create_superuser(USER, password=PASSWORD)  # bench_admin_list logs in as it
            small = min(SMALL, args.orders)
            seed_orders(0, small, args.days, rng)
            counted = (small, queries_per_page())
            seed_orders(small, args.orders, args.days, rng)
            print(f"setup: {args.orders:,} orders in {time.perf_counter() - started:.0f} s", flush=True)
        queries = queries_per_page()
        if counted:
            same = queries <= counted[1]
            print(
                f"queries per page: {counted[1]} with {counted[0]:,} orders, {queries} with {args.orders:,} "
                f"(target: the same) {'ok' if same else 'GROWS'}"
            )
        else:
            same = True
            print(f"queries per page: {queries} with {Order.objects.count():,} orders")
        database_cpu = None
        if args.postgres:
            from bench_quality import database_cpu as postgres_cpu

            database_cpu = postgres_cpu()
        connections.close_all()  # the servers' workers open their own
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        port = free_port(args.port)
        base = f"http://127.0.0.1:{port}"
        servers["this checkout"] = (start_server(port, env), None, f"{base}{INDEX}")
        servers["this checkout"] = (servers["this checkout"][0], logged_in(base), f"{base}{INDEX}")
        if args.baseline:
            baseline = Path(args.baseline).resolve()
            port = free_port(port + 1)
            base, label = f"http://127.0.0.1:{port}", f"baseline {baseline}"
            servers[label] = (start_server_in(baseline, port, env), None, f"{base}{INDEX}")
            servers[label] = (servers[label][0], logged_in(base), f"{base}{INDEX}")
        for _server, session, url in servers.values():  # warm up
            for _ in range(3):
                session.get(url, timeout=120)
        window = Order.objects.filter(created_at__gte=time_ago(days=30)).count()
        print(
            f"dashboard at {Order.objects.count():,} orders ({window:,} in the last 30 days), "
            f"{args.requests} requests per server, gunicorn on {connections['default'].vendor}:"
        )
        failed = not same
        for label, (timings, cpu) in measure(servers, args.requests, database_cpu).items():
            cpu_ms = statistics.median(cpu)
            line = (
                f"   {label:<16} server CPU {cpu_ms:6.1f} ms/request (median of {len(cpu)} rounds)  "
                f"p50 {statistics.median(timings):6.1f} ms  p95 {percentile(timings, 0.95):6.1f} ms"
            )
            if label == "this checkout":  # the baseline is there to compare, not to judge
                ok = cpu_ms <= TARGET_CPU_MS
                failed |= not ok
                line += f"  (target CPU <= {TARGET_CPU_MS:.0f} ms) {'ok' if ok else 'SLOW'}"
            print(line, flush=True)
        print(f"   load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        return 1 if failed else 0
    finally:
        for server, _session, _url in servers.values():
            stop_server(server)
        if not keep:
            shutil.rmtree(var_dir, ignore_errors=True)


def time_ago(**delta):
    from django.utils import timezone

    return timezone.now() - timedelta(**delta)


def start_server_in(checkout: Path, port: int, env: dict):
    """bench_admin_list's gunicorn, running another checkout's code (with this virtualenv)."""
    import bench_admin_list

    saved = bench_admin_list.ROOT
    bench_admin_list.ROOT = checkout
    try:
        return bench_admin_list.start_server(port, {**env, "PYTHONDONTWRITEBYTECODE": "1"})
    finally:
        bench_admin_list.ROOT = saved


if __name__ == "__main__":
    sys.exit(main())
