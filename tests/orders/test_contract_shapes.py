"""The Shop API's answers in the shapes the reference allows or has seen, over HTTP from the
Kaspi emulator, each answer reshaped on its way back by a transport adapter (as another server
would send it): a status change echoed as an array, an answer that is no JSON:API document,
values sent as strings, an order without its creation date."""

import json
from decimal import Decimal

import pytest
import requests
from django.contrib.auth import get_user_model
from django.utils import translation

from orders.kaspi import KaspiClient, KaspiEntry, KaspiOrder, StatusEcho
from orders.models import Order
from orders.services import ActionError, ActionUnconfirmed, accept_order, pull_orders

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


class Reshape(requests.adapters.HTTPAdapter):
    """Hands each answer's decoded body to `reshape(method, path, body)`; what it returns is sent
    on instead (None: the answer as it was)."""

    def __init__(self, reshape):
        super().__init__()
        self.reshape = reshape

    def send(self, request, **kwargs):
        response = super().send(request, **kwargs)
        path = requests.utils.urlparse(request.url).path
        try:
            body = json.loads(response.content)
        except ValueError:
            return response
        changed = self.reshape(request.method, path, body)
        if changed is not None:
            response._content = json.dumps(changed).encode()
        return response


def reshaping_client(reshape) -> KaspiClient:
    """A client whose every session (one per thread: the pull reads pages and entries in threads)
    answers through `Reshape(reshape)`."""

    class Client(KaspiClient):
        @property
        def session(self):
            session = super().session
            if not getattr(session, "reshaped", False):
                session.mount("http://", Reshape(reshape))
                session.reshaped = True
            return session

    return Client()


@pytest.fixture
def manager():
    return get_user_model().objects.create_user("manager")


def pulled(sandbox):
    raw = sandbox.add_order()
    pull_orders(days=1)
    return raw, Order.objects.get(code=raw["code"])


def test_a_status_change_echoed_as_an_array_holding_the_order_is_read(kaspi, manager):
    sandbox = kaspi()
    raw, order = pulled(sandbox)
    client = reshaping_client(lambda method, path, body: {"data": [body["data"]]} if method == "POST" else None)
    reads = sandbox.request_count("/orders", "GET")
    accept_order(order, manager, client=client)
    order.refresh_from_db()
    assert order.status == raw["status"] == "ACCEPTED_BY_MERCHANT"
    assert sandbox.request_count("/orders", "GET") == reads  # the echo said it: no read-back


def test_a_status_change_answered_with_no_json_api_document_is_read_back_not_repeated(kaspi, manager):
    sandbox = kaspi()
    raw, order = pulled(sandbox)
    client = reshaping_client(lambda method, path, body: [] if method == "POST" else None)
    with pytest.raises(ActionUnconfirmed) as exc:
        accept_order(order, manager, client=client)
    assert "not a JSON:API document" in str(exc.value)
    assert "Kaspi has made the change" in str(exc.value)
    assert sandbox.request_count("/orders", "POST") == 1  # never sent twice
    order.refresh_from_db()
    assert order.status == raw["status"] == "ACCEPTED_BY_MERCHANT"


def test_a_list_answer_that_is_no_json_api_document_is_a_broken_answer_and_asked_again(kaspi):
    sandbox = kaspi()
    raw = sandbox.add_order()
    broken = []

    def once(method, path, body):
        if path.endswith("/orders") and not broken:
            broken.append(body)
            return ["not", "a", "document"]
        return None

    page = reshaping_client(once).list_orders(state=None, code=raw["code"])
    assert [o.code for o in page.orders] == [raw["code"]]
    assert sandbox.request_count("/orders", "GET") == 2


def test_values_sent_as_strings_or_nulls_are_read_as_data():
    order = KaspiOrder.from_jsonapi(
        {
            "type": "orders",
            "id": "MTAwMDAx",
            "attributes": {
                "code": None,
                "totalPrice": "21399.0",
                "creditTerm": "12.0",
                "creationDate": "1764590400000",
                "approvedByBankDate": 1764590460000.0,
                "plannedDeliveryDate": "not a date",
                "reservationDate": None,
                "customer": None,
                "deliveryAddress": None,
            },
            "relationships": None,
        }
    )
    assert order.code == ""
    assert order.total_price == Decimal("21399.0")
    assert order.credit_term == 12
    assert order.created_at.isoformat() == "2025-12-01T17:00:00+05:00"  # epoch ms, Almaty time (UTC+5)
    assert (order.approved_by_bank_at - order.created_at).total_seconds() == 60
    assert order.planned_delivery_at is None
    assert order.reservation_at is None
    entry = KaspiEntry.from_jsonapi(
        {"id": "e1", "attributes": {"entryNumber": "2.0", "quantity": "1.5", "offer": None}}
    )
    assert (entry.entry_number, entry.quantity, entry.offer_code, entry.master_product_id) == (
        2,
        Decimal("1.5"),
        "",
        "",
    )
    assert StatusEcho.from_jsonapi([]).status == ""
    assert StatusEcho.from_jsonapi({"attributes": None}).status == ""
    assert StatusEcho.from_jsonapi([{"attributes": {"code": "1", "status": "ASSEMBLED"}}]).status == "ASSEMBLED"


def test_an_order_listed_without_its_creation_date_is_reported_and_the_others_are_stored(kaspi):
    sandbox = kaspi()
    broken, fine = sandbox.add_order(), sandbox.add_order()

    def no_date(method, path, body):
        if path.endswith("/orders") and method == "GET":
            for item in body.get("data") or []:
                if item["attributes"]["code"] == broken["code"]:
                    item["attributes"]["creationDate"] = None
            return body
        return None

    run = pull_orders(days=1, client=reshaping_client(no_date))
    assert run.status == "success", run.error
    assert Order.objects.filter(code=fine["code"]).exists()
    assert not Order.objects.filter(code=broken["code"]).exists()
    assert run.errors == 1
    assert f"order {broken['code']}: Kaspi's answer has no creation date" in run.stats["error_messages"]
    # Kaspi's next answer has it: the order is stored then
    pull_orders(days=1)
    assert Order.objects.get(code=broken["code"]).created_at is not None


def test_what_an_action_found_at_kaspi_names_the_status_in_words(kaspi, manager):
    sandbox = kaspi()
    _raw, order = pulled(sandbox)
    client = reshaping_client(lambda method, path, body: [] if method == "POST" else None)
    with translation.override("ru"), pytest.raises(ActionUnconfirmed) as exc:
        accept_order(order, manager, client=client)
    assert "статус заказа теперь «принят продавцом»" in str(exc.value)
    assert "ACCEPTED_BY_MERCHANT" not in str(exc.value)
    _raw, other = pulled(sandbox)
    echo_cancelled = reshaping_client(
        lambda method, path, body: (
            {"data": {"attributes": {"code": other.code, "status": "CANCELLED"}}} if method == "POST" else None
        )
    )
    with translation.override("ru"), pytest.raises(ActionError) as exc:
        accept_order(other, manager, client=echo_cancelled)
    assert "Kaspi ответил статусом «отменён» вместо «принят продавцом»" in str(exc.value)


def test_to_one_answers_given_as_an_array_holding_the_resource_or_null_are_read(kaspi, catalog_products):
    # every entry carries Kaspi's internal code and no master product: two look-ups each
    sandbox = kaspi(internal_offer_codes=1.0, entry_product_ids=False)
    raw = sandbox.add_order()

    def as_arrays(method, path, body):
        if path.endswith("/product") or path.endswith("/merchantProduct"):
            return {"data": [body["data"]]}
        if path.endswith("/orders"):  # and the order list's data linkage of the product, too
            for item in body.get("included") or []:
                item["relationships"]["product"]["data"] = None
            return body
        return None

    run = pull_orders(days=1, client=reshaping_client(as_arrays))
    assert run.status == "success", run.error
    entries = list(Order.objects.get(code=raw["code"]).entries.all())
    assert entries
    assert [e.sku for e in entries] == [e["sku"] for e in raw["entries"]]
    assert all(e.product_id is not None for e in entries)
    assert all(e.master_product_code for e in entries)


def test_a_merchant_product_answered_as_null_leaves_the_entry_without_a_sku(kaspi):
    sandbox = kaspi(internal_offer_codes=1.0)
    raw = sandbox.add_order()
    null = reshaping_client(lambda method, path, body: {"data": None} if path.endswith("/merchantProduct") else None)
    run = pull_orders(days=1, client=null)
    assert run.status == "success", run.error
    entries = list(Order.objects.get(code=raw["code"]).entries.all())
    assert len(entries) == len(raw["entries"])
    assert all(e.sku == "" for e in entries)
    cities = reshaping_client(lambda m, p, b: {"data": [{"attributes": None}, None]} if p.endswith("/cities") else None)
    assert cities.cities() == [{"code": None, "name": None}]


def test_entries_of_answers_older_than_offer_get_kaspis_name_of_their_product(
    kaspi, catalog_products, sandbox_products
):
    # "in newer answers `offer {code, name}`": an older answer has no offer, so neither a SKU hint nor a name
    sandbox = kaspi()
    raw = sandbox.add_order()

    def no_offer(method, path, body):
        if path.endswith("/orders") or path.endswith("/entries"):
            for item in [*(body.get("included") or []), *(body["data"] if path.endswith("/entries") else [])]:
                item["attributes"].pop("offer", None)
            return body
        return None

    run = pull_orders(days=1, client=reshaping_client(no_offer))
    assert run.status == "success", run.error
    names = {p["sku"]: p["name"] for p in sandbox_products}
    entries = list(Order.objects.get(code=raw["code"]).entries.order_by("entry_number"))
    assert [e.sku for e in entries] == [e["sku"] for e in raw["entries"]]
    assert [e.name for e in entries] == [names[e["sku"]] for e in raw["entries"]]
    assert all(e.master_product_code for e in entries)
