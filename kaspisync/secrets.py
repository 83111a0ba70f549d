"""Secrets never leave the process in clear text: logs, exceptions, stored errors, pages.

`mask()` replaces every configured secret (and anything that looks like a token in a URL or
header) with `***`. `install_log_masking()` wraps the log record factory so that *every*
record, whichever handler or test capture receives it, is masked at creation.
"""

import logging
import re

from django.conf import settings

MASK = "***"
SECRET_SETTINGS = (
    "ALSTYLE_TOKEN",
    "KASPI_TOKEN",
    "FEED_TOKEN",
    "SECRET_KEY",
    "TELEGRAM_BOT_TOKEN",
    "EMAIL_HOST_PASSWORD",
)
# `access-token=...` in Al-Style URLs, `X-Auth-Token: ...` in Kaspi headers, the bot token in
# Telegram Bot API paths (`/bot<token>/sendMessage`), the password in mail URLs.
_PATTERNS = [
    re.compile(r"(/bot)[^/\s'\"]*:[^/\s'\"]+(/)"),
    re.compile(r"(smtps?(?:\+tls|\+ssl)?://[^:/@\s]*:)[^@\s]+(@)", re.IGNORECASE),
    re.compile(r"(access-token=)[^&\s'\"]+", re.IGNORECASE),
    re.compile(r"(X-Auth-Token['\"]?\s*[:=]\s*['\"]?)[^\s'\",}]+", re.IGNORECASE),
    re.compile(r"(/feeds/)[^/\s]+(/kaspi\.xml)"),
]
_extra_secrets: set[str] = set()


def register_secret(value: str) -> None:
    """Mask a secret that does not come from settings (e.g. a token typed in the admin)."""
    if value and len(value) >= 4:
        _extra_secrets.add(value)


def secret_values() -> list[str]:
    values = set(_extra_secrets)
    for name in SECRET_SETTINGS:
        value = getattr(settings, name, "") or ""
        if len(value) >= 4:
            values.add(value)
    # Longest first, so a secret that contains another is masked whole.
    return sorted(values, key=len, reverse=True)


def mask(text) -> str:
    if text is None:
        return ""
    text = str(text)
    for value in secret_values():
        text = text.replace(value, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + MASK + (m.group(2) if m.re.groups > 1 else ""), text)
    return text


class MaskSecretsFilter(logging.Filter):
    """Handler filter (belt and braces next to the record factory)."""

    def filter(self, record: logging.LogRecord) -> bool:
        _mask_record(record)
        return True


def _mask_record(record: logging.LogRecord) -> None:
    if getattr(record, "_kaspisync_masked", False):
        return
    try:
        message = record.getMessage()
    except Exception:  # a malformed log call must not take the process down
        message = str(record.msg)
    record.msg = mask(message)
    record.args = ()
    if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
        record.exc_text = mask(logging.Formatter().formatException(record.exc_info))
    record._kaspisync_masked = True


_installed = False


def install_log_masking() -> None:
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        _mask_record(record)
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
