"""Benchmark: the Kaspi price list for 50,000 offers, and the 304 answer to Kaspi's polling.

    .venv/bin/python bench/bench_feed.py [--offers 50000] [--seconds 5] [--designs]

With --designs it also times, interleaved with the build's own runs, the simplest design: write,
then one validating pass over the written file (feeds.validation.validate_file), wall and CPU.

Targets (issue 4 and issue 10 item 4), one run on 2 cores:
- writing + schema validation excluding the database read: median of 7 <= 0.3 s and the worst of
  7 <= 2x the median; <= 1.5 s including the read;
- peak memory rise <= 50 MB;
- conditional GET (If-None-Match) answered 304 by the web server (gunicorn, kaspisync.wsgi,
  127.0.0.1) at >= 500 requests/s: measured with `wrk` when installed, else a Python keep-alive
  client with threads.
Fresh SQLite database and media folder in a temporary directory.
"""

import argparse
import http.client
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TOKEN = "bench-feed-token-5d1c0e"
RUNS = 7  # write + validate runs from rows already read


def setup_django(var_dir: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "kaspisync.settings"
    os.environ["KASPISYNC_VAR_DIR"] = var_dir
    os.environ["FEED_TOKEN"] = TOKEN
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def rss_kb() -> int:
    with open("/proc/self/status") as fh:
        return int(re.search(r"VmRSS:\s+(\d+)", fh.read()).group(1))


def peak_rss_kb() -> int:
    with open("/proc/self/status") as fh:
        return int(re.search(r"VmHWM:\s+(\d+)", fh.read()).group(1))


def reset_peak_rss() -> None:
    with open("/proc/self/clear_refs", "w") as fh:  # resets VmHWM to the current RSS
        fh.write("5")


def seed(n: int) -> None:
    from catalog.models import Brand, Product
    from feeds.models import FeedStore
    from feeds.services import feed_settings

    brands = Brand.objects.bulk_create([Brand(name=f"Brand {i}") for i in range(300)])
    names = [
        'Кабель "USB-C" & <Lightning> 1 м',
        "Ноутбук Lenovo IdeaPad 3 15ITL6 i5/8GB/512GB",
        "Колонки Mi Bluetooth Speaker Square Box Чёрный",
        "Мышь A4Tech OP-720 USB",
    ]
    Product.objects.bulk_create(
        [
            Product(
                article=100000 + i,
                name=f"{names[i % 4]} #{i}",
                brand=brands[i % 300],
                dealer_price=9000 + i,
                sale_price=12990 + i,
                stock=i % 13,
                warehouse_stock={"almaty": i % 7, "astana": i % 5},
                publish_min_stock=1,
            )
            for i in range(n)
        ],
        batch_size=2000,
    )
    feed = feed_settings()
    feed.company, feed.merchant_id = "Bench Shop", "30001234"
    feed.save()
    FeedStore.objects.filter(feed=feed).update(warehouses=["almaty"])
    FeedStore.objects.create(feed=feed, store_id="PP2", warehouses=["astana"], position=1)


def write_once(rows, config, path):
    from feeds.writer import offers_from_products, write_feed

    with open(path, "wb") as fh:
        return write_feed(fh, offers_from_products(rows, config), config)


def write_then_validate(rows, config, path):
    """The simplest design: write, then one validating pass over the written file."""
    from feeds.validation import validate_file
    from feeds.writer import offers_from_products, write_feed

    with open(path, "wb") as fh:
        result = write_feed(fh, offers_from_products(rows, config), config, validate=False)
    assert validate_file(path) == []
    return result


def timed(build) -> tuple[float, float]:
    """(wall, CPU of this process: the writer's and the validating thread's) of one build."""
    started, cpu = time.perf_counter(), time.process_time()
    build()
    return time.perf_counter() - started, time.process_time() - cpu


def bench_build(n: int, tmp: str, designs: bool = False) -> dict:
    from catalog.selectors import publishable_products
    from feeds.selectors import feed_config
    from feeds.services import feed_settings

    config = feed_config(feed_settings())
    out = os.path.join(tmp, "candidate.xml")
    figures = {}

    # Including the database read: streamed straight from the query (as the build does).
    with_db, rises = [], []
    for _ in range(3):
        reset_peak_rss()
        before = rss_kb()
        started = time.perf_counter()
        result = write_once(publishable_products(), config, out)
        with_db.append(time.perf_counter() - started)
        rises.append((peak_rss_kb() - before) / 1024)
        assert result.valid and result.offers == n, (result.offers, result.errors[:3])
    figures["with_db_first"], figures["with_db_median"] = with_db[0], statistics.median(with_db)
    figures["rss_rise_mb"] = max(rises)
    figures["size_mb"] = result.size / 1e6
    figures["available"] = result.available_offers

    # Excluding it: the rows are read first.
    started = time.perf_counter()
    rows = list(publishable_products())
    figures["db_read"] = time.perf_counter() - started
    timings, one_pass = [], []
    for _ in range(RUNS):
        started, cpu = time.perf_counter(), time.process_time()
        result = write_once(rows, config, out)
        timings.append((time.perf_counter() - started, time.process_time() - cpu, result.validator_cpu))
        if designs:  # interleaved: both designs see the same load
            one_pass.append(timed(lambda: write_then_validate(rows, config, out)))
    figures["without_db_first"] = timings[0][0]
    figures["without_db_median"] = statistics.median(t[0] for t in timings)
    figures["without_db_worst"] = max(t[0] for t in timings)
    figures["without_db_all"] = [t[0] for t in timings]
    figures["cpu_median"] = statistics.median(t[1] for t in timings)
    figures["without_db_best"], figures["writer_cpu"], figures["validator_cpu"] = min(timings)
    if designs:
        figures["one_pass"] = one_pass

    # Python allocations while writing (tracemalloc slows Python down: a separate run).
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    write_once(publishable_products(), config, out)
    figures["tracemalloc_peak_mb"] = (tracemalloc.get_traced_memory()[1] - base) / 1e6
    tracemalloc.stop()
    return figures


def bench_publish() -> dict:
    from feeds.services import build_feed

    started = time.perf_counter()
    version = build_feed(trigger="command")
    figures = {
        "build_publish": time.perf_counter() - started,
        "result": version.result,
        "gzip_mb": version.gzip_size / 1e6,
        "sha256": version.sha256,
    }
    started = time.perf_counter()
    again = build_feed(trigger="command")
    figures["rebuild_unchanged"] = time.perf_counter() - started
    figures["rebuild_result"] = again.result
    return figures


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(port: int, path: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("HEAD", path)
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def python_client(port: int, path: str, etag: str, seconds: float, threads: int = 8) -> tuple[float, dict]:
    """Keep-alive connections in threads, for `seconds`: (requests/s, {status: count})."""
    stop = time.monotonic() + seconds
    counts: dict[int, int] = {}
    lock = threading.Lock()

    def worker():
        local: dict[int, int] = {}
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while time.monotonic() < stop:
            try:
                conn.request("GET", path, headers={"If-None-Match": etag, "User-Agent": "bench"})
                response = conn.getresponse()
                response.read()
                local[response.status] = local.get(response.status, 0) + 1
                if response.will_close:
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.close()
        with lock:
            for status, count in local.items():
                counts[status] = counts.get(status, 0) + count

    started = time.monotonic()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return sum(counts.values()) / (time.monotonic() - started), counts


def wrk_client(port: int, path: str, etag: str, seconds: float) -> float:
    output = subprocess.run(
        ["wrk", "-t2", "-c16", f"-d{int(seconds)}s", "-H", f"If-None-Match: {etag}", f"http://127.0.0.1:{port}{path}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "Non-2xx or 3xx" in output:
        raise RuntimeError(output)
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))


def bench_304(var_dir: str, sha256: str, seconds: float) -> dict:
    from feeds.models import FeedFetch

    port = free_port()
    path = f"/feeds/{TOKEN}/kaspi.xml"
    etag = f'"{sha256}"'
    env = {**os.environ, "DJANGO_DEBUG": "0", "LOG_LEVEL": "WARNING"}
    workers = str(max(2, os.cpu_count() or 2))
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "kaspisync.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            workers,
            "-k",
            "gthread",
            "--threads",
            "4",
            "--keep-alive",
            "5",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    figures = {"workers": workers}
    try:
        wait_for(port, path)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", path, headers={"If-None-Match": etag})
        response = conn.getresponse()
        response.read()
        assert response.status == 304, response.status
        logged_before = FeedFetch.objects.count()
        if shutil.which("wrk"):
            figures["client"] = "wrk"
            figures["rps"] = wrk_client(port, path, etag, seconds)
        else:
            figures["client"] = "python keep-alive threads"
            figures["rps"], statuses = python_client(port, path, etag, seconds)
            assert set(statuses) == {304}, statuses
        figures["logged"] = FeedFetch.objects.count() - logged_before
        figures["py_rps"], _ = python_client(port, path, etag, min(seconds, 3))
    finally:
        server.terminate()
        server.wait(timeout=30)
    return figures


def line(label: str, value: float, unit: str, target: float | None = None, higher_is_better: bool = False) -> None:
    if target is None:
        print(f"  {label:<52} {value:>9.3f} {unit}")
        return
    ok = value >= target if higher_is_better else value <= target
    sign = ">=" if higher_is_better else "<="
    print(f"  {label:<52} {value:>9.3f} {unit}   target {sign} {target:g} {unit}   {'ok' if ok else 'MISSED'}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--offers", type=int, default=50_000)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--designs", action="store_true", help="also time the other validation designs")
    args = parser.parse_args()
    var_dir = tempfile.mkdtemp(prefix="bench-feed-")
    load_before = os.getloadavg()[0]
    try:
        setup_django(var_dir)
        seed(args.offers)
        build = bench_build(args.offers, var_dir, args.designs)
        publish = bench_publish()
        http_figures = bench_304(var_dir, publish["sha256"], args.seconds)
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)
    print(
        f"load average during the run: {load_before:.2f} -> {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores "
        "(other processes slow every wall-clock figure)"
    )
    print(
        f"Kaspi price list: {args.offers:,} offers, {build['available']:,} available, "
        f"{build['size_mb']:.1f} MB ({publish['gzip_mb']:.1f} MB gzip), 2 stores from warehouses"
    )
    median = build["without_db_median"]
    line(f"write + validate, excluding DB read (median of {RUNS})", median, "s", 0.3)
    line(f"write + validate, excluding DB read (worst of {RUNS})", build["without_db_worst"], "s", round(2 * median, 3))
    line(f"write + validate, excluding DB read (best of {RUNS})", build["without_db_best"], "s")
    print(f"    (every run: {', '.join(f'{t:.3f}' for t in build['without_db_all'])} s)")
    line(f"  (CPU of the build, writer + validating thread, median of {RUNS})", build["cpu_median"], "s")
    if "one_pass" in build:
        walls, cpus = [t[0] for t in build["one_pass"]], [t[1] for t in build["one_pass"]]
        print(
            f"  other design, write then one validating pass over the file: median {statistics.median(walls):.3f} s, "
            f"worst {max(walls):.3f} s, CPU median {statistics.median(cpus):.3f} s "
            f"(every run: {', '.join(f'{t:.3f}' for t in walls)})"
        )
    line("  (CPU of the build, best run: writer + validating thread)", build["writer_cpu"], "s")
    line("  (of which the validating thread, alongside)", build["validator_cpu"], "s")
    line("write + validate, including DB read (first run)", build["with_db_first"], "s", 1.5)
    line("write + validate, including DB read (median of 3)", build["with_db_median"], "s", 1.5)
    line("  (DB read alone, list of dicts)", build["db_read"], "s")
    line("peak memory rise (RSS of the building process)", build["rss_rise_mb"], "MB", 50)
    line("  (tracemalloc peak, Python allocations)", build["tracemalloc_peak_mb"], "MB")
    line(f"full build + publish (gzip, snapshot): {publish['result']}", publish["build_publish"], "s")
    line(f"rebuild with no change: {publish['rebuild_result']}", publish["rebuild_unchanged"], "s")
    line(
        f"conditional GET -> 304, gunicorn x{http_figures['workers']} ({http_figures['client']})",
        http_figures["rps"],
        "req/s",
        500,
        higher_is_better=True,
    )
    line("  (same, Python keep-alive client)", http_figures["py_rps"], "req/s", 500, higher_is_better=True)
    print(f"  fetches logged during the {http_figures['client']} run: {http_figures['logged']:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
