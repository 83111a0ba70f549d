"""`check_connections` against both emulators over real sockets."""

import io

import pytest
from django.core.management import call_command

from kaspisync.sandbox.alstyle import AlstyleSandbox
from kaspisync.sandbox.kaspi import KaspiSandbox

ALSTYLE_TOKEN = "alstyle-check-token-81a2"
KASPI_TOKEN = "kaspi-check-token-44d0"


@pytest.fixture
def services(settings, db):
    alstyle = AlstyleSandbox(50, interval=0, token=ALSTYLE_TOKEN)
    kaspi = KaspiSandbox([{"sku": "AS1", "name": "x", "price": 100, "brand": "b"}], token=KASPI_TOKEN)
    servers = [alstyle.serve().start(), kaspi.serve().start()]
    settings.ALSTYLE_API_URL = servers[0].url
    settings.ALSTYLE_TOKEN = ALSTYLE_TOKEN
    settings.ALSTYLE_MIN_INTERVAL = 0
    settings.KASPI_API_URL = servers[1].url
    settings.KASPI_TOKEN = KASPI_TOKEN
    settings.KASPI_CONTENT_API_URL = servers[1].base + "/shop/api/products"  # product cards, same sandbox
    settings.FEED_TOKEN = "feed-token-0123456789abcdef"
    settings.HTTP_READ_TIMEOUT = 2
    yield
    for server in servers:
        server.stop()


def run_check():
    out = io.StringIO()
    try:
        call_command("check_connections", stdout=out)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue()


def test_all_connections_ok(services):
    code, out = run_check()
    assert code == 0, out
    for name in ("database", "broker", "feed", "al-style", "kaspi", "kaspi content api"):
        assert f"ok   {name}" in out


def test_wrong_tokens_fail_with_a_diagnosis_and_no_secret(services, settings):
    settings.ALSTYLE_TOKEN = "wrong-alstyle-token-zz"
    settings.KASPI_TOKEN = "wrong-kaspi-token-zz"
    code, out = run_check()
    assert code == 1
    assert "FAIL al-style" in out
    assert "FAIL kaspi" in out
    assert "FAIL kaspi content api" in out
    assert "wrong-alstyle-token-zz" not in out
    assert "wrong-kaspi-token-zz" not in out
    assert "feed-token-0123456789abcdef" not in out


def test_unreachable_service_is_reported_not_raised(services, settings):
    settings.KASPI_API_URL = "http://127.0.0.1:9/shop/api/v2"  # discard port: connection refused
    settings.FEED_TOKEN = ""
    code, out = run_check()
    assert code == 1
    assert "FAIL kaspi" in out
    assert "FAIL feed" in out
    assert "ok   database" in out
