"""Catalog import benchmark: a 50,000-product Al-Style sandbox, minimum interval 0.

Prints products/s for the first import and for an unchanged re-import, and the peak memory (max
RSS) of the importing process: Django set up as in a worker, the HTTP fetch, the JSON parsing and
the import itself. The sandbox runs in its own process and the database is migrated by another
one (`manage.py migrate`, as on deploy), so neither is counted. Targets (SQLite, 2 cores): first
>= 5,000/s, unchanged >= 30,000/s (best of 3), peak <= 64 MB.

    .venv/bin/python bench/bench_import.py [--products 50000] [--repeats 3] [--tracemalloc] [--with-hooks]
"""

import argparse
import gc
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-token-0f3c"
TARGETS = {"first": 5000, "unchanged": 30000, "peak_mb": 64}


def rss_mb() -> tuple[float, float]:
    """(current, peak) RSS of this process, MB."""
    with open("/proc/self/status") as fh:
        fields = dict(line.split(":", 1) for line in fh)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def start_sandbox(products: int):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kaspisync.sandbox.alstyle",
            "--port",
            "0",
            "--products",
            str(products),
            "--interval",
            "0",
            "--token",
            TOKEN,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()  # "Al-Style sandbox: http://127.0.0.1:PORT/api/ (...)"
    if not line.startswith("Al-Style sandbox:"):
        process.kill()
        raise SystemExit(f"sandbox did not start: {line!r}")
    return process, line.split()[2]


def warm_up(url: str) -> None:
    """Read every page once (in a child process, on the parent's database)."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from catalog.alstyle import AlstyleClient

    for _page in AlstyleClient(base_url=url, token=TOKEN, min_interval=0.0).product_pages():
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--products", type=int, default=50_000)
    parser.add_argument("--tracemalloc", action="store_true", help="also trace Python allocations (slower)")
    parser.add_argument("--repeats", type=int, default=3, help="unchanged re-imports (the best is reported)")
    parser.add_argument("--warm-up", metavar="URL", help=argparse.SUPPRESS)  # the child reading every page once
    parser.add_argument(
        "--with-hooks",
        action="store_true",
        help="keep what runs after an import commits (the pricing recompute) inside the timings",
    )
    args = parser.parse_args()

    os.environ["DJANGO_SETTINGS_MODULE"] = "kaspisync.settings"
    if args.warm_up:
        return warm_up(args.warm_up)
    os.environ["KASPISYNC_VAR_DIR"] = tempfile.mkdtemp(prefix="kaspisync-bench-")
    os.environ["LOG_LEVEL"] = "WARNING"
    sys.path.insert(0, str(ROOT))
    subprocess.run([sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=ROOT, check=True)
    import django

    django.setup()
    gc.collect()
    setup_mb = rss_mb()[0]
    from django.conf import settings

    from catalog.models import Product
    from catalog.services import hooks, importing
    from catalog.services.importing import import_catalog

    # The peak of the import itself, before what follows its commit: the receivers of
    # catalog_changed ask for the price list rebuild and the cards refresh through the outbox
    # (kaspisync.runs.defer_task: rows, no Celery, which would add some 6 MB here).
    peaks_before_commit_work = []
    after_commit = importing._after_commit

    def _after_commit(*args):
        peaks_before_commit_work.append(rss_mb()[1])
        return after_commit(*args)

    importing._after_commit = _after_commit
    if not args.with_hooks:
        # The import alone: the after-import hook (pricing's recompute) has its own benchmark.
        hooks.after_import = lambda run, changed_product_ids: None
    print(f"after-import hook (pricing recompute) {'included' if args.with_hooks else 'excluded'}", flush=True)

    print(f"Starting a {args.products:,}-product sandbox ...", flush=True)
    sandbox, url = start_sandbox(args.products)
    settings.ALSTYLE_API_URL, settings.ALSTYLE_TOKEN, settings.ALSTYLE_MIN_INTERVAL = url, TOKEN, 0.0
    try:
        # Let the emulator serialise and cache its pages once: its own work is not the importer's (read
        # by another process, with the very same requests, so that this one's peak is the import's).
        subprocess.run([sys.executable, __file__, "--warm-up", url], check=True)
        gc.collect()
        print(f"RSS after Django setup: {setup_mb:.0f} MB; with the import's modules: {rss_mb()[0]:.0f} MB", flush=True)
        if args.tracemalloc:
            tracemalloc.start()
        # The first import happens once per database; the unchanged one is repeated and the best of
        # three reported (the machine may be shared), every figure printed.
        for label, repeats in (("first", 1), ("unchanged", args.repeats)):
            timings = []
            for _ in range(repeats):
                started = time.perf_counter()
                run = import_catalog(trigger="command")
                timings.append(time.perf_counter() - started)
                assert run.status == "success", run.error
            seen = run.created + run.updated + run.unchanged
            rate = seen / min(timings)
            every = f" (all runs: {', '.join(f'{seen / t:,.0f}' for t in timings)})" if repeats > 1 else ""
            before_commit_work = (
                f" ({peaks_before_commit_work[0]:.1f} MB before the after-commit work)"
                if label == "first" and peaks_before_commit_work
                else ""
            )
            print(f"  RSS now {rss_mb()[0]:.1f} MB, peak so far {rss_mb()[1]:.1f} MB{before_commit_work}", flush=True)
            if label == "first":
                first_peak_mb = rss_mb()[1]
            print(
                f"{label:>9} import: {seen:,} products in {min(timings):.2f} s = {rate:,.0f} products/s{every} "
                f"(target >= {TARGETS[label]:,}/s) {'OK' if rate >= TARGETS[label] else 'BELOW TARGET'}; "
                f"created {run.created:,}, updated {run.updated:,}, unchanged {run.unchanged:,}, "
                f"{run.requests_made} requests",
                flush=True,
            )
        peak_mb = rss_mb()[1]
        print(
            f"peak memory of the first import (max RSS of the importing process): {first_peak_mb:.1f} MB "
            f"(target <= {TARGETS['peak_mb']} MB) {'OK' if first_peak_mb <= TARGETS['peak_mb'] else 'ABOVE TARGET'}; "
            f"after the unchanged ones too: {peak_mb:.0f} MB"
        )
        if args.tracemalloc:
            print(
                f"peak Python allocations (tracemalloc): {tracemalloc.get_traced_memory()[1] / 2**20:.0f} MB "
                "(tracing slows everything down: take the rates from a run without --tracemalloc)"
            )
        print(f"products in the database: {Product.objects.count():,}")
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)


if __name__ == "__main__":
    main()
