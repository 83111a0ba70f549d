"""Shared HTTP plumbing for the external API clients.

- `make_session()`: one `requests.Session` with a User-Agent naming the product.
- `timeouts()`: explicit (connect, read) timeouts from settings.
- `RetryPolicy`: the one retry policy of every API client (tenacity): only failures marked
  `retryable` are tried again, after the wait the server stated (capped) or an exponential
  backoff with jitter (capped), a bounded number of attempts in all.
- `ExternalServiceError`: the error clients raise; its text is masked and meant for operators.
- `read_ahead_of(pages)`: the next page fetched in the background while the caller works.
"""

import queue
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import requests
import tenacity
from django import db
from django.conf import settings

from .secrets import mask

T = TypeVar("T")
USER_AGENT = "kaspisync/1.0 (merchant portal; +https://github.com/kaspisync)"


class ExternalServiceError(Exception):
    """A failure talking to an external API. `retryable` says whether trying later may help;
    `diagnosis` tells the operator what to check. The message is always masked."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        status: int | None = None,
        diagnosis: str = "",
        retry_after: float | None = None,
    ):
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after  # the wait the server asked for before trying again, if it said
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


def retry_after(response) -> float | None:
    """The seconds a `Retry-After` header asks for (a number; an HTTP date is not honoured)."""
    value = (response.headers.get("Retry-After") or "").strip()
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


# A wait never exceeds these, whatever the backoff grows to or the server asks for.
BACKOFF_MAX = 60.0
STATED_WAIT_MAX = 120.0


@dataclass(frozen=True)
class RetryPolicy:
    """How a client retries: `attempts` in all (the first included); between two, the wait the
    failure states (`ExternalServiceError.retry_after`: a throttle answer's interval or a
    Retry-After header, at most STATED_WAIT_MAX), else `backoff_base` doubled per retry with
    ±20 % jitter, at most BACKOFF_MAX. Only failures with `retryable` set are retried: the client
    decides that (timeouts, broken connections, 5xx, throttling and broken answers are; a 4xx
    refusal is not, and neither is anything that may have changed data at the other end)."""

    attempts: int
    backoff_base: float

    @classmethod
    def configured(cls, service: str, attempts: int | None = None, backoff_base: float | None = None) -> "RetryPolicy":
        """The policy of one service from its settings (`<SERVICE>_MAX_ATTEMPTS`,
        `<SERVICE>_BACKOFF_BASE`, e.g. service="KASPI"); a client's own arguments win."""
        return cls(
            attempts=max(1, attempts or getattr(settings, f"{service}_MAX_ATTEMPTS")),
            backoff_base=getattr(settings, f"{service}_BACKOFF_BASE") if backoff_base is None else backoff_base,
        )

    def call(self, send: Callable[[], T], *, before_attempt: Callable[[], None] | None = None, log=None) -> T:
        """`send()` until it returns or raises something not to retry; the last failure is raised.
        `before_attempt` runs before every attempt (e.g. taking a turn in a shared rate slot)."""

        def before(state: tenacity.RetryCallState) -> None:
            if before_attempt is not None:
                before_attempt()

        def before_sleep(state: tenacity.RetryCallState) -> None:
            if log is not None:
                log.warning(
                    "%s (attempt %d of %d), retrying in %.2f s",
                    state.outcome.exception(),
                    state.attempt_number,
                    self.attempts,
                    state.upcoming_sleep,
                )

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(max(1, self.attempts)),
            wait=self.wait,
            retry=tenacity.retry_if_exception(lambda exc: isinstance(exc, ExternalServiceError) and exc.retryable),
            before=before,
            before_sleep=before_sleep,
            reraise=True,
            sleep=lambda seconds: time.sleep(seconds),  # looked up at call time (tests may patch time.sleep)
        )
        return retrying(send)

    def wait(self, state: tenacity.RetryCallState) -> float:
        failure = state.outcome.exception() if state.outcome else None
        stated = getattr(failure, "retry_after", None)
        if stated is not None:
            return max(0.0, min(float(stated), STATED_WAIT_MAX))
        delay = min(BACKOFF_MAX, self.backoff_base * 2 ** (state.attempt_number - 1))
        return delay * (0.8 + 0.4 * random.random())


class _Failed:
    def __init__(self, error: BaseException):
        self.error = error


_DONE = object()


def read_ahead_of(iterator, name: str = "read-ahead"):
    """Yield the items of `iterator`, which a background thread produces one item ahead (the next
    page is fetched while the caller works on this one). An exception in the producer is raised
    here, in the consumer; closing this generator (or an exception in the consumer) stops the
    producer, which is waited for. The producer's own database connection, if it used one (the
    shared rate slots do), is closed when it ends. Never more than one item ahead: the next is
    made only once the consumer has taken this one (a page of products is about a megabyte)."""
    slot: queue.Queue = queue.Queue(maxsize=1)
    taken = threading.Semaphore(1)  # released when the consumer takes an item: the producer may make the next
    stop = threading.Event()

    def offer(item) -> None:
        while not stop.is_set():
            try:
                slot.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def wait_until_taken() -> bool:
        while not taken.acquire(timeout=0.1):
            if stop.is_set():
                return False
        return True

    def produce() -> None:
        try:
            while wait_until_taken():
                item = next(iterator, _DONE)
                offer(item)
                if item is _DONE or stop.is_set():
                    return
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
            taken.release()
            yield item
            item = None  # not kept while the next one is waited for
    finally:
        stop.set()
        producer.join()
