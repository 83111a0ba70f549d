"""The first admin login, for `make run` and `manage.py ensure_admin`.

Taken from DJANGO_ADMIN_USER / DJANGO_ADMIN_PASSWORD, or generated. A generated password is
returned once, to be shown once; only the user name is remembered (in var/admin_user) so later
starts can say which login to use. The password itself is never stored in clear or logged.
"""

import secrets
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model

DEFAULT_USERNAME = "admin"


def marker_path() -> Path:
    return Path(settings.VAR_DIR) / "admin_user"


@dataclass(frozen=True)
class AdminLogin:
    username: str
    created: bool
    generated_password: str = ""  # set only when this call generated it: show it, then forget it


def ensure_admin(username: str = "", password: str = "") -> AdminLogin | None:
    """Create the admin login if needed. With a password given, an existing user gets it (the
    environment is the source of truth). With none, and a superuser already there, nothing
    happens (returns None)."""
    User = get_user_model()
    username = username or DEFAULT_USERNAME
    user = User.objects.filter(username=username).first()
    if user is None and not password and User.objects.filter(is_superuser=True).exists():
        return None
    generated = ""
    if user is None:
        generated = "" if password else secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email="", password=password or generated)
        marker_path().write_text(username + "\n")
        return AdminLogin(username, created=True, generated_password=generated)
    if password and not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
    return AdminLogin(username, created=False)


def remembered_username() -> str:
    path = marker_path()
    return path.read_text().strip() if path.is_file() else ""
