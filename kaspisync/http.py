"""Shared HTTP plumbing for the external API clients.

- `make_session()`: one `requests.Session` with a User-Agent naming the product.
- `timeouts()`: explicit (connect, read) timeouts from settings.
- `backoff_delays()`: bounded exponential backoff for retryable failures.
- `ExternalServiceError`: the error clients raise; its text is masked and meant for operators.
"""

import random

import requests
from django.conf import settings

from .secrets import mask

USER_AGENT = "kaspisync/1.0 (merchant portal; +https://github.com/kaspisync)"


class ExternalServiceError(Exception):
    """A failure talking to an external API. `retryable` says whether trying later may help;
    `diagnosis` tells the operator what to check. The message is always masked."""

    def __init__(self, message: str, *, retryable: bool = False, status: int | None = None, diagnosis: str = ""):
        self.retryable = retryable
        self.status = status
        self.diagnosis = mask(diagnosis)
        super().__init__(mask(message))

    def __str__(self):
        text = super().__str__()
        return f"{text} — {self.diagnosis}" if self.diagnosis else text


def make_session(headers: dict | None = None) -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    if headers:
        session.headers.update(headers)
    return session


def timeouts() -> tuple[float, float]:
    return (settings.HTTP_CONNECT_TIMEOUT, settings.HTTP_READ_TIMEOUT)


def backoff_delays(attempts: int, base: float = 1.0, cap: float = 60.0):
    """Delays before retry 1..attempts-1: base * 2**n with jitter, capped."""
    for n in range(attempts - 1):
        delay = min(cap, base * (2**n))
        yield delay * (0.8 + 0.4 * random.random())
