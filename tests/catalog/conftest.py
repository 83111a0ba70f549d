import threading

import pytest
from django.db import connection

from kaspisync.sandbox.alstyle import AlstyleSandbox

TOKEN = "alstyle-test-token-7c1e93"


@pytest.fixture
def alstyle(settings, serve):
    """Start an Al-Style emulator over real HTTP and point the settings at it:
    `alstyle(products=600, interval=0.0, ...)` -> the sandbox (its server as `.server`).
    Retries are quick and timeouts short, so failure tests stay fast."""

    def start(products=600, *, interval: float = 0.0, client_interval: float | None = None, **kwargs):
        sandbox = AlstyleSandbox(products, interval=interval, token=TOKEN, **kwargs)
        sandbox.server = serve(sandbox)
        settings.ALSTYLE_API_URL = sandbox.server.url
        settings.ALSTYLE_TOKEN = TOKEN
        settings.ALSTYLE_MIN_INTERVAL = interval if client_interval is None else client_interval
        settings.ALSTYLE_MAX_ATTEMPTS = 3
        settings.ALSTYLE_BACKOFF_BASE = 0.01
        settings.HTTP_CONNECT_TIMEOUT = 2
        settings.HTTP_READ_TIMEOUT = 2
        return sandbox

    return start


@pytest.fixture
def raw(alstyle):
    """A started 600-product sandbox (interval 0) and a helper to find its raw products."""
    sandbox = alstyle()

    def find(predicate):
        return next(p for p in sandbox.products if predicate(p))

    sandbox.find = find
    return sandbox


@pytest.fixture
def in_threads():
    """`in_threads(func, n)`: call `func()` in n threads released together; return the results
    (each thread closes its own database connection; an exception in a thread is re-raised)."""

    def run(func, n: int = 2) -> list:
        barrier = threading.Barrier(n)
        results, errors = [], []

        def target():
            try:
                barrier.wait()
                results.append(func())
            except Exception as exc:  # re-raised below, in the test's thread
                errors.append(exc)
            finally:
                connection.close()

        threads = [threading.Thread(target=target) for _ in range(n)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        return results

    return run
