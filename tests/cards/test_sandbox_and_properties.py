"""The content sandbox enforces the reference's rules; the Al-Style properties of mapped
categories are read through the catalog client into cards' own table."""

import json

import pytest
import requests

from cards.models import AlstyleProperties, ProductCard
from cards.services.mapping import import_mapping
from cards.services.properties import refresh_properties
from cards.services.readiness import refresh_readiness
from catalog.alstyle import AlstyleClient
from catalog.services.importing import import_catalog

from .conftest import NB, TOKEN

pytestmark = pytest.mark.django_db

CARD = {
    "sku": "AS1",
    "title": "Ноутбук",
    "brand": "Lenovo",
    "category": "Master - Notebooks",
    "attributes": [
        {"code": f"{NB}*diagonal", "value": 15.6},
        {"code": f"{NB}*processor", "value": "intel core i5"},
        {"code": f"{NB}*ram", "value": 16},
    ],
    "images": [{"url": "https://example.kz/1.jpg"}],
}


def post(sandbox, body, content_type="text/plain", token=TOKEN):
    return requests.post(
        sandbox.server.base + "/shop/api/products/import",
        data=body if isinstance(body, bytes) else json.dumps(body).encode(),
        headers={"X-Auth-Token": token, "Accept": "application/json", "Content-Type": content_type, "User-Agent": "t"},
        timeout=5,
    )


def get(sandbox, path, **params):
    return requests.get(
        sandbox.server.base + "/shop/api/products" + path,
        params=params,
        headers={"X-Auth-Token": TOKEN, "Accept": "application/json", "User-Agent": "t"},
        timeout=5,
    )


def test_sandbox_refuses_what_kaspi_refuses(content):
    sandbox = content()
    wrong_type = post(sandbox, [CARD], content_type="application/json")
    assert wrong_type.status_code == 500
    assert "not supported" in wrong_type.json()["message"]
    assert post(sandbox, {"products": [CARD]}).status_code == 400  # not a bare array
    assert post(sandbox, [{**CARD, "description": ""}]).status_code == 400  # schema: "" is not allowed
    assert post(sandbox, [{**CARD, "extra": 1}]).status_code == 400  # no other keys
    assert post(sandbox, [CARD], token="nope").status_code == 401
    vnd = requests.get(
        sandbox.server.base + "/shop/api/products/import/schema",
        headers={"X-Auth-Token": TOKEN, "Accept": "application/vnd.api+json", "User-Agent": "t"},
        timeout=5,
    )
    assert vnd.status_code == 406
    assert get(sandbox, "/import/schema").json()["maxItems"] == 10000


def test_sandbox_moves_an_import_on_and_reports_per_card_errors(content):
    sandbox = content(uploaded_seconds=100, processing_seconds=100)
    assert get(sandbox, "/classification/categories").status_code == 200
    bad_enum = {
        **CARD,
        "sku": "AS2",
        "attributes": [
            *CARD["attributes"][:1],
            {"code": f"{NB}*processor", "value": "Apple M2"},
            CARD["attributes"][2],
        ],
    }
    no_mandatory = {**CARD, "sku": "AS3", "attributes": CARD["attributes"][:1]}
    wrong_type = {
        **CARD,
        "sku": "AS4",
        "attributes": [{"code": f"{NB}*diagonal", "value": "15.6"}, *CARD["attributes"][1:]],
    }
    not_leaf = {**CARD, "sku": "AS5", "category": "Master - Computers"}
    answer = post(sandbox, [CARD, bad_enum, no_mandatory, wrong_type, not_leaf]).json()
    assert answer["status"] == "UPLOADED"
    code = answer["code"]
    assert get(sandbox, "/import", i=code).json()["status"] == "UPLOADED"
    sandbox.advance(150)
    assert get(sandbox, "/import", i=code).json()["status"] == "PROCESSING"
    sandbox.advance(100)
    assert get(sandbox, "/import", i=code).json()["status"] == "FINISHED"
    result = get(sandbox, "/import/result", i=code).json()
    assert (result["total"], result["errors"]) == (5, 4)
    assert result["result"]["AS1"] == {"state": "FINISHED"}
    assert "Apple M2" in result["result"]["AS2"]["errors"][0]
    assert "Mandatory" in " ".join(result["result"]["AS3"]["errors"])
    assert "number" in result["result"]["AS4"]["errors"][0]
    assert "not a leaf" in result["result"]["AS5"]["errors"][0]


def test_alstyle_sandbox_serves_properties_per_category(alstyle):
    sandbox = alstyle(products=300)
    notebooks = next(c for c in sandbox.categories if c["name"] == "Игровые ноутбуки")
    pages = list(AlstyleClient().properties(categories=[notebooks["id"]]))
    read = {article: values for page in pages for article, values in page.items()}
    expected = [p["article"] for p in sandbox.products if p["category"] == notebooks["id"]]
    assert sorted(read) == sorted(expected)
    assert expected
    assert sum("Процессор" in v for v in read.values()) >= len(read) * 0.8
    assert all("Гарантия" in v for v in read.values())


def test_properties_of_mapped_categories_are_read_within_the_rate_limit(
    alstyle, content, django_capture_on_commit_callbacks
):
    sandbox = alstyle(products=400)
    import_catalog()
    content()
    notebooks = next(c for c in sandbox.categories if c["name"] == "Ноутбуки")
    mapping = {
        "alstyle_category": notebooks["id"],
        "kaspi_category": "Master - Notebooks",
        "attributes": [
            {"code": f"{NB}*diagonal", "property": "Диагональ экрана"},
            {"code": f"{NB}*processor", "property": "Процессор"},
            {"code": f"{NB}*ram", "property": "Объем оперативной памяти"},
        ],
    }
    import_mapping({"categories": [mapping]})
    before = sandbox.request_count()
    run = refresh_properties()
    assert run.status == "success", run.error
    assert sandbox.request_count("properties") == sandbox.request_count() - before >= 1
    leaves = {c["id"] for c in sandbox.categories if notebooks["left"] < c["left"] < notebooks["right"]}
    in_scope = [p for p in sandbox.products if p["category"] in leaves]
    assert AlstyleProperties.objects.count() == len(in_scope) > 0
    counts = refresh_readiness()
    assert counts.get("ready", 0) > 0
    assert counts.get("not_ready", 0) > 0  # e.g. "Apple M2", missing images
    reasons = [r["code"] for rs in ProductCard.objects.values_list("reasons", flat=True) for r in rs]
    assert "enum" in reasons
    assert "properties_not_loaded" not in reasons


def test_a_properties_server_that_ignores_offset_is_not_asked_the_same_page_again_and_again(alstyle):
    sandbox = alstyle(products=300)
    notebooks = next(c for c in sandbox.categories if c["name"] == "Игровые ноутбуки")
    expected = [p["article"] for p in sandbox.products if p["category"] == notebooks["id"]]
    assert len(expected) > 6
    served = sandbox.properties
    sandbox.properties = lambda query: served({**query, "offset": "0", "limit": "3"})  # always the first page
    before = sandbox.request_count("properties")
    pages = list(AlstyleClient().properties(categories=[notebooks["id"]]))
    assert sandbox.request_count("properties") - before == 2, "the repeated page ends the read"
    assert len({article for page in pages for article in page}) == 3
