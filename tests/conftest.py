"""Shared fixtures. App-specific fixtures live in tests/<app>/conftest.py.

Test data: `make_staff(...)` and `make_product(...)` (tests/factories.py) as fixtures that bring
the database; `wait_until(predicate)` polls until something is true.

Broker isolation (automatic): every test session sends Celery messages to its own broker — a
temporary folder for the embedded `filesystem://` broker, or a dedicated Redis database
(KASPISYNC_TEST_REDIS_DB, default 15, flushed at start) when CELERY_BROKER_URL is Redis — so a
test never feeds a `make run` worker or another test session.

A real Celery worker process, for tests marked `@pytest.mark.worker`:

    @pytest.mark.worker
    def test_import_now_runs_in_worker(celery_worker, wait_until):   # celery_worker needs no env
        import_catalog.delay(quick=False)
        wait_until(lambda: ImportRun.objects.filter(status="success").exists())

    @pytest.mark.worker
    def test_with_sandbox(alstyle, start_worker, wait_until):
        sandbox = alstyle(products=300)
        # `settings` overrides live in this process only: hand the worker the same values by env.
        start_worker(env={"ALSTYLE_API_URL": sandbox.server.url, "ALSTYLE_TOKEN": TOKEN,
                          "ALSTYLE_MIN_INTERVAL": "0"})
        ...

`start_worker(env=None, pool="prefork", concurrency=2)` starts `celery -A kaspisync worker` as a
subprocess (its own process group) sharing this session's test database (DATABASE_URL points
at it) and broker, waits until it reports ready and kills it at the end of the test. The
broker's queue is emptied when the fixture is set up (before the test body), so the worker runs
only what this test queues. These fixtures imply `transactional_db` (data committed, visible to
the worker). The returned `Worker` has `.pid` and `.log()` (its output, shown when a test fails).
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from django.conf import settings as django_settings

from kaspisync.celery import app as celery_app
from tests import factories

BASE_DIR = Path(__file__).resolve().parent.parent
WORKER_READY_TIMEOUT = 60


def wait_for(predicate, timeout: float = 30, interval: float = 0.1, message: str = "condition"):
    """Poll `predicate()` until it returns something truthy (returned); fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message}")
        time.sleep(interval)


@pytest.fixture
def wait_until():
    """`wait_until(predicate, timeout=30)`: poll until the predicate returns something truthy."""
    return wait_for


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects anything
def pytest_collection_modifyitems(items):
    """`slow` also covers every test that drives a browser (tests/browser) or starts a Celery
    worker process, so `pytest -m "not slow"` (`make test-quick`) is the quick run."""
    for item in items:
        browser = "tests/browser/" in str(item.path).replace(os.sep, "/")
        worker = item.get_closest_marker("worker") or "start_worker" in getattr(item, "fixturenames", ())
        if browser or worker:
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def make_staff(db):
    """`make_staff(username, *perms, superuser=False, password=None)`: see tests/factories.py."""
    return factories.make_staff


@pytest.fixture
def make_product(db):
    """`make_product(article=None, **fields)`: a sellable supplier product; see tests/factories.py."""
    return factories.make_product


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Tests do not need PBKDF2's deliberate slowness (a second per login made)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test database, plus: before it is dropped, end the PostgreSQL sessions
    still open on it (connections of threads in concurrency tests, killed workers' backends),
    which would otherwise make DROP DATABASE fail and leave the database behind."""
    yield
    from django.db import connection

    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )


# --- broker isolation --------------------------------------------------------------------------
def _point_celery_at(broker_url: str, transport_options: dict) -> None:
    """Send this process's tasks to another broker (drop cached connection and producer pools).
    Celery prefers the CELERY_BROKER_URL environment variable to its configuration: settings have
    read it already, so it is dropped here (workers get theirs explicitly)."""
    os.environ.pop("CELERY_BROKER_URL", None)
    celery_app.conf.broker_url = broker_url
    celery_app.conf.broker_transport_options = transport_options
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture(scope="session", autouse=True)
def celery_broker(tmp_path_factory) -> dict:
    """This session's private broker; returns the env a worker process needs to consume it."""
    url = django_settings.CELERY_BROKER_URL
    original = (celery_app.conf.broker_url, dict(celery_app.conf.broker_transport_options or {}))
    if url.startswith("filesystem://"):
        folder = tmp_path_factory.mktemp("broker")
        for sub in ("queue", "processed"):
            (folder / sub).mkdir()
        options = {
            **original[1],
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
        }
        _point_celery_at(url, options)
        env = {"CELERY_BROKER_URL": url, "KASPISYNC_BROKER_DIR": str(folder)}
    elif url.startswith(("redis://", "rediss://")):
        import redis

        parts = urlsplit(url)
        url = urlunsplit(parts._replace(path=f"/{os.environ.get('KASPISYNC_TEST_REDIS_DB', '15')}"))
        redis.Redis.from_url(url).flushdb()
        _point_celery_at(url, original[1])
        env = {"CELERY_BROKER_URL": url}
    else:  # another transport: use it as configured
        env = {"CELERY_BROKER_URL": url}
    yield env
    _point_celery_at(*original)


# --- a real worker process ---------------------------------------------------------------------
def database_url(settings_dict: dict) -> str:
    """A DATABASE_URL (django-environ syntax) for the database Django is connected to now."""
    engine, name = settings_dict["ENGINE"], settings_dict["NAME"]
    if engine == "django.db.backends.sqlite3":
        return f"sqlite:///{Path(name).resolve()}"
    if engine == "django.db.backends.postgresql":
        user = quote(settings_dict.get("USER") or "", safe="")
        password = quote(settings_dict.get("PASSWORD") or "", safe="")
        auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        host = quote(settings_dict.get("HOST") or "", safe="")
        port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
        return f"postgres://{auth}{host}{port}/{quote(name, safe='')}"
    raise NotImplementedError(f"no DATABASE_URL for {engine}")


@dataclass
class Worker:
    process: subprocess.Popen
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        """Kill the whole process group at once. A warm shutdown takes seconds (the embedded
        broker's event loop notices signals only between its 2-second polls), and by teardown the
        test has seen what it waited for; databases survive a killed client."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


@pytest.fixture
def start_worker(transactional_db, celery_broker, tmp_path):
    """Factory: `start_worker(env={...}, pool="prefork", concurrency=2)` -> a ready `Worker`."""
    from django.db import connection

    # Messages left by earlier tests (anything that called .delay() without a worker) must not
    # run in this test's worker: start from an empty queue. What this test queues is kept.
    celery_app.control.purge()
    workers: list[Worker] = []

    def start(env: dict | None = None, pool: str = "prefork", concurrency: int = 2) -> Worker:
        name = f"test-{uuid.uuid4().hex[:8]}"
        child_env = {
            **os.environ,
            **celery_broker,
            "DATABASE_URL": database_url(connection.settings_dict),
            "PYTHONUNBUFFERED": "1",
            **{key: str(value) for key, value in (env or {}).items()},
        }
        log_path = tmp_path / f"{name}.log"
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "kaspisync",
            "worker",
            "-l",
            "INFO",
            "-n",
            f"{name}@%h",
            "--pool",
            pool,
            "--concurrency",
            str(concurrency),
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
        ]
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                command,
                cwd=BASE_DIR,
                env=child_env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        worker = Worker(process, log_path)
        workers.append(worker)

        def ready():
            if process.poll() is not None:
                raise AssertionError(f"worker exited with {process.returncode}:\n{worker.log()[-4000:]}")
            return " ready." in worker.log()

        wait_for(ready, timeout=WORKER_READY_TIMEOUT, interval=0.2, message="the Celery worker to be ready")
        return worker

    yield start
    for worker in workers:
        worker.stop()
        sys.stdout.write(f"\n--- worker {worker.pid} log ---\n{worker.log()[-6000:]}\n")  # shown on failure


@pytest.fixture
def celery_worker(start_worker) -> Worker:
    """One real worker process with the default settings (see the module docstring)."""
    return start_worker()


# --- the API sandboxes over real HTTP -----------------------------------------------------------
@pytest.fixture
def serve():
    """`serve(sandbox)` -> its HTTP server (kaspisync.sandbox), started on a free loopback port now
    and stopped after the test. The sandbox fixtures (alstyle, kaspi, content, telegram) use it."""
    servers = []

    def start(sandbox):
        server = sandbox.serve().start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


# --- alert channels: the Telegram emulator and a real SMTP server ------------------------------
TELEGRAM_TOKEN = "424242:test-bot-token-Zq7"
TELEGRAM_CHAT = "1001"


@pytest.fixture
def telegram(settings, serve):
    """The Telegram Bot API emulator over real HTTP; settings point the alerts at it, with
    TELEGRAM_CHAT_IDS = [TELEGRAM_CHAT]. Returns the sandbox (`.messages`, `.inject(...)`)."""
    from kaspisync.sandbox.telegram import TelegramSandbox

    sandbox = TelegramSandbox(TELEGRAM_TOKEN)
    sandbox.server = serve(sandbox)
    settings.TELEGRAM_API_URL = sandbox.server.url
    settings.TELEGRAM_BOT_TOKEN = TELEGRAM_TOKEN
    settings.TELEGRAM_CHAT_IDS = [TELEGRAM_CHAT]
    settings.HTTP_CONNECT_TIMEOUT = 2
    settings.HTTP_READ_TIMEOUT = 2
    return sandbox


@dataclass
class SmtpServer:
    host: str
    port: int
    messages: list
    refuse: set


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server (aiosmtpd) on loopback; settings send alert e-mail through it.
    `.messages` holds what it accepted (email.message.EmailMessage), `.refuse` addresses it
    answers 550 for."""
    import email
    import email.policy
    import socket

    from aiosmtpd.controller import Controller

    received, refuse = [], set()

    class Handler:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if address in refuse:
                return "550 5.1.1 No such user here"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            received.append(message)
            return "250 Message accepted for delivery"

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_URL = f"smtp://127.0.0.1:{port}"
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    yield SmtpServer("127.0.0.1", port, received, refuse)
    controller.stop()
