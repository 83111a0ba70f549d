"""The Kaspi sandbox itself: route tables, mounting another API, included entries, the fault vocabulary."""

import http.client
from urllib.parse import urlsplit

import pytest
import requests

from kaspisync.sandbox.base import Api, ApiError, Response
from kaspisync.sandbox.kaspi import MERCHANT_CHANGES, KaspiSandbox

from .conftest import TOKEN

HEADERS = {"X-Auth-Token": TOKEN, "Accept": "application/vnd.api+json", "Content-Type": "application/vnd.api+json"}


def list_page(sandbox, **params):
    query = {"page[number]": 0, "page[size]": 100, "filter[orders][creationDate][$ge]": sandbox.now_ms - 10**9}
    return requests.get(sandbox.server.url + "/orders", params={**query, **params}, headers=HEADERS, timeout=5)


def test_a_route_table_matches_placeholders_and_methods():
    api = Api("/base/")
    api.add("GET", "/orders/{id}/entries", lambda r: {"id": r.params["id"]})
    api.add("POST", "/orders", lambda r: {"posted": True})
    view, params = api.resolve("GET", "/orders/abc/entries")
    assert params == {"id": "abc"}
    assert api.prefix == "/base"
    assert api.resolve("POST", "/orders/abc/entries") is None
    assert api.resolve("GET", "/orders/abc") is None
    assert api.owns("/base/orders")
    assert not api.owns("/basement/orders")


def test_another_module_can_mount_its_own_api(kaspi):
    sandbox = kaspi()
    content = Api("/shop/api/example", error=lambda status, title: Response(status, title.encode(), "text/plain"))

    def schema(request):
        if request.arg("fail"):
            raise ApiError(418, "no schema today")
        return {"type": "array", "token_ok": request.headers.get("X-Auth-Token") == TOKEN}

    content.add("GET", "/import/schema", schema)
    sandbox.mount(content)
    base = sandbox.server.base
    answer = requests.get(base + "/shop/api/example/import/schema", headers={"X-Auth-Token": TOKEN}, timeout=5)
    assert answer.status_code == 200
    assert answer.json() == {"type": "array", "token_ok": True}
    refused = requests.get(base + "/shop/api/example/import/schema", params={"fail": 1}, timeout=5)
    assert (refused.status_code, refused.text) == (418, "no schema today")
    assert requests.get(base + "/shop/api/example/nothing", timeout=5).status_code == 404
    # the orders API is still where it was, with its own guards
    assert list_page(sandbox).status_code == 200
    assert requests.get(base + "/shop/api/v2/cities", timeout=5).status_code == 404  # no Accept header
    assert sandbox.request_count("/import/schema") == 2  # the mounted API shares the request log


def test_the_state_machine_is_a_table_kaspi_refuses_what_it_does_not_allow(kaspi):
    sandbox = kaspi()
    order = sandbox.add_order(status="CANCELLED")
    for status, change in MERCHANT_CHANGES.items():
        assert "CANCELLED" not in change.allowed_from
        body = {"data": {"type": "orders", "id": order["id"], "attributes": {"code": order["code"], "status": status}}}
        refused = requests.post(sandbox.server.url + "/orders", json=body, headers=HEADERS, timeout=5)
        assert refused.status_code == 400
        assert "not allowed" in refused.json()["errors"][0]["title"]
    body["data"]["attributes"]["status"] = "TELEPORTED"
    refused = requests.post(sandbox.server.url + "/orders", json=body, headers=HEADERS, timeout=5)
    assert refused.status_code == 400
    assert "unsupported" in refused.json()["errors"][0]["title"]


def test_included_entries_are_linked_from_their_orders_and_name_their_product(kaspi, sandbox_products):
    sandbox = kaspi(orders=30, internal_offer_codes=0.5)
    body = list_page(sandbox, **{"include[orders]": "entries"}).json()
    included = {item["id"]: item for item in body["included"]}
    assert body["data"]
    assert all(item["type"] == "orderentries" for item in included.values())
    linked = [ref["id"] for order in body["data"] for ref in order["relationships"]["entries"]["data"]]
    assert sorted(linked) == sorted(included)  # full linkage, nothing extra
    skus = {p["sku"] for p in sandbox_products}
    codes = {item["attributes"]["offer"]["code"] for item in included.values()}
    assert codes & skus
    assert codes - skus  # our SKU for some products, Kaspi's own code for others
    for item in included.values():
        master = item["relationships"]["product"]["data"]
        sku = sandbox.merchant_product(master["id"])["data"]["attributes"]["code"]
        assert item["attributes"]["offer"]["code"] in (sku, KaspiSandbox.master_code(master["id"]))
    plain = list_page(sandbox).json()
    assert plain["included"] == []
    assert "data" not in plain["data"][0]["relationships"]["entries"]


def test_a_share_of_answers_leaves_out_included(kaspi):
    sandbox = kaspi(orders=5, omit_included=0.5)
    answers = [bool(list_page(sandbox, **{"include[orders]": "entries"}).json()["included"]) for _ in range(40)]
    assert 5 < answers.count(False) < 35


def test_faults_after_n_requests_and_cleared(kaspi):
    sandbox = kaspi(orders=3)
    sandbox.inject("503", times=2, path="/orders", after=2)
    assert [list_page(sandbox).status_code for _ in range(5)] == [200, 200, 503, 503, 200]
    sandbox.inject("500", times=5)
    assert list_page(sandbox).status_code == 500
    assert sandbox.clear_faults() == 4
    assert sandbox.stats()["faults_pending"] == 0
    assert list_page(sandbox).status_code == 200
    control = sandbox.server.base + "/_sandbox/"
    requests.post(control + "faults", json={"kind": "429", "times": 3, "after": 1}, timeout=5)
    assert [list_page(sandbox).status_code for _ in range(2)] == [200, 429]
    assert requests.post(control + "faults/clear", timeout=5).json()["faults_pending"] == 0
    assert list_page(sandbox).status_code == 200
    with pytest.raises(ValueError):
        sandbox.inject("gremlins")


def test_truncated_and_dropped_answers(kaspi):
    sandbox = kaspi(orders=3)
    url = urlsplit(sandbox.server.url)
    sandbox.inject("truncated")
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=5)
    query = f"page[number]=0&page[size]=10&filter[orders][creationDate][$ge]={sandbox.now_ms - 10**9}"
    connection.request("GET", url.path + "/orders?" + query, headers={**HEADERS, "User-Agent": "t"})
    response = connection.getresponse()
    with pytest.raises(http.client.IncompleteRead):
        response.read()
    sandbox.inject("drop")
    with pytest.raises(requests.ConnectionError):
        list_page(sandbox)
    sandbox.inject("malformed")
    with pytest.raises(ValueError):
        list_page(sandbox).json()
    assert list_page(sandbox).json()["meta"]["totalCount"] >= 0


def test_an_applied_fault_changes_the_order_and_loses_the_answer(kaspi):
    sandbox = kaspi()
    order = sandbox.add_order()
    sandbox.inject("truncated", path="/orders", applied=True)
    body = {"data": {"type": "orders", "id": order["id"], "attributes": {"code": order["code"]}}}
    body["data"]["attributes"]["status"] = "ACCEPTED_BY_MERCHANT"
    with pytest.raises(requests.RequestException):
        requests.post(sandbox.server.url + "/orders", json=body, headers=HEADERS, timeout=5).json()
    assert order["status"] == "ACCEPTED_BY_MERCHANT"
    sandbox.inject("truncated", path="/orders")  # not applied: nothing happens
    body["data"]["attributes"].update(status="CANCELLED", cancellationReason="BUYER_NOT_REACHABLE")
    with pytest.raises(requests.RequestException):
        requests.post(sandbox.server.url + "/orders", json=body, headers=HEADERS, timeout=5).json()
    assert order["status"] == "ACCEPTED_BY_MERCHANT"
