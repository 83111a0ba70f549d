"""`make run` wiring that can be checked without starting the whole stack, and the sandbox CLI."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kaspisync.launcher import Launcher, LaunchError, _feed_token
from kaspisync.schedule import beat_schedule


def test_without_tokens_the_sandboxes_are_started_and_the_portal_points_at_them(settings, monkeypatch):
    settings.ALSTYLE_TOKEN = settings.KASPI_TOKEN = settings.KASPI_MERCHANT_ID = settings.TELEGRAM_BOT_TOKEN = ""
    settings.TELEGRAM_CHAT_IDS = []
    settings.FEED_TOKEN = "feed-123"
    monkeypatch.setenv("PORT", "0")  # the port check must not depend on a running portal
    monkeypatch.delenv("PORTAL_URL", raising=False)
    monkeypatch.setenv("SANDBOX_ALSTYLE_PORT", "0")
    monkeypatch.setenv("SANDBOX_KASPI_PORT", "0")
    monkeypatch.setenv("SANDBOX_TELEGRAM_PORT", "0")
    launcher = Launcher()
    launcher.configure(settings)
    names = [s.name for s in launcher.services]
    assert names == ["alstyle-sandbox", "kaspi-sandbox", "telegram-sandbox", "web", "worker", "beat"]
    env = launcher.env_overrides
    assert env["ALSTYLE_API_URL"].endswith("/api/")
    assert env["ALSTYLE_TOKEN"]
    assert env["KASPI_API_URL"].endswith("/shop/api/v2")
    assert env["KASPI_MERCHANT_ID"]
    assert env["FEED_TOKEN"] == "feed-123"
    # alerts go to the Telegram sandbox, to a demo chat, with links to this portal
    assert env["TELEGRAM_API_URL"].startswith("http://127.0.0.1:")
    assert env["TELEGRAM_BOT_TOKEN"]
    assert env["TELEGRAM_CHAT_IDS"]
    assert env["PORTAL_URL"] == "http://127.0.0.1:0"
    # The Kaspi sandbox's demo orders carry the SKUs the price list publishes (no Django there).
    settings.FEED_SKU_PREFIX = "KZ"
    launcher = Launcher()
    launcher.configure(settings)
    assert launcher.services[1].command[-2:] == ["--sku-prefix", "KZ"]


def test_with_tokens_nothing_is_sandboxed(settings, monkeypatch):
    settings.ALSTYLE_TOKEN, settings.KASPI_TOKEN, settings.TELEGRAM_BOT_TOKEN = "real-a", "real-k", "1:real-t"
    monkeypatch.setenv("PORT", "0")
    launcher = Launcher()
    launcher.configure(settings)
    assert [s.name for s in launcher.services] == ["web", "worker", "beat"]
    assert "ALSTYLE_API_URL" not in launcher.env_overrides
    assert "KASPI_TOKEN" not in launcher.env_overrides
    assert "TELEGRAM_API_URL" not in launcher.env_overrides
    assert "TELEGRAM_BOT_TOKEN" not in launcher.env_overrides


def test_busy_port_is_a_clear_error(settings, monkeypatch):
    import socket

    settings.ALSTYLE_TOKEN, settings.KASPI_TOKEN, settings.TELEGRAM_BOT_TOKEN = "real-a", "real-k", "1:real-t"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        monkeypatch.setenv("PORT", str(sock.getsockname()[1]))
        with pytest.raises(LaunchError, match="in use"):
            Launcher().configure(settings)


def test_generated_feed_token_is_kept(tmp_path):
    first = _feed_token(tmp_path)
    assert len(first) >= 24
    assert _feed_token(tmp_path) == first
    assert (tmp_path / "feed_token").stat().st_mode & 0o077 == 0


def test_beat_sends_the_heartbeat_every_minute():
    entry = beat_schedule()["worker-heartbeat"]
    assert entry["task"] == "kaspisync.tasks.heartbeat"
    assert entry["schedule"] == 60


def test_sandbox_cli_rejects_unknown_emulators():
    done = subprocess.run([sys.executable, "-m", "kaspisync.sandbox", "nope"], capture_output=True, text=True)
    assert done.returncode == 2
    assert "alstyle" in done.stderr
    assert "kaspi" in done.stderr


def test_env_example_copied_as_is_gives_the_embedded_defaults(tmp_path):
    """`.env.example` documents every variable; copied to `.env` unchanged it must still work."""
    script = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, s.ALSTYLE_MIN_INTERVAL, s.DEBUG)"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "kaspisync.settings",
        "KASPISYNC_ENV_FILE": ".env.example",
        "KASPISYNC_VAR_DIR": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=Path(__file__).resolve().parents[2]
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["django.db.backends.sqlite3", "filesystem://localhost/", "5.0", "False"]


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("KASPI_DEFAULT_COMMISSION_PERCENT", "100", "KASPI_DEFAULT_COMMISSION_PERCENT must be a percent from 0 to 50"),
        ("KASPI_DEFAULT_COMMISSION_PERCENT", "-1", "KASPI_DEFAULT_COMMISSION_PERCENT must be a percent from 0 to 50"),
        ("KASPI_DEFAULT_COMMISSION_PERCENT", "twelve", "not 'twelve'"),
        ("FEED_STORE_IDS", "PP1,a.b:c", "FEED_STORE_IDS must be Kaspi point codes"),
    ],
)
def test_impossible_settings_stop_the_start_with_a_clear_error(tmp_path, name, value, message):
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "kaspisync.settings",
        "KASPISYNC_ENV_FILE": "/dev/null",
        "KASPISYNC_VAR_DIR": str(tmp_path),
        name: value,
    }
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode != 0
    assert message in done.stderr


@pytest.mark.django_db
def test_first_jobs_are_queued_only_for_empty_apps():
    from catalog.models import Product
    from kaspisync.launcher import _queue_first_jobs

    assert _queue_first_jobs() == ["first full catalog import", "first order pull", "first read of Kaspi's categories"]
    Product.objects.create(article=1, name="x", dealer_price=100)
    assert _queue_first_jobs() == ["first order pull", "first read of Kaspi's categories"]


def test_sandbox_cli_hands_the_arguments_to_the_emulator():
    done = subprocess.run(
        [sys.executable, "-m", "kaspisync.sandbox", "alstyle", "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0
    assert "--products" in done.stdout
    assert "--interval" in done.stdout


def test_every_setting_read_from_the_environment_is_documented():
    root = Path(__file__).resolve().parents[2]
    import re

    names = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]+)"', (root / "kaspisync/settings.py").read_text()))
    example, readme = (root / ".env.example").read_text(), (root / "README.md").read_text()
    assert names, "no settings found: the pattern is stale"
    assert sorted(n for n in names if f"{n}=" not in example) == []
    assert sorted(n for n in names if f"`{n}`" not in readme) == []


def test_the_launcher_stops_when_its_parent_is_gone(tmp_path):
    """`make` killed (not Ctrl-C), even while the portal is still starting: the launcher notices
    it was orphaned and stops its services."""
    out = tmp_path / "out.txt"
    code = (
        "import time; from kaspisync.launcher import Launcher; launcher = Launcher(); "
        "print('created', flush=True); time.sleep(2); launcher.supervise(); print('stopped', flush=True)"
    )
    # The shell (the launcher's parent) exits once the launcher exists, before it supervises.
    shell = f'{sys.executable} -c "{code}" > {out} 2>&1 & until grep -q created {out}; do sleep 0.1; done; exit 0'
    subprocess.run(["sh", "-c", shell], cwd=Path(__file__).resolve().parents[2], timeout=60, check=True)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and "stopped" not in out.read_text():
        time.sleep(0.2)
    text = out.read_text()
    assert "the parent process exited: stopping" in text, text
    assert "stopped" in text, text


def test_the_embedded_broker_is_bound_before_any_service_starts(tmp_path):
    """The launcher declares Celery's queues itself: kombu's filesystem transport writes the
    binding file unlocked while it is new, and two services binding at once could read it empty."""
    script = "import django; django.setup(); from kaspisync.launcher import bind_queues; bind_queues(); bind_queues()"
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "kaspisync.settings",
        "KASPISYNC_VAR_DIR": str(tmp_path),
        "CELERY_BROKER_URL": "filesystem://localhost/",
    }
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=root)
    assert done.returncode == 0, done.stderr
    exchange = tmp_path / "broker" / "control" / "celery.exchange"
    assert json.loads(exchange.read_text()) == [["celery", "", "celery"]]  # declared once, whatever the calls
    launcher = (root / "kaspisync" / "launcher.py").read_text()
    main = launcher[launcher.index("def main()") :]
    assert main.index("bind_queues()") < main.index("launcher.start()"), (
        "the queues must be bound before the services start"
    )
