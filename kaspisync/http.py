"""Shared HTTP plumbing for the external API clients.

- `make_session()`: one `requests.Session` with a User-Agent naming the product.
- `timeouts()`: explicit (connect, read) timeouts from settings.
- `backoff_delays()`: bounded exponential backoff for retryable failures.
- `ExternalServiceError`: the error clients raise; its text is masked and meant for operators.
- `read_ahead_of(pages)`: the next page fetched in the background while the caller works.
"""

import queue
import random
import threading

import requests
from django import db
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


class _Failed:
    def __init__(self, error: BaseException):
        self.error = error


_DONE = object()


def read_ahead_of(iterator, name: str = "read-ahead"):
    """Yield the items of `iterator`, which a background thread produces one item ahead (the next
    page is fetched while the caller works on this one). An exception in the producer is raised
    here, in the consumer; closing this generator (or an exception in the consumer) stops the
    producer, which is waited for. The producer's own database connection, if it used one (the
    shared rate slots do), is closed when it ends."""
    slot: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def offer(item) -> None:
        while not stop.is_set():
            try:
                slot.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def produce() -> None:
        try:
            for item in iterator:
                offer(item)
                if stop.is_set():
                    return
            offer(_DONE)
        except BaseException as exc:  # handed to the consumer
            offer(_Failed(exc))
        finally:
            db.connection.close()  # the thread's own connection (the shared request queue uses it)

    producer = threading.Thread(target=produce, name=name, daemon=True)
    producer.start()
    try:
        while (item := slot.get()) is not _DONE:
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        stop.set()
        producer.join()
