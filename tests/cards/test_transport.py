"""The content client speaks Kaspi's documented contract on the wire (reference:
shared/reference/kaspi-content-api.md), as the content sandbox receives it over a socket:
headers, paths, query encoding, the upload's exact Content-Type and bare array, a 429's wait."""

import json
import time

import pytest

from cards.kaspi_content import KaspiContentClient
from kaspisync.http import USER_AGENT
from kaspisync.sandbox.kaspi_content import RETRY_AFTER

from .conftest import NB, TOKEN

pytestmark = pytest.mark.django_db

CARD = {
    "sku": "AS1",
    "title": "Ноутбук «Lenovo» & <X1>",
    "brand": "Lenovo",
    "category": "Master - Notebooks",
    "attributes": [
        {"code": f"{NB}*diagonal", "value": 15.6},
        {"code": f"{NB}*processor", "value": "intel core i5"},
        {"code": f"{NB}*ram", "value": 16},
    ],
    "images": [{"url": "https://example.kz/1.jpg"}],
}


def test_every_call_carries_the_documented_headers_and_paths(content):
    sandbox = content()
    client = KaspiContentClient()
    client.categories()
    client.attributes("Master - Notebooks")
    client.attribute_values("Master - Notebooks", f"{NB}*processor")
    client.schema()
    answer = client.upload([CARD])
    client.import_status(answer.code)
    client.import_result(answer.code)
    seen = [(r["method"], r["path"]) for r in sandbox.seen]
    assert seen == [
        ("GET", "/classification/categories"),
        ("GET", "/classification/attributes"),
        ("GET", "/classification/attribute/values"),
        ("GET", "/import/schema"),
        ("POST", "/import"),
        ("GET", "/import"),
        ("GET", "/import/result"),
    ], seen
    for request in sandbox.seen:
        headers = request["headers"]
        assert headers["X-Auth-Token"] == TOKEN, request
        assert headers["Accept"] == "application/json", request  # never the orders API's vnd.api+json
        assert headers["User-Agent"] == USER_AGENT, request
    gets = [r for r in sandbox.seen if r["method"] == "GET"]
    assert all(r["headers"]["Content-Type"] is None for r in gets), gets


def test_the_upload_is_a_bare_array_sent_as_exactly_text_plain(content):
    sandbox = content()
    KaspiContentClient().upload([CARD])
    upload = next(r for r in sandbox.seen if r["method"] == "POST")
    assert upload["headers"]["Content-Type"] == "text/plain", upload["headers"]
    stored = next(iter(sandbox.imports.values()))["cards"]
    assert stored == [CARD], "the body is the bare JSON array of cards, UTF-8, text intact"


def test_query_values_are_percent_encoded_with_spaces_as_percent_20(content):
    sandbox = content()
    client = KaspiContentClient()
    values = client.attribute_values("Master - Notebooks", f"{NB}*processor")
    assert values, "the sandbox decoded the codes and found the attribute"
    raw = sandbox.seen[-1]["raw_query"]
    assert raw == "c=Master%20-%20Notebooks&a=Notebooks%2AObshie%20harakteristiki.notebooks%2Aprocessor", raw
    assert "+" not in raw, raw
    assert " " not in raw, raw
    assert "*" not in raw, raw


def test_a_429_is_retried_after_the_wait_kaspi_states(content, settings):
    sandbox = content()
    settings.KASPI_BACKOFF_BASE = 0.01  # without the stated wait the retry would come at once
    sandbox.kaspi.inject("429", path="/classification/categories")
    started = time.monotonic()
    categories = KaspiContentClient().categories()
    waited = time.monotonic() - started
    assert categories, "the second try got the list"
    assert sandbox.request_count("/classification/categories") == 2
    assert waited >= RETRY_AFTER * 0.95, f"retried after {waited:.2f} s, Kaspi asked for {RETRY_AFTER} s"
    assert json.dumps(sandbox.seen[-1]["headers"])  # recorded as plain values


def test_a_result_listed_instead_of_keyed_by_sku_is_still_read(content):
    """The shape of /import/result beyond the documented example is unconfirmed: parse defensively."""
    sandbox = content()
    client = KaspiContentClient()
    answer = client.upload([CARD, {**CARD, "sku": "AS2"}])
    sandbox.advance(3600)
    documented = sandbox.import_result(answer.code)
    sandbox.import_result = lambda code: {
        **documented,
        "result": [
            {"sku": "AS1", "state": "FINISHED"},
            {"sku": "AS2", "state": "ERROR", "errors": [{"message": "Значение не из списка"}]},
        ],
    }
    result = client.import_result(answer.code)
    assert result.by_sku["AS1"].created
    assert not result.by_sku["AS2"].created
    assert result.by_sku["AS2"].message == "Значение не из списка"


@pytest.mark.parametrize("status", [201, 202])
def test_an_upload_answered_created_or_accepted_is_an_answer_not_a_lost_one(content, status):
    from kaspisync.sandbox.base import Response

    sandbox = content()
    accept = sandbox.upload

    def answered(content_type, body):
        result = accept(content_type, body)
        return Response(status, json.dumps(result).encode())

    sandbox.upload = answered
    answer = KaspiContentClient().upload([CARD])
    assert answer.code in sandbox.imports, "the code Kaspi answered is the import it made"
    assert answer.status == "UPLOADED"
