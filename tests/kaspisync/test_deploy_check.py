"""HTTPS hardening comes from the environment: with the production values .env.example lists,
`manage.py check --deploy --fail-level WARNING` passes (issue 9, item 6)."""

import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HTTPS = (
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_PROXY_SSL_HEADER",
)


def production_values() -> dict:
    """The HTTPS lines of .env.example (commented there so `make run` works over plain HTTP)."""
    text = (ROOT / ".env.example").read_text()
    values = dict(re.findall(r"^# ?(SECURE_[A-Z_]+|SESSION_COOKIE_SECURE|CSRF_COOKIE_SECURE)=(\S+)$", text, re.M))
    assert set(HTTPS) <= set(values), f"missing from .env.example: {set(HTTPS) - set(values)}"
    return values


def deploy_check(tmp_path, extra: dict) -> subprocess.CompletedProcess:
    env = {
        "PATH": "/usr/bin:/bin",
        "KASPISYNC_ENV_FILE": "/dev/null",
        "KASPISYNC_VAR_DIR": str(tmp_path),
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "portal.example.kz",
        "DJANGO_DEBUG": "false",
        **extra,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )


def test_check_deploy_passes_with_the_production_values(tmp_path):
    done = deploy_check(tmp_path, production_values())
    assert done.returncode == 0, done.stdout + done.stderr


def test_without_them_check_deploy_names_what_is_missing(tmp_path):
    done = deploy_check(tmp_path, {})
    assert done.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in done.stdout + done.stderr


def test_the_values_reach_the_settings(tmp_path):
    script = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD,"
        " s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_PROXY_SSL_HEADER)"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "kaspisync.settings",
        "KASPISYNC_ENV_FILE": "/dev/null",
        "KASPISYNC_VAR_DIR": str(tmp_path),
        **production_values(),
    }
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT)
    assert done.stdout.strip() == "True 31536000 True True True True ('HTTP_X_FORWARDED_PROTO', 'https')", done.stderr


@pytest.mark.django_db
def test_healthz_is_answered_over_plain_http_behind_the_redirect(client, settings):
    """Monitors probe /healthz over HTTP: exempt from the redirect; everything else goes to HTTPS."""
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/admin/login/").status_code == 301
    assert client.get("/healthz").status_code in (200, 503)
