"""`make run` end to end: the launcher starts sandboxes, web, worker and beat, the first import
fills the catalog through the worker, and one SIGINT stops every process it started."""

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import wait_for

ROOT = Path(__file__).resolve().parents[2]
FEED_TOKEN = "e2e-feed-token-5c8d0a9b7e"

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, answer.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def _products(db: Path, where: str = "1=1") -> int:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return conn.execute(f"SELECT count(*) FROM catalog_product WHERE {where}").fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="walks /proc to find every started process")
def test_make_run_serves_imports_through_the_worker_and_stops_everything(tmp_path):
    port, telegram_port = _free_port(), _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "CELERY_BROKER_URL"))},
        "KASPISYNC_ENV_FILE": "/dev/null",
        "KASPISYNC_VAR_DIR": str(tmp_path),
        "PORT": str(port),
        "SANDBOX_ALSTYLE_PORT": str(_free_port()),
        "SANDBOX_KASPI_PORT": str(_free_port()),
        "SANDBOX_TELEGRAM_PORT": str(telegram_port),
        "SANDBOX_ALSTYLE_INTERVAL": "0",
        "WEB_CONCURRENCY": "1",
        "CELERY_WORKER_CONCURRENCY": "1",
        "ALSTYLE_TOKEN": "",
        "KASPI_TOKEN": "",
        "TELEGRAM_BOT_TOKEN": "",
        "FEED_TOKEN": FEED_TOKEN,
        "DJANGO_ADMIN_PASSWORD": "",
        "FEED_REBUILD_DELAY": "1",
        "PYTHONUNBUFFERED": "1",
    }
    log_path = tmp_path / "run.log"
    with open(log_path, "wb") as log:
        launcher = subprocess.Popen(
            [sys.executable, "-m", "kaspisync.launcher"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    started: set[int] = set()
    try:

        def banner():
            assert launcher.poll() is None, log_path.read_text()
            return "kaspisync is running" in log_path.read_text()

        wait_for(banner, timeout=120, interval=0.3, message="the make run banner")
        output = log_path.read_text()
        assert "admin login: admin / " in output
        assert "Al-Style" in output
        assert "Kaspi" in output
        # ready before the worker's first heartbeat; healthy once the worker answered it
        health = f"http://127.0.0.1:{port}/healthz"
        wait_for(lambda: _get(health)[0] == 200, timeout=60, interval=0.5, message="a healthy /healthz")
        assert json.loads(_get(health)[1])["checks"]["worker"]["ok"] is True
        assert _get(f"http://127.0.0.1:{port}/admin/login/")[0] == 200
        started = _descendants(launcher.pid)
        assert len(started) >= 5  # two sandboxes, web, worker, beat (and their children)
        # the first full import ran in the worker against the Al-Style sandbox
        wait_for(
            lambda: _products(tmp_path / "db.sqlite3") > 5000,
            timeout=120,
            interval=0.5,
            message="the first import to fill the catalog",
        )
        # the demo pricing rule priced them, and the debounced rebuild published the price list
        wait_for(
            lambda: _products(tmp_path / "db.sqlite3", "sale_price IS NOT NULL") > 5000,
            timeout=60,
            interval=0.5,
            message="sale prices from the demo rule",
        )
        feed_url = f"http://127.0.0.1:{port}/feeds/{FEED_TOKEN}/kaspi.xml"
        wait_for(lambda: _get(feed_url)[0] == 200, timeout=90, interval=1, message="the published price list")
        status, body = _get(feed_url)
        assert body.count("<offer ") > 5000
        assert "<merchantid>" in body

        # the first order pull's waiting orders were announced: the Telegram sandbox shows them
        def telegram_messages():
            code, text = _get(f"http://127.0.0.1:{telegram_port}/_sandbox/messages")
            return code == 200 and [m for m in json.loads(text) if "ждёт принятия" in m["plain"]]

        wait_for(telegram_messages, timeout=90, interval=1, message="the demo's alerts in the Telegram sandbox")
    finally:
        launcher.send_signal(signal.SIGINT)
        try:
            code = launcher.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(launcher.pid, signal.SIGKILL)
            for pid in _descendants(launcher.pid) | started:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            raise
    assert code == 0, log_path.read_text()[-3000:]
    assert [pid for pid in started if _alive(pid)] == []
