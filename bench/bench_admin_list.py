"""Product list benchmark: the admin's product list at 50,000 products, through the web server
`make run` starts (gunicorn, as kaspisync.launcher runs it: 2 workers) on a private port, as a
logged-in user, on SQLite.

The catalog is bench_pricing's (a category tree, 300 brands, rules of every scope, commissions,
manual prices, exclusions), priced by a real recompute, with names to search in Russian, Kazakh
and English, part numbers, barcodes, stock by warehouse and Kaspi cards in every status.

Cases: the plain list; searches (ASCII, Cyrillic, Kazakh, an exact article); sorted by each
sortable column, both ways; filtered (in stock, card status, manual price, category, brand,
below the margin floor), and a search with a filter and a sort. Each case: 2 warm-up requests,
then --requests timed ones in a row; p50 and p95 in ms beside the target (issue 10:
p95 <= 100 ms), and the web server's CPU time per request (its processes' user + system time:
what a request costs, however busy the shared machine is). Also prints the queries one page runs with 100 rows and with 500 (Django's test
client in this process): a list's queries must not grow with its rows.

    .venv/bin/python bench/bench_admin_list.py [--products 50000] [--requests 30] [--port 18900]
                                              [--var-dir DIR]   # keep the catalog for the next run
"""

import argparse
import math
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_P95_MS = 100.0
USER, PASSWORD = "bench", "bench-admin-list-password"
WORDS = ["Ноутбук", "Мышь", "Клавиатура", "Монитор", "Кабель", "Принтер", "Қазақша пернетақта", "Өнім"]
LIST = "/admin/catalog/product/"
# list_display: 0 action checkbox, 1 product (name), 2 dealer price, 3 sale price, 4 margin,
# 5 status (not sortable), 6 stock, 7 Kaspi card (not sortable)
CASES = [
    ("plain list", ""),
    ("page 50", "p=50"),
    ("search ASCII 'lenovo'", "q=lenovo"),
    ("search Cyrillic 'ноутбук'", "q=ноутбук"),
    ("search Kazakh 'қазақша'", "q=қазақша"),
    ("search article '100123'", "q=100123"),
    ("search part number 'PN-0123'", "q=PN-0123"),
    ("sort by name", "o=1"),
    ("sort by dealer price, desc", "o=-2"),
    ("sort by sale price", "o=3"),
    ("sort by margin %, desc", "o=-4"),
    ("sort by stock, desc", "o=-6"),
    ("filter in stock", "in_stock=yes"),
    ("filter card ready", "card_status=ready"),
    ("filter manual price", "manual_price=yes"),
    ("filter below margin floor", "below_margin_floor__exact=1"),
    ("filter category", "category__id__exact={category}"),
    ("filter brand", "brand__id__exact={brand}"),
    ("search + filter + sort", "q=ноутбук&in_stock=yes&o=-3"),
]


def setup_django(var_dir: str) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "kaspisync.settings"
    os.environ["KASPISYNC_VAR_DIR"] = var_dir
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


def populate(count: int) -> None:
    """bench_pricing's catalog, priced, with searchable names, stock and Kaspi cards."""
    from bench_pricing import populate as pricing_catalog
    from django.contrib.auth import get_user_model

    from cards.models import CardStatus, ProductCard
    from catalog.models import Product
    from catalog.services.pricing import recompute_prices

    pricing_catalog(count)
    rnd = random.Random(17)
    products = list(Product.objects.only("pk", "article"))
    for p in products:
        i = p.article - 100_000
        p.name = f"{rnd.choice(WORDS)} {rnd.choice(['Lenovo', 'HP', 'ASUS'])} IdeaPad {i} 15.6 Intel Core i5 8GB"
        p.article_pn = f"PN-{i:06d}"
        p.barcode = f"48{i:011d}"
        p.warehouse_stock = {"1": rnd.randint(0, 5), "7": rnd.randint(0, 5)}
    Product.objects.bulk_update(products, ["name", "article_pn", "barcode", "warehouse_stock"], batch_size=2000)
    statuses = [s for s in CardStatus.values if s != CardStatus.NO_MAPPING]
    ProductCard.objects.bulk_create(
        (ProductCard(product_id=p.pk, status=rnd.choice(statuses)) for p in products if rnd.random() < 0.6),
        batch_size=2000,
    )
    recompute_prices()
    get_user_model().objects.create_superuser(USER, password=PASSWORD)


# --- queries per page, in this process -------------------------------------------------------------
def queries_per_page(rows: int) -> int:
    from django.contrib import admin
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from catalog.models import Product

    model_admin = admin.site._registry[Product]
    client = Client(HTTP_HOST="localhost")
    client.force_login(get_user_model().objects.get(username=USER))
    saved = model_admin.list_per_page
    model_admin.list_per_page = rows
    try:
        client.get(LIST)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(LIST)
    finally:
        model_admin.list_per_page = saved
    shown = response.content.decode().count('name="_selected_action"')
    if response.status_code != 200 or shown != rows:
        raise SystemExit(f"the list answered {response.status_code} with {shown} rows instead of {rows}")
    return len(captured.captured_queries)


# --- the web server ------------------------------------------------------------------------------
def free_port(first: int) -> int:
    """`first`, or the next free port of its hundred (another `make run` may hold one)."""
    for port in range(first, first - first % 100 + 100):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise SystemExit(f"ports {first}..{first - first % 100 + 99} are in use: choose others with --port")


def start_server(port: int, env: dict) -> subprocess.Popen:
    """gunicorn as kaspisync.launcher starts it (workers from WEB_CONCURRENCY, default 2)."""
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "kaspisync.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        os.environ.get("WEB_CONCURRENCY", "2"),
        "--timeout",
        "120",
        "--limit-request-line",
        "8190",
        "--log-level",
        "warning",
    ]
    import requests

    server = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and server.poll() is None:
        try:
            requests.get(f"http://127.0.0.1:{port}/admin/login/", timeout=10)
            return server
        except requests.RequestException:
            time.sleep(0.3)
    stop_server(server)
    raise SystemExit(f"gunicorn did not answer within 90 s (exit code {server.returncode})")


def stop_server(server: subprocess.Popen) -> None:
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def logged_in(base: str):
    """A session logged in through the admin's login form (CSRF token and all)."""
    import requests

    session = requests.Session()
    page = session.get(f"{base}/admin/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answer = session.post(
        f"{base}/admin/login/?next=/admin/",
        data={"csrfmiddlewaretoken": token, "username": USER, "password": PASSWORD, "next": "/admin/"},
        headers={"Referer": f"{base}/admin/login/"},
        timeout=30,
        allow_redirects=False,
    )
    if answer.status_code != 302:
        raise SystemExit(f"login failed: {answer.status_code}")
    return session


def server_cpu_ms(server: subprocess.Popen) -> float:
    """CPU time (user + system) the web server's processes have used so far, in ms: beside the
    wall times, what a request costs whatever else the machine is doing."""
    pids = [server.pid]
    try:
        with open(f"/proc/{server.pid}/task/{server.pid}/children") as fh:
            pids += [int(pid) for pid in fh.read().split()]
    except OSError:
        pass
    ticks = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        except OSError:
            continue
    return ticks * 1000 / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def measure(session, server, url: str, requests_count: int) -> tuple[list[float], float, int]:
    for _ in range(2):
        session.get(url, timeout=60)
    timings, rows = [], 0
    cpu_before = server_cpu_ms(server)
    for _ in range(requests_count):
        started = time.perf_counter()
        response = session.get(url, timeout=60)
        timings.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200 or "/admin/login/" in response.url:
            raise SystemExit(f"{url}: {response.status_code} {response.url}")
        rows = response.text.count('name="_selected_action"')
    return timings, (server_cpu_ms(server) - cpu_before) / requests_count, rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=30, help="timed requests per case")
    parser.add_argument("--port", type=int, default=18900, help="the first port tried (then the next free one)")
    parser.add_argument("--var-dir", help="keep the populated database here and reuse it on the next run")
    args = parser.parse_args()
    keep = bool(args.var_dir)
    var_dir = args.var_dir or tempfile.mkdtemp(prefix="bench-admin-list-")
    Path(var_dir).mkdir(parents=True, exist_ok=True)
    reuse = keep and (Path(var_dir) / "db.sqlite3").exists()
    setup_django(var_dir)
    server = None
    try:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        if reuse:
            print(f"reusing the catalog in {var_dir}", flush=True)
        else:
            started = time.perf_counter()
            populate(args.products)
            print(f"setup: {args.products:,} products in {time.perf_counter() - started:.0f} s", flush=True)
        from catalog.models import Product

        per_100, per_500 = queries_per_page(100), queries_per_page(500)
        same = per_500 <= per_100
        print(f"queries per page: {per_100} with 100 rows, {per_500} with 500 rows {'ok' if same else 'GROWS'}")
        sample = Product.objects.exclude(category=None).exclude(brand=None).order_by("pk")[args.products // 2]
        from django.db import connections

        connections.close_all()  # the server's workers open their own
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        port = free_port(args.port)
        server = start_server(port, env)
        base = f"http://127.0.0.1:{port}"
        session = logged_in(base)
        failed = not same
        print(f"product list at {Product.objects.count():,} products, {args.requests} requests per case, gunicorn:")
        for label, query in CASES:
            query = query.format(category=sample.category_id, brand=sample.brand_id)
            timings, cpu, rows = measure(session, server, f"{base}{LIST}?{query}", args.requests)
            p50, p95 = statistics.median(timings), percentile(timings, 0.95)
            ok = p95 <= TARGET_P95_MS
            failed |= not ok
            print(
                f"   {label:<30} {rows:>4} rows  p50 {p50:6.1f} ms  p95 {p95:6.1f} ms "
                f"(target p95 <= {TARGET_P95_MS:.0f} ms) {'ok' if ok else 'SLOW'}  server CPU {cpu:5.1f} ms/request",
                flush=True,
            )
        return 1 if failed else 0
    finally:
        if server is not None:
            stop_server(server)
        if not keep:
            shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
