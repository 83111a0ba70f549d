"""Web requests do not thrash CPython's frame stack (kaspisync/stackroom.py, issue 10).

The product list is rendered through the web server's WSGI application (kaspisync.wsgi's
wrapping of Django's handler) from every call depth across a whole 16 KiB stack chunk, one small
frame at a time. Where a hot call sits at a chunk's end, CPython 3.11/3.12 maps and unmaps a
chunk per call: thousands of fresh page faults per page (what made gunicorn cost twice the CPU
of the test client). With room made for each request, no depth costs more than a few hundred.
"""

import importlib
import io
import resource

import pytest
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.test import Client

from kaspisync.stackroom import with_stack_room

ROWS = 60
DEPTHS = range(0, 200)  # 200 frames of ~100 bytes: more than one 16 KiB chunk of offsets
MOST_FAULTS = 1_000  # per page: a chunk thrashing at one depth costs one fault per cell (~1,000 here)


def nested(depth: int, call):
    """`call()` run `depth` Python frames further down the stack."""
    return nested(depth - 1, call) if depth else call()


@pytest.fixture
def environ(make_staff, make_product):
    for article in range(ROWS):
        make_product(100_000 + article, name=f"Ноутбук {article}")
    client = Client()
    client.force_login(make_staff("boss", superuser=True))
    cookies = "; ".join(f"{name}={morsel.value}" for name, morsel in client.cookies.items())
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/admin/catalog/product/",
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "HTTP_COOKIE": cookies,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": None,
        "wsgi.errors": None,
    }


@pytest.fixture
def keep_test_connection():
    """As Django's test client does: the request's end must not close the test's transaction."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def page_faults(app, environ: dict, depth: int) -> int:
    """The fresh page faults of one request to `app` made `depth` frames down, after checking it
    answered the list with all its rows."""
    statuses = []

    def start_response(status, headers, exc_info=None):
        statuses.append(status)

    def request():
        return b"".join(app({**environ, "wsgi.input": io.BytesIO(), "wsgi.errors": io.StringIO()}, start_response))

    before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
    body = nested(depth, request)
    faults = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before
    assert statuses[-1].startswith("200"), statuses[-1]
    assert body.count(b'name="_selected_action"') == ROWS
    return faults


def test_no_call_depth_thrashes_the_frame_stack(environ, keep_test_connection):
    app = with_stack_room(WSGIHandler())
    page_faults(app, environ, 0)  # warm: templates compiled, translations loaded
    faults = {depth: page_faults(app, environ, depth) for depth in DEPTHS}
    worst = max(faults, key=faults.get)
    assert faults[worst] <= MOST_FAULTS, f"{faults[worst]} page faults for one page at depth {worst}: {faults}"


def test_the_web_server_makes_room_for_each_request(monkeypatch):
    monkeypatch.setenv("KASPISYNC_PROCESS", "test")  # kaspisync.wsgi marks its process as the web one
    wsgi = importlib.import_module("kaspisync.wsgi")
    assert wsgi.application.__qualname__ == with_stack_room(None).__qualname__
