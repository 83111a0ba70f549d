"""The Al-Style emulator itself: deterministic data with the supplier's quirks, its API and controls."""

import requests

from kaspisync.sandbox.alstyle import generate_catalog

from .conftest import TOKEN


def test_the_catalog_is_deterministic_and_has_every_quirk():
    catalog = generate_catalog(3000, seed=7)
    assert catalog == generate_catalog(3000, seed=7)
    assert catalog != generate_catalog(3000, seed=8)
    assert len({p["article"] for p in catalog}) == 3000
    quantities = {p["quantity"] for p in catalog}
    assert {">50", ">100", "<10", 0} <= quantities
    assert any(isinstance(q, str) and q.isdigit() for q in quantities)
    assert any(p["price1"] == 1 for p in catalog)
    assert any(p["price1"] == 9_999_999 for p in catalog)
    assert any(isinstance(p["price1"], str) for p in catalog)
    assert any(p["rrp"] == 1 for p in catalog)
    for marker in ("&", "<", '"', "\x0b"):
        assert any(marker in p["name"] for p in catalog), marker
    assert all(url.startswith(f"http://img.al-style.kz/{p['article']}_") for p in catalog for url in p["images"])
    assert any(isinstance(v, str) for p in catalog for v in p["warehouses"].values())


def _get(sandbox, method, **params):
    return requests.get(sandbox.server.url + method, params={"access-token": TOKEN, **params}, timeout=5)


def test_api_methods_answer_like_the_real_one(raw):
    page = _get(raw, "elements-pagination", limit=1000, offset=500, additional_fields="brand,rrp").json()
    assert page["pagination"] == {"totalCount": 600, "totalPages": 3, "currentPage": 3, "limit": 250, "offset": 500}
    assert len(page["elements"]) == 100
    assert {"brand", "rrp"} <= set(page["elements"][0])
    assert "images" not in page["elements"][0]
    assert _get(raw, "elements-pagination", additional_fields="colour").status_code == 500
    assert _get(raw, "no-such-method").status_code == 404
    assert requests.get(raw.server.url + "categories", params={"access-token": "nope"}, timeout=5).status_code == 401

    categories = _get(raw, "categories").json()
    root = categories[0]
    assert root["level"] == 1
    assert root["elements"] == sum(
        c["elements"] for c in categories if c["level"] == 2 and root["left"] < c["left"] < root["right"]
    )
    children = _get(raw, "categories", id=root["id"]).json()
    assert children
    assert all(root["left"] < c["left"] < root["right"] for c in children)

    article = raw.products[0]["article"]
    prices = _get(raw, "quantity-price").json()
    assert len(prices) == 600
    assert prices[str(article)]["price1"] == raw.products[0]["price1"]
    assert list(_get(raw, "quantity-price", article=article).json()) == [str(article)]
    assert _get(raw, "quantity", article=article).json() == {str(article): raw.products[0]["quantity"]}
    info = _get(raw, "element-info", article=article, additional_fields="detailText,properties").json()
    assert info[0]["article"] == article
    assert info[0]["properties"]
    assert "panfilov" in _get(raw, "warehouses").json()
    assert "date" in _get(raw, "date").json()
    assert _get(raw, "brands").json()["status"] is True


def test_control_endpoints_drive_faults_and_catalog_changes(raw):
    control = raw.server.base + "/_sandbox/"
    article = raw.products[0]["article"]
    requests.post(control + "faults", json={"kind": "503", "times": 1, "method": "date"}, timeout=5)
    assert _get(raw, "date").status_code == 503
    assert _get(raw, "date").status_code == 200
    stats = requests.post(
        control + "catalog",
        json={"update": {str(article): {"price1": 4242}}, "remove": [raw.products[1]["article"]], "add": 3},
        timeout=5,
    ).json()
    assert stats["products"] == 602
    assert _get(raw, "quantity-price", article=article).json()[str(article)]["price1"] == 4242
    assert requests.get(control + "stats", timeout=5).json()["by_method"]["date"] == 2
    requests.post(control + "reset", timeout=5)
    assert raw.request_count() == 0
