"""`make run`: the whole portal on one machine, as separate processes, stopped together.

    python -m kaspisync.launcher

1. migrates the database, collects static files, creates the admin login (kaspisync.accounts);
2. with no ALSTYLE_TOKEN starts the Al-Style sandbox, with no KASPI_TOKEN the Kaspi sandbox, with no
   TELEGRAM_BOT_TOKEN the Telegram sandbox (alerts arrive on its page), and
   points the portal's processes at them (environment of the children); with no FEED_TOKEN uses
   a generated one kept in var/feed_token;
3. starts the web server (gunicorn), a Celery worker and Celery beat, each in its own process
   group, and waits until the sandboxes and the web server answer (`/healthz` 200, or 503 with
   the database reachable: on a fresh start no worker heartbeat has been seen yet);
4. queues the first jobs the apps registered (kaspisync.registry: with an empty catalog a full
   import at once, beat would wait hours; with no orders a first pull) and seeds their demo data
   for the sandboxes that run;
5. on Ctrl-C (SIGINT) or SIGTERM stops every child group (SIGTERM, then SIGKILL after a grace
   period); if one child dies, stops the others and exits non-zero.

Environment: HOST (127.0.0.1), PORT (8000), WEB_CONCURRENCY (2 gunicorn workers),
CELERY_WORKER_CONCURRENCY (2), SANDBOX_ALSTYLE_PORT (8001), SANDBOX_KASPI_PORT (8002),
SANDBOX_TELEGRAM_PORT (8003: with no TELEGRAM_BOT_TOKEN, the Telegram sandbox receives the alerts),
SANDBOX_ALSTYLE_INTERVAL (1 s between two Al-Style requests, so the demo catalog fills fast).
"""

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

STOP_GRACE_SECONDS = 20
READY_TIMEOUT_SECONDS = 90
SANDBOX_ALSTYLE_TOKEN = "sandbox-alstyle-token"
SANDBOX_KASPI_TOKEN = "sandbox-kaspi-token"
SANDBOX_MERCHANT_ID = "30012345"  # the Kaspi sandbox's merchant
SANDBOX_TELEGRAM_TOKEN = "1000000001:sandbox-telegram-token"
SANDBOX_TELEGRAM_CHAT = "100200300"  # the demo's default alert recipient


class LaunchError(RuntimeError):
    pass


@dataclass
class Service:
    name: str
    command: list[str]
    port: int | None = None  # with a health URL: must be free before the start
    health_url: str = ""
    ready: Callable[[int, bytes], bool] | None = None  # whether an error answer means "ready" too
    process: subprocess.Popen | None = field(default=None, repr=False)

    def start(self, env: dict) -> None:
        # Own session and process group: the terminal's Ctrl-C reaches only the launcher, which
        # stops the children in order; a whole group (prefork children, gunicorn workers) is
        # signalled at once so nothing is orphaned.
        self.process = subprocess.Popen(
            self.command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        threading.Thread(target=self._relay, name=f"relay-{self.name}", daemon=True).start()

    def _relay(self) -> None:
        for line in iter(self.process.stdout.readline, b""):
            sys.stdout.write(f"[{self.name}] {line.decode(errors='replace')}")
            sys.stdout.flush()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal_group(self, sig: int) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)

    def wait_ready(self, deadline: float, cancelled) -> None:
        while time.monotonic() < deadline and not cancelled():
            if not self.alive():
                raise LaunchError(f"{self.name} exited with code {self.process.returncode}")
            try:
                with urllib.request.urlopen(self.health_url, timeout=2) as answer:
                    if answer.status == 200:
                        return
            except urllib.error.HTTPError as answer:  # 503: ready all the same if self.ready() says so
                if self.ready is not None and self.ready(answer.code, answer.read()):
                    return
            except OSError:
                pass
            time.sleep(0.3)
        if cancelled():
            return
        raise LaunchError(f"{self.name} did not answer {self.health_url} in {READY_TIMEOUT_SECONDS} s")


def web_ready(status: int, body: bytes) -> bool:
    """`/healthz` answers 503 on a fresh start (no worker heartbeat yet, jobs never run or long
    overdue after a pause): the web server is ready once it answers with its database reachable;
    the worker and the jobs are what the launcher starts and queues next."""
    try:
        return status == 503 and json.loads(body)["checks"]["database"]["ok"] is True
    except (ValueError, KeyError, TypeError):
        return False


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _feed_token(var_dir: Path) -> str:
    path = var_dir / "feed_token"
    if not path.is_file():
        path.write_text(secrets.token_urlsafe(24))
        path.chmod(0o600)
    return path.read_text().strip()


class Launcher:
    def __init__(self):
        self.services: list[Service] = []
        self.sandboxed: list[str] = []  # what the banner says
        self.sandbox_names: set[str] = set()  # "alstyle", "kaspi": which demo data to seed
        self.env_overrides: dict[str, str] = {}
        self.stopping = False
        self.exit_code = 0
        # Who started us, read before the slow start (migrations, services): make killed while
        # the portal starts must stop it too, and an orphan's parent is already someone else.
        self.parent = os.getppid()

    # --- configuration ------------------------------------------------------------------------
    def configure(self, settings) -> None:
        python = sys.executable
        self.host = os.environ.get("HOST", "127.0.0.1")
        self.port = int(os.environ.get("PORT", "8000"))
        if not settings.ALSTYLE_TOKEN:
            port = int(os.environ.get("SANDBOX_ALSTYLE_PORT", "8001"))
            interval = os.environ.get("SANDBOX_ALSTYLE_INTERVAL", "1")
            self.env_overrides.update(
                ALSTYLE_API_URL=f"http://127.0.0.1:{port}/api/",
                ALSTYLE_TOKEN=SANDBOX_ALSTYLE_TOKEN,
                ALSTYLE_MIN_INTERVAL=interval,
            )
            self.services.append(
                Service(
                    "alstyle-sandbox",
                    [
                        python,
                        "-m",
                        "kaspisync.sandbox",
                        "alstyle",
                        "--port",
                        str(port),
                        "--interval",
                        interval,
                        "--token",
                        SANDBOX_ALSTYLE_TOKEN,
                    ],
                    port=port,
                    health_url=f"http://127.0.0.1:{port}/_sandbox/stats",
                )
            )
            self.sandboxed.append(f"Al-Style (http://127.0.0.1:{port}/api/)")
            self.sandbox_names.add("alstyle")
        if not settings.KASPI_TOKEN:
            port = int(os.environ.get("SANDBOX_KASPI_PORT", "8002"))
            self.env_overrides.update(
                KASPI_API_URL=f"http://127.0.0.1:{port}/shop/api/v2",
                KASPI_CONTENT_API_URL=f"http://127.0.0.1:{port}/shop/api/products",  # product cards, same sandbox
                KASPI_TOKEN=SANDBOX_KASPI_TOKEN,
            )
            if not settings.KASPI_MERCHANT_ID:
                self.env_overrides["KASPI_MERCHANT_ID"] = SANDBOX_MERCHANT_ID
            if not settings.KASPI_COMPANY_NAME:
                self.env_overrides["KASPI_COMPANY_NAME"] = "kaspisync demo"
            self.services.append(
                Service(
                    "kaspi-sandbox",
                    [
                        python,
                        "-m",
                        "kaspisync.sandbox",
                        "kaspi",
                        "--port",
                        str(port),
                        "--token",
                        SANDBOX_KASPI_TOKEN,
                        "--sku-prefix",
                        settings.FEED_SKU_PREFIX,
                    ],
                    port=port,
                    health_url=f"http://127.0.0.1:{port}/_sandbox/stats",
                )
            )
            self.sandboxed.append(f"Kaspi (http://127.0.0.1:{port}/shop/api/v2)")
            self.sandbox_names.add("kaspi")
        if not settings.TELEGRAM_BOT_TOKEN:
            port = int(os.environ.get("SANDBOX_TELEGRAM_PORT", "8003"))
            self.env_overrides.update(
                TELEGRAM_API_URL=f"http://127.0.0.1:{port}", TELEGRAM_BOT_TOKEN=SANDBOX_TELEGRAM_TOKEN
            )
            if not settings.TELEGRAM_CHAT_IDS:
                self.env_overrides["TELEGRAM_CHAT_IDS"] = SANDBOX_TELEGRAM_CHAT
            self.services.append(
                Service(
                    "telegram-sandbox",
                    [
                        python,
                        "-m",
                        "kaspisync.sandbox",
                        "telegram",
                        "--port",
                        str(port),
                        "--token",
                        SANDBOX_TELEGRAM_TOKEN,
                    ],
                    port=port,
                    health_url=f"http://127.0.0.1:{port}/_sandbox/stats",
                )
            )
            self.sandboxed.append(f"Telegram (alerts arrive at http://127.0.0.1:{port}/)")
            self.sandbox_names.add("telegram")
        self.feed_token = settings.FEED_TOKEN or _feed_token(Path(settings.VAR_DIR))
        self.env_overrides["FEED_TOKEN"] = self.feed_token
        embedded_broker = settings.CELERY_BROKER_URL.startswith("filesystem://")
        celery = [python, "-m", "celery", "-A", "kaspisync"]
        # prefork: task time limits are enforced (the threads pool ignores them) and a long import
        # does not keep the heartbeat waiting; SQLite copes with two writers (WAL, busy timeout).
        worker = celery + [
            "worker",
            "-l",
            "INFO",
            "--pool",
            "prefork",
            "--concurrency",
            os.environ.get("CELERY_WORKER_CONCURRENCY", "2"),
        ]
        if embedded_broker:  # no broadcast on the filesystem transport: skip the cluster chatter
            worker += ["--without-mingle", "--without-gossip"]
        probe = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        if not os.environ.get("PORTAL_URL"):  # links in alerts
            self.env_overrides["PORTAL_URL"] = f"http://{probe}:{self.port}"
        self.web = Service(
            "web",
            [
                python,
                "-m",
                "gunicorn",
                "kaspisync.wsgi:application",
                "--bind",
                f"{self.host}:{self.port}",
                "--workers",
                os.environ.get("WEB_CONCURRENCY", "2"),
                "--timeout",
                "120",
                "--limit-request-line",  # the largest gunicorn allows: long admin URLs reach Django,
                "8190",  # which answers an over-long search in words (kaspisync.search)
            ],
            port=self.port,
            health_url=f"http://{probe}:{self.port}/healthz",
            ready=web_ready,
        )
        self.services += [
            self.web,
            Service("worker", worker),
            Service("beat", celery + ["beat", "-l", "INFO", "-s", settings.CELERY_BEAT_SCHEDULE_FILENAME]),
        ]
        busy = [
            s.port
            for s in self.services
            if s.port and not _port_free(self.host if s is self.web else "127.0.0.1", s.port)
        ]
        if busy:
            raise LaunchError(
                f"port(s) {', '.join(map(str, busy))} in use: is kaspisync running already? "
                "(PORT, SANDBOX_ALSTYLE_PORT, SANDBOX_KASPI_PORT, SANDBOX_TELEGRAM_PORT choose others)"
            )

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        env = {**os.environ, **self.env_overrides, "PYTHONUNBUFFERED": "1"}
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        for service in self.services:
            if self.stopping:
                return
            print(f"starting {service.name}", flush=True)
            service.start(env)
            if service.name.endswith("sandbox"):
                service.wait_ready(deadline, lambda: self.stopping)  # the portal's first requests must find it
        self.web.wait_ready(deadline, lambda: self.stopping)

    def stop(self) -> None:
        self.stopping = True
        running = [s for s in self.services if s.alive()]
        for service in reversed(running):  # beat first (no new jobs), sandboxes last
            # The leader only: a Celery worker lets its pool children finish their task (warm
            # shutdown), gunicorn stops its workers; the group is killed after the grace period.
            service.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for service in running:
            try:
                service.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"{service.name} did not stop in {STOP_GRACE_SECONDS} s: killing it", flush=True)
        for service in self.services:  # whatever is left in any group (also of exited leaders)
            service.signal_group(signal.SIGKILL)
        for service in running:
            service.process.wait()

    def supervise(self) -> None:
        while not self.stopping:
            if os.getppid() != self.parent:  # make (or whatever started us) is gone: so are we
                print("the parent process exited: stopping", flush=True)
                return
            for service in self.services:
                if not service.alive():
                    print(f"{service.name} exited with code {service.process.returncode}: stopping", flush=True)
                    self.exit_code = 1
                    return
            time.sleep(0.5)


def bind_queues() -> None:
    """Declare Celery's queues once, before the worker, beat and web processes start. On the
    embedded broker (kombu's filesystem transport) the first binding creates the exchange file
    with no lock held while it is empty: two processes binding at that moment made one read the
    empty file and die at start (JSONDecodeError). Once the file exists, kombu locks it."""
    from kaspisync.celery import app

    with app.connection_for_write() as connection:
        channel = connection.default_channel
        for queue in app.amqp.queues.values():
            queue(channel).declare()


def _queue_first_jobs() -> list[str]:
    """A heartbeat now (the dashboard shows the worker at once) and the first jobs the apps
    registered (kaspisync.registry.first_job) that are needed: a newcomer does not wait for
    beat's first interval (hours for the full import)."""
    from kaspisync import registry
    from kaspisync.celery import app

    app.send_task("kaspisync.tasks.heartbeat")
    queued = []
    for job in registry.first_jobs():
        if job.needed():
            app.send_task(job.task, kwargs=job.kwargs)
            queued.append(job.description)
    return queued


def _seed_demo_data(sandboxes: set[str]) -> list[str]:
    """The demo data the apps registered for the sandboxes that run (never against real APIs)."""
    from kaspisync import registry

    seeded = []
    for data in registry.demo_data_sets():
        if data.sandbox in sandboxes:
            done = data.seed()
            if done:
                seeded.append(done)
    return seeded


def _banner(launcher: Launcher, login, first_jobs: list[str]) -> str:
    from kaspisync.accounts import remembered_username

    base = f"http://{launcher.host}:{launcher.port}"
    if login and login.generated_password:
        credentials = f"{login.username} / {login.generated_password}   <- shown this once, note it down"
    else:
        name = os.environ.get("DJANGO_ADMIN_USER") or remembered_username() or "your superuser"
        credentials = f"{name} (password: as set, or printed at the first start)"
    lines = [
        "",
        "=" * 72,
        f"  kaspisync is running: {base}/admin/",
        f"  admin login: {credentials}",
        f"  feed for Kaspi: {base}/feeds/{launcher.feed_token}/kaspi.xml",
        f"  sandboxed: {', '.join(launcher.sandboxed) if launcher.sandboxed else 'nothing (real APIs)'}",
    ]
    if first_jobs:
        lines.append(f"  queued: {', '.join(first_jobs)} (the admin fills within minutes)")
    lines += ["  Ctrl-C stops everything", "=" * 72, ""]
    return "\n".join(lines)


def main() -> int:
    launcher = Launcher()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kaspisync.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from kaspisync.accounts import ensure_admin

    try:
        launcher.configure(settings)
    except LaunchError as exc:
        print(f"make run: {exc}", file=sys.stderr)
        return 1
    os.environ.update(launcher.env_overrides)
    print("migrating the database", flush=True)
    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        bind_queues()
    login = ensure_admin(os.environ.get("DJANGO_ADMIN_USER", ""), os.environ.get("DJANGO_ADMIN_PASSWORD", ""))

    def on_signal(signum, frame):
        if launcher.stopping:  # a second Ctrl-C: no more patience
            for service in launcher.services:
                service.signal_group(signal.SIGKILL)
        launcher.stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        launcher.start()
        if not launcher.stopping:
            first_jobs = _queue_first_jobs() + _seed_demo_data(launcher.sandbox_names)
            print(_banner(launcher, login, first_jobs), flush=True)
            launcher.supervise()
    except LaunchError as exc:
        print(f"make run: {exc}", file=sys.stderr)
        launcher.exit_code = 1
    finally:
        print("stopping kaspisync", flush=True)
        launcher.stop()
    return launcher.exit_code


if __name__ == "__main__":
    sys.exit(main())
