"""Django settings. Every value comes from the environment or `.env` (django-environ).

The embedded default needs nothing installed: SQLite under `var/` and kombu's
`filesystem://` broker (folders under `var/`). Setting DATABASE_URL to PostgreSQL and
CELERY_BROKER_URL to Redis switches to the production stack with no code change.
"""

import os
import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
ENV_FILE = Path(os.environ.get("KASPISYNC_ENV_FILE", BASE_DIR / ".env"))
if ENV_FILE.is_file():
    env.read_env(str(ENV_FILE), overwrite=False)

VAR_DIR = Path(env("KASPISYNC_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

# --- Core -------------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    # A per-machine key kept under var/, so sessions survive restarts without a key in git.
    _key_file = VAR_DIR / "secret_key"
    if not _key_file.exists():
        from django.core.management.utils import get_random_secret_key

        _key_file.write_text(get_random_secret_key())
        _key_file.chmod(0o600)
    SECRET_KEY = _key_file.read_text().strip()
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "kaspisync.admin_site.AdminConfig",  # django.contrib.admin, its modules loaded on first use (see there)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "kaspisync.axes_app.LoginProtectionConfig",  # django-axes: login throttling (see "Security" below)
    "kaspisync.apps.KaspisyncConfig",
    "catalog.apps.CatalogConfig",
    "feeds.apps.FeedsConfig",
    "orders.apps.OrdersConfig",
    "alerts.apps.AlertsConfig",
    "cards.apps.CardsConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "kaspisync.search.LongSearchMiddleware",  # over-long admin searches answered in words
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a locked-out login into the lockout page
]

ROOT_URLCONF = "kaspisync.urls"
WSGI_APPLICATION = "kaspisync.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
_db = DATABASES["default"]
_test_suffix = env("KASPISYNC_TEST_DB_SUFFIX", default=str(os.getpid()))
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db.setdefault("OPTIONS", {}).update(
        {
            # Web, worker and beat write concurrently: WAL + a long busy timeout, and
            # IMMEDIATE transactions so a reader never has to upgrade to a writer mid-way.
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # A file (not :memory:) so a real worker process can share the test database.
    _db["TEST"] = {"NAME": str(VAR_DIR / f"test-{_test_suffix}.sqlite3")}
else:
    _db.setdefault("CONN_MAX_AGE", 60)
    _db["CONN_HEALTH_CHECKS"] = True
    _db["TEST"] = {"NAME": f"test_kaspisync_{_test_suffix}"}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth, i18n, time -------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out user or address
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "ru"
LANGUAGES = [("ru", _("Russian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["kaspisync.formats"]  # Russian day-and-month in the genitive
USE_I18N = True
TIME_ZONE = "Asia/Almaty"
USE_TZ = True

# --- Security: login throttling and HTTPS ----------------------------------------------------
# django-axes: after AXES_FAILURE_LIMIT wrong passwords for one user name, or from one address,
# logins are refused for AXES_COOLOFF_MINUTES (HTTP 429, a page in Russian), the right password
# included. Unlock at once: `manage.py axes_reset_username NAME`, `axes_reset_ip ADDRESS`,
# `axes_reset` (everyone). Behind our own reverse proxies (TRUSTED_PROXIES) the client address is
# taken from X-Forwarded-For.
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each on its own: per user and per address
# A successful login forgets only that user name's failures from that address (kaspisync.net:
# axes' own reset would also forget every failure from the address, for any user name, so someone
# with an account could guess another's password without end, logging in as themselves between).
AXES_RESET_ON_SUCCESS = False
AXES_DISABLE_ACCESS_LOG = True  # failures are kept (and shown in the admin); successes are not
AXES_LOCKOUT_CALLABLE = "kaspisync.views.lockout"
AXES_CLIENT_IP_CALLABLE = "kaspisync.net.request_client_ip"
AXES_VERBOSE = False
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])  # our reverse proxies' addresses

# HTTPS (production behind TLS: see .env.example). Off by default so `make run` works over
# plain HTTP on loopback; `manage.py check --deploy` passes with the production values.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # monitors and load balancers probe over plain HTTP
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=False)
# "HTTP_X_FORWARDED_PROTO,https": the proxy in front says the request came over HTTPS. Set it only
# behind a proxy that always sets (or strips) that header.
SECURE_PROXY_SSL_HEADER = tuple(env.list("SECURE_PROXY_SSL_HEADER", default=[])) or None
if SECURE_PROXY_SSL_HEADER is not None and len(SECURE_PROXY_SSL_HEADER) != 2:
    raise ImproperlyConfigured(
        f"SECURE_PROXY_SSL_HEADER must be a header and a value, e.g. HTTP_X_FORWARDED_PROTO,https, "
        f"not {','.join(SECURE_PROXY_SSL_HEADER)!r}"
    )
USE_X_FORWARDED_HOST = env.bool("USE_X_FORWARDED_HOST", default=False)

# --- Static and media -------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns on every request without it
MEDIA_ROOT = Path(env("KASPISYNC_MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True  # `make run` works before collectstatic

# --- Celery -----------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://localhost/")  # a host: kombu warns without one
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = Path(env("KASPISYNC_BROKER_DIR", default=str(VAR_DIR / "broker")))
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),  # kombu's default is ./control
        "store_processed": False,
    }
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True  # run rows in the database are the results
CELERY_RESULT_BACKEND = None
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=60 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=55 * 60)
# Acknowledged when done, not when started: on Redis, a message whose worker died before it ended
# is delivered again after CELERY_VISIBILITY_TIMEOUT, longer than the longest run (the 2-hour
# import). A task whose pool process was killed is not handed back by the broker at once
# (reject_on_worker_lost would loop on a task that kills its worker every time): the worker
# heartbeat finds its abandoned run and queues the job again within two minutes, at most three
# times in a row (kaspisync.runs) — on both brokers.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = False
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=3 * 60 * 60)
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# How often beat queues the deferred tasks that are due (what follows a catalog change), seconds.
DEFERRED_TASKS_INTERVAL = env.int("DEFERRED_TASKS_INTERVAL", default=15)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {}  # filled by kaspisync.schedule (where the apps are wired together)

# --- External services ------------------------------------------------------------------
ALSTYLE_API_URL = env("ALSTYLE_API_URL", default="https://api.al-style.kz/api/")
ALSTYLE_TOKEN = env("ALSTYLE_TOKEN", default="")
ALSTYLE_MIN_INTERVAL = env.float("ALSTYLE_MIN_INTERVAL", default=5.0)
ALSTYLE_MAX_ATTEMPTS = env.int("ALSTYLE_MAX_ATTEMPTS", default=5)  # per request, retries included
ALSTYLE_BACKOFF_BASE = env.float("ALSTYLE_BACKOFF_BASE", default=2.0)  # seconds, doubled each retry

KASPI_API_URL = env("KASPI_API_URL", default="https://kaspi.kz/shop/api/v2")
KASPI_TOKEN = env("KASPI_TOKEN", default="")
KASPI_MERCHANT_ID = env("KASPI_MERCHANT_ID", default="")
KASPI_COMPANY_NAME = env("KASPI_COMPANY_NAME", default="")

FEED_TOKEN = env("FEED_TOKEN", default="")
# Price list defaults (editable later in the admin: «Настройки прайс-листа»).
FEED_SKU_PREFIX = env("FEED_SKU_PREFIX", default="AS")
# Our reverse proxies in front of the feed URL (default: TRUSTED_PROXIES): fetcher IP from X-Forwarded-For.
FEED_TRUSTED_PROXIES = env.list("FEED_TRUSTED_PROXIES", default=TRUSTED_PROXIES)
FEED_STORE_IDS = env.list("FEED_STORE_IDS", default=["PP1"])  # Kaspi points of sale, first use only
if not all(re.fullmatch(r"[A-Za-z0-9_-]{1,50}", code) for code in FEED_STORE_IDS):
    raise ImproperlyConfigured(
        f"FEED_STORE_IDS must be Kaspi point codes (Latin letters, digits, '-', '_'), not {FEED_STORE_IDS!r}"
    )
FEED_STOCK_THRESHOLD = env.int("FEED_STOCK_THRESHOLD", default=1)
FEED_SHRINK_THRESHOLD = env.int("FEED_SHRINK_THRESHOLD", default=20)  # percent
FEED_KEEP_VERSIONS = env.int("FEED_KEEP_VERSIONS", default=10)
FEED_REBUILD_DELAY = env.int("FEED_REBUILD_DELAY", default=60)  # seconds: a burst of changes gives one build
FEED_BUILD_INTERVAL = env.int("FEED_BUILD_INTERVAL", default=30 * 60)  # scheduled rebuild
FEED_FETCH_LOG_SECONDS = env.float("FEED_FETCH_LOG_SECONDS", default=1.0)  # fetch log batching; 0: at once
FEED_FETCH_KEEP_DAYS = env.int("FEED_FETCH_KEEP_DAYS", default=90)  # fetches with the right token
FEED_PROBE_KEEP_DAYS = env.int("FEED_PROBE_KEEP_DAYS", default=30)  # wrong-token counts (per day, address)
FEED_PROBE_MAX_ADDRESSES = env.int("FEED_PROBE_MAX_ADDRESSES", default=1000)  # a day; beyond: one shared row
FEED_SERVE_CACHE_SECONDS = env.float("FEED_SERVE_CACHE_SECONDS", default=2.0)  # published version, per process

HTTP_CONNECT_TIMEOUT = env.float("HTTP_CONNECT_TIMEOUT", default=10.0)
HTTP_READ_TIMEOUT = env.float("HTTP_READ_TIMEOUT", default=30.0)

# --- Schedules (seconds) ----------------------------------------------------------------
IMPORT_FULL_INTERVAL = env.int("IMPORT_FULL_INTERVAL", default=6 * 60 * 60)
IMPORT_QUICK_INTERVAL = env.int("IMPORT_QUICK_INTERVAL", default=15 * 60)
PRICING_EXPIRY_INTERVAL = env.int("PRICING_EXPIRY_INTERVAL", default=5 * 60)  # manual prices that expire
PRICING_RECOMPUTE_INTERVAL = env.int("PRICING_RECOMPUTE_INTERVAL", default=24 * 60 * 60)  # full safety recompute
KASPI_DEFAULT_COMMISSION_PERCENT = env("KASPI_DEFAULT_COMMISSION_PERCENT", default="12")  # until set in the admin
try:
    _commission_ok = 0 <= Decimal(KASPI_DEFAULT_COMMISSION_PERCENT) <= 50  # the admin's limits
except InvalidOperation:
    _commission_ok = False
if not _commission_ok:
    raise ImproperlyConfigured(
        f"KASPI_DEFAULT_COMMISSION_PERCENT must be a percent from 0 to 50, not {KASPI_DEFAULT_COMMISSION_PERCENT!r}"
    )

# --- Kaspi orders -----------------------------------------------------------------------
ORDERS_PULL_INTERVAL = env.int("ORDERS_PULL_INTERVAL", default=5 * 60)
ORDERS_BACKFILL_DAYS = env.int("ORDERS_BACKFILL_DAYS", default=14)  # first pull
ORDERS_REVISIT_DAYS = env.int("ORDERS_REVISIT_DAYS", default=14)  # later pulls re-read this many days
ORDERS_ENTRY_WORKERS = env.int("ORDERS_ENTRY_WORKERS", default=8)  # concurrent SKU lookups / entries calls
KASPI_MAX_ATTEMPTS = env.int("KASPI_MAX_ATTEMPTS", default=4)
KASPI_BACKOFF_BASE = env.float("KASPI_BACKOFF_BASE", default=2.0)

# --- Alerts (alerts app): Telegram and e-mail -------------------------------------------
TELEGRAM_BOT_TOKEN = env("TELEGRAM_BOT_TOKEN", default="")  # empty: no Telegram (`make run`: the sandbox)
TELEGRAM_CHAT_IDS = env.list("TELEGRAM_CHAT_IDS", default=[])  # default recipients: every alert
TELEGRAM_API_URL = env("TELEGRAM_API_URL", default="https://api.telegram.org")
# E-mail through Django's mail framework, configured by one URL (smtp://user:password@host:587,
# smtp+tls://..., smtp+ssl://...); empty: no e-mail alerts.
EMAIL_URL = env("EMAIL_URL", default="")
if EMAIL_URL:
    globals().update(
        {k: v for k, v in env.email_url_config(EMAIL_URL).items() if k.startswith("EMAIL_") and v is not None}
    )
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)  # seconds; Django's default is to wait forever
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="kaspisync@localhost")
ALERT_EMAILS = env.list("ALERT_EMAILS", default=[])  # default recipients: every alert
ALERT_ORDER_REMINDER_MINUTES = env.int("ALERT_ORDER_REMINDER_MINUTES", default=30)
ALERT_DAILY_SUMMARY_AT = env("ALERT_DAILY_SUMMARY_AT", default="09:00")  # Almaty time, HH:MM
if not re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d", ALERT_DAILY_SUMMARY_AT):
    raise ImproperlyConfigured(f"ALERT_DAILY_SUMMARY_AT must be a time HH:MM, not {ALERT_DAILY_SUMMARY_AT!r}")
ALERT_MAX_ATTEMPTS = env.int("ALERT_MAX_ATTEMPTS", default=8)  # tries per message before it is marked failed
ALERT_SEND_INTERVAL = env.int("ALERT_SEND_INTERVAL", default=20)  # seconds between two sends of what waits
# The portal's address as staff open it: links in alerts point to its admin pages.
PORTAL_URL = env("PORTAL_URL", default="http://127.0.0.1:8000").rstrip("/")
# --- Kaspi product cards (content-import API) --------------------------------------------
KASPI_CONTENT_API_URL = env("KASPI_CONTENT_API_URL", default="https://kaspi.kz/shop/api/products")
CARDS_BATCH_SIZE = env.int("CARDS_BATCH_SIZE", default=10_000)  # cards per upload (Kaspi's maximum: 10,000)
if not 1 <= CARDS_BATCH_SIZE <= 10_000:
    raise ImproperlyConfigured(f"CARDS_BATCH_SIZE must be from 1 to 10000 (Kaspi's limit), not {CARDS_BATCH_SIZE}")
CARDS_POLL_INTERVAL = env.float("CARDS_POLL_INTERVAL", default=10.0)  # first wait between status checks (grows)
CARDS_POLL_TIMEOUT = env.float("CARDS_POLL_TIMEOUT", default=30 * 60)  # then the result is read later
CARDS_CLASSIFICATION_INTERVAL = env.int("CARDS_CLASSIFICATION_INTERVAL", default=24 * 60 * 60)  # Kaspi categories
CARDS_PROPERTIES_INTERVAL = env.int("CARDS_PROPERTIES_INTERVAL", default=24 * 60 * 60)  # Al-Style properties
CARDS_CHECK_INTERVAL = env.int("CARDS_CHECK_INTERVAL", default=10 * 60)  # unfinished uploads looked up

# --- Logging: every handler masks secrets ----------------------------------------------
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_secrets": {"()": "kaspisync.secrets.MaskSecretsFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["mask_secrets"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # urllib3 logs full URLs (with the Al-Style access-token) at DEBUG: keep it quiet.
        "urllib3": {"level": "WARNING"},
    },
}

# Job locks (kaspisync.locks): a holder keeps its lock alive every LEASE / 4 seconds, so the lock of
# a process that died is taken over after JOB_LOCK_LEASE; a live holder that makes no progress
# (no refresh) for JOB_LOCK_TTL loses it too.
JOB_LOCK_TTL = timedelta(seconds=env.int("JOB_LOCK_TTL", default=15 * 60))
JOB_LOCK_LEASE = timedelta(seconds=env.int("JOB_LOCK_LEASE", default=60))
