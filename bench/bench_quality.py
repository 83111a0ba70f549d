"""Benchmark: Kaspi quality figures over 200,000 stored orders (target ≤ 0.5 s each).

    .venv/bin/python bench/bench_quality.py [--orders 200000] [--days 365] [--repeat 5]

Fills a fresh database with orders spread over the last `--days` days (about 4 % cancelled,
for every kind of reason and actor, 1 % returned, acceptance events for most) with their timeline,
then times, as the median of `--repeat` runs: the dashboard panel's figures, the quality page's
figures (30/90-day windows, 12 months, 90-day trend, acceptance times), `quality_report`'s, the
share shown on the out-of-stock cancel confirmation, and the threshold check of the alerts.

The database is a fresh SQLite file in a temporary folder (deleted at the end); with `--postgres`
the same runs on a private PostgreSQL server started for the bench (bench/private_postgres.py,
like scripts/test.sh's; needs PostgreSQL's server binaries), and with `DATABASE_URL` set to
PostgreSQL a fresh database `bench_quality_<pid>` is created on that server and dropped at the end.
"""

import argparse
import contextlib
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TARGET_SECONDS = 0.5


def setup_django(var_dir: str) -> tuple[str, str]:
    """Django on a fresh database; returns the engine and the name of the database to go back to."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "kaspisync.settings"
    os.environ["KASPISYNC_VAR_DIR"] = var_dir
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django
    from django.conf import settings

    django.setup()
    db = settings.DATABASES["default"]
    original_name = db["NAME"]
    if db["ENGINE"].endswith("postgresql"):
        # Work in a database of our own on that server, never in the one DATABASE_URL names.
        from django.db import connection

        name = f"bench_quality_{os.getpid()}"
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        connection.close()
        db["NAME"] = name
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return db["ENGINE"].rsplit(".", 1)[-1], original_name


def drop_database(original_name: str) -> None:
    from django.conf import settings
    from django.db import connection

    db = settings.DATABASES["default"]
    if not db["ENGINE"].endswith("postgresql"):
        return
    name = db["NAME"]
    connection.close()
    db["NAME"] = original_name
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
    connection.close()


def fill(n_orders: int, days: int, seed: int = 15) -> None:
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from orders import quality
    from orders.models import EventSource, Order, OrderEvent, OrderStatus

    rng = random.Random(seed)
    user = get_user_model().objects.create_user("bench-manager")
    now = timezone.now()
    reasons = ["MERCHANT_OUT_OF_STOCK", "BUYER_CANCELLATION_BY_MERCHANT", "BUYER_NOT_REACHABLE", "TIMEOUT_BUYER_PICKUP"]
    reasons += ["BUYER_CANCELLATION", "SOMETHING_NEW", ""]
    batch = 5000
    for first in range(0, n_orders, batch):
        orders, plans = [], []
        for i in range(first, min(first + batch, n_orders)):
            created = now - timedelta(seconds=rng.uniform(0, days * 86400))
            roll = rng.random()
            waited = timedelta(minutes=rng.lognormvariate(2.5, 1.0))
            if created > now - timedelta(hours=2) and roll < 0.5:
                status, reason = OrderStatus.APPROVED_BY_BANK, ""
            elif roll < 0.04:
                status, reason = OrderStatus.CANCELLED, rng.choice(reasons)
            elif roll < 0.043:
                status, reason = OrderStatus.CANCELLING, rng.choice(reasons)
            elif roll < 0.053:
                status, reason = rng.choice([OrderStatus.RETURNED, OrderStatus.KASPI_DELIVERY_RETURN_REQUESTED]), ""
            else:
                status, reason = OrderStatus.COMPLETED, ""
            approved = created + timedelta(seconds=30)
            # seen waiting by a pull 2 minutes after creation, then accepted: stored as the services store it
            accepted = None if status == OrderStatus.APPROVED_BY_BANK else created + timedelta(minutes=2) + waited
            orders.append(
                Order(
                    kaspi_id=f"bench-{i}",
                    code=str(500_000_000 + i),
                    state="ARCHIVE",
                    status=status,
                    total_price=rng.randrange(3_000, 400_000),
                    created_at=created,
                    approved_by_bank_at=approved,
                    cancellation_reason=reason,
                    attributes_hash="x",
                    accepted_at=accepted,
                    acceptance_time=accepted - approved if accepted else None,
                )
            )
            plans.append((created, status, rng.random()))
        with transaction.atomic():
            Order.objects.bulk_create(orders, batch_size=1000)
            pks = dict(Order.objects.filter(kaspi_id__in=[o.kaspi_id for o in orders]).values_list("kaspi_id", "pk"))
            events = []
            for order, (created, status, coin) in zip(orders, plans, strict=True):
                pk = pks[order.kaspi_id]
                seen = created + timedelta(minutes=2)
                events.append(
                    OrderEvent(order_id=pk, at=seen, source=EventSource.PULL, to_status=OrderStatus.APPROVED_BY_BANK)
                )
                if status == OrderStatus.APPROVED_BY_BANK:
                    continue
                accepted = order.accepted_at
                by_staff = coin < 0.6  # accepted here by a person, by auto-accept, or seen accepted by a pull
                source = EventSource.USER if by_staff else quality.AUTO_SOURCE if coin < 0.75 else EventSource.PULL
                events.append(
                    OrderEvent(
                        order_id=pk,
                        at=accepted,
                        source=source,
                        user=user if by_staff else None,
                        from_status=OrderStatus.APPROVED_BY_BANK,
                        to_status=OrderStatus.ACCEPTED_BY_MERCHANT,
                    )
                )
                if status in (OrderStatus.CANCELLED, OrderStatus.CANCELLING):
                    events.append(
                        OrderEvent(
                            order_id=pk,
                            at=accepted + timedelta(hours=3),
                            source=EventSource.USER if coin < 0.5 else EventSource.PULL,
                            user=user if coin < 0.5 else None,
                            from_status=OrderStatus.ACCEPTED_BY_MERCHANT,
                            to_status=status,
                        )
                    )
            OrderEvent.objects.bulk_create(events, batch_size=2000)


def _ticks(pid: int | str, *fields: int) -> int:
    """Sum of the given fields (numbered as in proc(5)) of /proc/<pid>/stat."""
    values = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(values[n - 3]) for n in fields)


def database_cpu():
    """A function returning the CPU seconds a local PostgreSQL server has used so far (its
    processes alive, and those it has reaped, parallel workers included), or None when there is
    no such server to read: SQLite works in this process, a remote server is not visible."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    try:
        postmaster = Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1]
    except OSError:
        return None
    tick = os.sysconf("SC_CLK_TCK")

    def read() -> float:
        total = _ticks(postmaster, 16, 17)  # cutime, cstime: children reaped
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                values = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # ended meanwhile
            if values[1] == postmaster:
                total += int(values[11]) + int(values[12])  # utime, stime
        return total / tick

    return read


def timed(func, repeat: int, server_cpu=None) -> tuple[float, list[float], float]:
    """Median wall time, every run's wall time, and the median CPU time: this process's (with
    SQLite the database works in it) plus, with `server_cpu`, the database server's. CPU time is
    the figure a busy machine blurs least."""
    runs, cpu = [], []
    for _ in range(repeat):
        server_before = server_cpu() if server_cpu else 0.0
        started, started_cpu = time.perf_counter(), time.process_time()
        func()
        runs.append(time.perf_counter() - started)
        used = time.process_time() - started_cpu
        cpu.append(used + (server_cpu() - server_before if server_cpu else 0.0))
    return statistics.median(runs), runs, statistics.median(cpu)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--days", type=int, default=365, help="orders are spread over this many days back")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres", action="store_true", help="on a private PostgreSQL server started for the bench")
    args = parser.parse_args()
    var_dir = tempfile.mkdtemp(prefix="bench-quality-")
    try:
        with contextlib.ExitStack() as stack:
            if args.postgres:
                from private_postgres import private_postgres

                os.environ["DATABASE_URL"] = stack.enter_context(private_postgres())
            engine, original_name = setup_django(var_dir)
            try:
                run(args, engine)
            finally:
                drop_database(original_name)
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)


def run(args, engine: str) -> None:
    from django.core.management import call_command
    from django.db import connection

    from orders import quality
    from orders.models import Order, OrderEvent
    from orders.services.quality import check_cancellation_share

    started = time.perf_counter()
    fill(args.orders, args.days)
    if engine == "postgresql":  # what autovacuum does on a live database (SQLite keeps no statistics by default)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    fill_time = time.perf_counter() - started
    print(
        f"Kaspi quality figures on {engine}: {Order.objects.count()} orders over {args.days} days, "
        f"{OrderEvent.objects.count()} timeline events (filled in {fill_time:.0f} s); "
        f"median of {args.repeat} runs, target ≤ {TARGET_SECONDS} s each"
    )
    order = Order.objects.filter(status="APPROVED_BY_BANK").first() or Order.objects.first()
    cases = [
        ("dashboard panel (30 days, trend, slowest)", quality.dashboard),
        ("quality page (30/90 days, 12 months, trend, acceptance)", quality.page),
        ("quality_report --json (30 days)", lambda: call_command("quality_report", "--json", stdout=_Null())),
        ("out-of-stock cancel confirmation", lambda: quality.cancel_preview(order)),
        ("threshold check (alerts)", check_cancellation_share),
    ]
    server_cpu = database_cpu()
    if engine == "sqlite3":
        print("  (cpu: this process, which runs SQLite too)")
    elif server_cpu:
        print("  (cpu: this process plus the PostgreSQL server's processes)")
    missed = 0
    for name, func in cases:
        median, runs, cpu = timed(func, args.repeat, server_cpu)
        ok = median <= TARGET_SECONDS
        missed += not ok
        shown = " ".join(f"{r:.3f}" for r in runs)
        cpu_note = f"   cpu {cpu:.3f} s" if engine == "sqlite3" or server_cpu else ""
        print(
            f"  {name:58s} {median:6.3f} s   target ≤ {TARGET_SECONDS} s   {'OK' if ok else 'MISSED'}"
            f"{cpu_note}   (runs {shown})"
        )
    figures = quality.rolling(30)
    print(
        f"  (30-day share {figures.cancelled_share:.2%}: {figures.cancelled} of {figures.orders} orders, "
        f"merchant-side {figures.merchant_share:.2%})"
    )
    print(f"  load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if missed:
        sys.exit(1)


class _Null:
    def write(self, text):
        pass

    def flush(self):
        pass


if __name__ == "__main__":
    main()
