"""Kaspi Shop API client (JSON:API). Payloads are normalised here, once, into typed values.

    client = KaspiClient()                     # KASPI_API_URL / KASPI_TOKEN from settings
    page = client.list_orders(state="NEW", ge=..., le=..., page=0, include_entries=True)
    page.orders, page.entries                  # entries by order id, for orders the answer included
    entries = client.order_entries(order.id)   # the same, one order at a time
    client.merchant_sku(entry.master_product_id)  # the merchant SKU of a Kaspi product

Failures raise `ExternalServiceError` with a diagnosis for the operator; 429/5xx/timeouts, broken
connections and broken answers are retried by the shared `RetryPolicy` (a bounded number of
times, with backoff or the wait a Retry-After header asks for), 400/401/403/404 are not, and a
status change only after a 429. The token travels only
in a header and never appears in logs or error texts.
"""

import hashlib
import json
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import requests
from django.conf import settings
from django.utils.translation import gettext as _

from kaspisync.http import ExternalServiceError, RetryPolicy, make_session, retry_after, timeouts
from kaspisync.secrets import register_secret

log = logging.getLogger(__name__)

JSONAPI = "application/vnd.api+json"
ALMATY = ZoneInfo("Asia/Almaty")
PAGE_SIZE = 100  # Kaspi's maximum
RETRYABLE_STATUSES = {429, 500, 502, 503, 504}


# --- typed values --------------------------------------------------------------------------
def _number(value) -> Decimal | None:
    """A JSON number, or a string holding one ("12", "12.0", "1764590400000"); None for null, ""
    or anything else (an unexpected value is data, not a crash: the order is still read)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def ms_to_datetime(value) -> datetime | None:
    """Kaspi epoch milliseconds -> aware datetime in Almaty time (None if the value is none)."""
    number = _number(value)
    if number is None:
        return None
    return datetime.fromtimestamp(int(number) / 1000, tz=ALMATY)


def datetime_to_ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def _money(value) -> Decimal:
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def one_resource(data) -> dict:
    """A to-one answer's resource: `data` as an object, or an array holding only it; {} for null
    or any other shape (the caller then has nothing from Kaspi, as when `data` is null)."""
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    return data if isinstance(data, dict) else {}


def resources(data) -> list[dict]:
    """A to-many answer's resources: the objects of the `data` array (one object alone counts as
    an array of it); nothing for null."""
    if isinstance(data, dict):
        return [data]
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def attributes_of(resource: dict) -> dict:
    attributes = resource.get("attributes")
    return attributes if isinstance(attributes, dict) else {}


def attributes_hash(attributes: dict) -> str:
    """A stable fingerprint of an order's attributes: equal hashes mean nothing changed."""
    canonical = json.dumps(attributes, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class KaspiOrder:
    id: str
    code: str
    state: str
    status: str
    total_price: Decimal
    payment_mode: str
    delivery_mode: str
    is_kaspi_delivery: bool
    delivery_cost: Decimal
    delivery_cost_for_seller: Decimal
    signature_required: bool
    pre_order: bool
    credit_term: int | None
    pickup_point_id: str
    created_at: datetime
    approved_by_bank_at: datetime | None
    planned_delivery_at: datetime | None
    reservation_at: datetime | None
    customer_name: str
    customer_phone: str
    city: str
    delivery_address: str
    delivery_address_data: dict
    waybill: str
    waybill_number: str
    courier_transmission_at: datetime | None
    courier_transmission_planned_at: datetime | None
    express: bool
    returned_to_warehouse: bool
    cancellation_reason: str
    raw: dict = field(repr=False)
    attributes_hash: str = field(repr=False)

    @classmethod
    def from_jsonapi(cls, item: dict) -> "KaspiOrder":
        a = attributes_of(item)
        customer = a.get("customer") or {}
        address = a.get("deliveryAddress") or {}
        # Kaspi Delivery fields are flat in some API versions, nested in `kaspiDelivery` in others.
        kd = {**a, **(a.get("kaspiDelivery") or {})}
        name = customer.get("name") or " ".join(p for p in (customer.get("firstName"), customer.get("lastName")) if p)
        return cls(
            id=str(item["id"]),
            code=str(a.get("code") or ""),
            state=str(a.get("state") or ""),
            status=str(a.get("status") or ""),
            total_price=_money(a.get("totalPrice")),
            payment_mode=str(a.get("paymentMode") or ""),
            delivery_mode=str(a.get("deliveryMode") or ""),
            is_kaspi_delivery=bool(a.get("isKaspiDelivery")),
            delivery_cost=_money(a.get("deliveryCost")),
            delivery_cost_for_seller=_money(a.get("deliveryCostForSeller")),
            signature_required=bool(a.get("signatureRequired")),
            pre_order=bool(a.get("preOrder")),
            credit_term=int(term) if (term := _number(a.get("creditTerm"))) is not None else None,
            pickup_point_id=str(a.get("pickupPointId") or ""),
            created_at=ms_to_datetime(a.get("creationDate")),
            approved_by_bank_at=ms_to_datetime(a.get("approvedByBankDate")),
            planned_delivery_at=ms_to_datetime(a.get("plannedDeliveryDate")),
            reservation_at=ms_to_datetime(a.get("reservationDate")),
            customer_name=str(name or ""),
            customer_phone=str(customer.get("cellPhone") or ""),
            city=str(address.get("town") or ""),
            delivery_address=str(address.get("formattedAddress") or ""),
            delivery_address_data=address,
            waybill=str(kd.get("waybill") or ""),
            waybill_number=str(kd.get("waybillNumber") or ""),
            courier_transmission_at=ms_to_datetime(kd.get("courierTransmissionDate")),
            courier_transmission_planned_at=ms_to_datetime(kd.get("courierTransmissionPlanningDate")),
            express=bool(kd.get("express")),
            returned_to_warehouse=bool(kd.get("returnedToWarehouse")),
            cancellation_reason=str(a.get("cancellationReason") or ""),
            raw=item,
            attributes_hash=attributes_hash(a),
        )


@dataclass(frozen=True)
class StatusEcho:
    """What the answer to a status change says. Kaspi echoes the order, but the echo may carry
    only some attributes (e.g. code and status), so only these two are read from it."""

    status: str  # "" if the answer does not say
    state: str  # "" if the answer does not say
    raw: dict = field(repr=False)

    @classmethod
    def from_jsonapi(cls, item) -> "StatusEcho":
        """`item`: the answer's `data`, the order (an array holding only it is read as it; any
        other shape says nothing, and the order is then read back)."""
        item = one_resource(item)
        a = attributes_of(item)
        return cls(status=str(a.get("status") or ""), state=str(a.get("state") or ""), raw=item)


@dataclass(frozen=True)
class KaspiEntry:
    id: str
    entry_number: int
    quantity: Decimal
    unit_type: str
    base_price: Decimal
    total_price: Decimal
    delivery_cost: Decimal
    category_code: str
    master_product_id: str  # Kaspi's product (the `product` relationship); "" if the entry does not say
    master_product_code: str  # Kaspi's code of that product, when it was asked for
    name: str
    offer_code: str  # `offer.code`: our SKU or Kaspi's internal code, so only a hint
    raw: dict = field(repr=False)
    sku: str = ""  # the merchant's own SKU (what our price list published), once resolved
    sku_error: str = ""  # why Kaspi gave no SKU: it refused the product lookup (the entry is flagged)

    @classmethod
    def from_jsonapi(cls, item: dict) -> "KaspiEntry":
        a = attributes_of(item)
        offer = a.get("offer") or {}
        product = one_resource(((item.get("relationships") or {}).get("product") or {}).get("data"))
        return cls(
            id=str(item["id"]),
            entry_number=int(_number(a.get("entryNumber")) or 0),
            quantity=_money(a.get("quantity")),
            unit_type=str(a.get("unitType") or ""),
            base_price=_money(a.get("basePrice")),
            total_price=_money(a.get("totalPrice")),
            delivery_cost=_money(a.get("deliveryCost")),
            category_code=str((a.get("category") or {}).get("code") or ""),
            master_product_id=str(product.get("id") or ""),
            master_product_code="",
            name=str(offer.get("name") or ""),
            offer_code=str(offer.get("code") or ""),
            raw=item,
        )


@dataclass(frozen=True)
class MasterProduct:
    id: str
    code: str
    name: str


@dataclass(frozen=True)
class OrdersPage:
    orders: list[KaspiOrder]
    page_count: int
    total_count: int
    # {order id: its entries} for the orders whose entries the answer included and linked
    entries: dict[str, list[KaspiEntry]] = field(default_factory=dict)


def included_entries(body: dict) -> dict[str, list[KaspiEntry]]:
    """The entries an order-list answer included, by order id. An order is left out (its entries
    are then asked for separately) unless its `relationships.entries.data` names at least one entry
    and every entry it names is in `included`."""
    included = {
        str(item.get("id")): item
        for item in body.get("included") or []
        if isinstance(item, dict) and item.get("type") == "orderentries" and item.get("id")
    }
    result = {}
    for order in resources(body.get("data")):
        linkage = ((order.get("relationships") or {}).get("entries") or {}).get("data")
        if not included or not isinstance(linkage, list) or not linkage:
            continue
        ids = [str(ref.get("id")) for ref in linkage if isinstance(ref, dict)]
        if ids and all(i in included for i in ids):
            result[str(order["id"])] = [KaspiEntry.from_jsonapi(included[i]) for i in ids]
    return result


# --- diagnoses -------------------------------------------------------------------------------
def refused(exc: ExternalServiceError) -> bool:
    """Kaspi answered 4xx: it refused the request without acting on it. A timeout, a dropped
    connection, a 5xx or a broken 200 answer leave open whether a status change happened."""
    return exc.status is not None and 400 <= exc.status < 500


def refused_for_good(exc: ExternalServiceError) -> bool:
    """A 4xx about the thing asked for (bad request, not found, gone): asking again will not help.
    Not 401/403 (our access, which fails the whole pull anyway) nor 429 (the rate, retried)."""
    return refused(exc) and exc.status not in (401, 403, 429)


def _error_detail(response) -> str:
    try:
        errors = response.json().get("errors") or []
        return "; ".join(str(e.get("detail") or e.get("title") or "") for e in errors if isinstance(e, dict))
    except (ValueError, AttributeError):
        return ""


def diagnose(status: int, response=None) -> str:
    if status == 401:
        return _(
            "Kaspi rejected the API token. Check KASPI_TOKEN: it must be the token generated in the "
            "merchant cabinet (Settings → API token), copied whole and activated; generating a new "
            "token invalidates the old one."
        )
    if status == 403:
        return _(
            "Kaspi refused access. Check that API access is switched on in the merchant cabinet and "
            "that the token belongs to this shop; Kaspi may also restrict the API to Kazakhstan IP addresses."
        )
    if status == 404:
        content_type = (response.headers.get("Content-Type", "") if response is not None else "").lower()
        if "html" in content_type:
            return _(
                "Kaspi answered 404 with an HTML page: the request lacked the header "
                "'Accept: application/vnd.api+json', or KASPI_API_URL is wrong (it must end with /shop/api/v2)."
            )
        return _("Not found at Kaspi: check KASPI_API_URL (…/shop/api/v2) and the order id.")
    if status == 415:
        return _(
            "Kaspi refused the request's format: every call must carry the header "
            "'Content-Type: application/vnd.api+json'."
        )
    if status == 400:
        return _(
            "Kaspi refused the request as invalid. For order lists: page[size] must be ≤ 100 and the "
            "creation date window ≤ 14 days; for actions: the order's current status may not allow it."
        )
    if status == 429:
        return _("Kaspi is limiting the request rate; the next scheduled pull will try again.")
    return _("Kaspi had a server error; it is usually temporary, the next scheduled pull will try again.")


def timeout_diagnosis(read_timeout: float) -> str:
    return _(
        "Kaspi did not answer within %(seconds)s s. Common causes: the API token is not activated yet, "
        "API access is switched off in the merchant cabinet, or Kaspi restricts access from this "
        "server's IP address (it may allow only Kazakhstan IPs)."
    ) % {"seconds": read_timeout}


# --- the client --------------------------------------------------------------------------------
class KaspiClient:
    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        *,
        max_attempts: int | None = None,
        backoff_base: float | None = None,
        timeout: tuple[float, float] | None = None,
    ):
        self.base_url = (base_url or settings.KASPI_API_URL).rstrip("/")
        self.token = settings.KASPI_TOKEN if token is None else token
        register_secret(self.token)
        self.retry = RetryPolicy.configured("KASPI", max_attempts, backoff_base)
        self.timeout = timeout or timeouts()
        self._local = threading.local()  # one session per thread (entries are fetched concurrently)
        self._count_lock = threading.Lock()
        self.requests_made = 0

    # -- transport --
    @property
    def session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = make_session({"X-Auth-Token": self.token, "Content-Type": JSONAPI, "Accept": JSONAPI})
            self._local.session = session
        return session

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def _count(self):
        with self._count_lock:
            self.requests_made += 1

    def request(self, method: str, path: str, *, params=None, json_body=None, headers=None) -> dict:
        """Send one call, retried by the shared policy; return the decoded JSON body or raise.
        Only a GET is repeated after a failure that may have reached Kaspi: a status change that
        timed out, broke off or failed with 5xx may have happened, so it is never sent twice
        blindly (the caller reads the order back); a 429 was refused before processing."""
        url = self.url(path)
        where = f"{method} {urlsplit(url).path}"

        def attempt() -> dict:
            self._count()
            result = self._attempt(method, url, where, params=params, json_body=json_body, headers=headers)
            if isinstance(result, ExternalServiceError):
                if method != "GET" and result.status != 429:
                    result.retryable = False
                raise result
            return result

        try:
            return self.retry.call(attempt, log=log)
        except ExternalServiceError as exc:
            log.warning("Kaspi request failed: %s", exc)
            raise

    def _attempt(self, method: str, url: str, where: str, **kwargs) -> "dict | ExternalServiceError":
        try:
            response = self.session.request(
                method,
                url,
                params=kwargs["params"],
                json=kwargs["json_body"],
                headers=kwargs["headers"],
                timeout=self.timeout,
            )
            body = response.content  # read whole here: a connection lost mid-body is a failure of this attempt
        except requests.Timeout:
            return ExternalServiceError(
                _("%(where)s: timed out") % {"where": where},
                retryable=True,
                diagnosis=timeout_diagnosis(self.timeout[1]),
            )
        except requests.RequestException as exc:  # refused, reset, or cut off half-way through the answer
            return ExternalServiceError(
                _("%(where)s: cannot connect (%(error)s)") % {"where": where, "error": type(exc).__name__},
                retryable=True,
                diagnosis=_("Check the network, DNS and KASPI_API_URL (%(url)s).") % {"url": self.base_url},
            )
        if response.status_code != 200:
            detail = _error_detail(response)
            return ExternalServiceError(
                _("%(where)s: HTTP %(status)s%(detail)s")
                % {"where": where, "status": response.status_code, "detail": f" ({detail})" if detail else ""},
                retryable=response.status_code in RETRYABLE_STATUSES or response.status_code >= 500,
                status=response.status_code,
                diagnosis=diagnose(response.status_code, response),
                retry_after=retry_after(response),
            )
        try:
            answer = json.loads(body)
        except ValueError:
            answer = None
        if isinstance(answer, dict):
            return answer
        # not JSON, or JSON that is not the JSON:API document every answer is: broken all the same
        return ExternalServiceError(
            _("%(where)s: the answer is not valid JSON") % {"where": where}
            if answer is None
            else _("%(where)s: the answer is not a JSON:API document") % {"where": where},
            retryable=True,
            status=200,
            diagnosis=_("Kaspi sent a broken answer; it is usually temporary."),
        )

    def get(self, path: str, params=None) -> dict:
        return self.request("GET", path, params=params)

    # -- orders --
    def list_orders(
        self,
        *,
        state: str | None,
        ge: datetime | None = None,
        le: datetime | None = None,
        page: int = 0,
        code: str | None = None,
        status: str | None = None,
        include_entries: bool = False,
    ) -> OrdersPage:
        """One page of orders; with `include_entries` Kaspi also puts the orders' entries in the
        answer (`include[orders]=entries`): `page.entries` holds those it did include."""
        params = {"page[number]": page, "page[size]": PAGE_SIZE}
        if state:
            params["filter[orders][state]"] = state
        if ge is not None:
            params["filter[orders][creationDate][$ge]"] = datetime_to_ms(ge)
        if le is not None:
            params["filter[orders][creationDate][$le]"] = datetime_to_ms(le)
        if code:
            params["filter[orders][code]"] = code
        if status:
            params["filter[orders][status]"] = status
        if include_entries:
            params["include[orders]"] = "entries"
        body = self.get("orders", params)
        meta = body.get("meta") or {}
        return OrdersPage(
            orders=[KaspiOrder.from_jsonapi(item) for item in resources(body.get("data"))],
            page_count=int(meta.get("pageCount") or 0),
            total_count=int(meta.get("totalCount") or 0),
            entries=included_entries(body) if include_entries else {},
        )

    def order_by_code(self, code: str) -> KaspiOrder | None:
        """The order numbered `code`, asked for alone (`filter[orders][code]`); None if Kaspi does
        not list it. An answer that lists other orders (the filter not applied) gives none of
        them: storing one of those over ours would put another customer's order in its place."""
        page = self.list_orders(state=None, code=code)
        return next((order for order in page.orders if order.code == str(code)), None)

    def order_entries(self, order_id: str) -> list[KaspiEntry]:
        """An order's entries (one call), SKUs not resolved (see orders.services.skus)."""
        body = self.get(f"orders/{order_id}/entries")
        return [KaspiEntry.from_jsonapi(item) for item in resources(body.get("data"))]

    def entry_master(self, entry_id: str) -> MasterProduct:
        """The Kaspi product of an entry that does not name it."""
        data = one_resource(self.get(f"orderentries/{entry_id}/product").get("data"))
        attributes = attributes_of(data)
        return MasterProduct(
            id=str(data.get("id") or ""), code=str(attributes.get("code") or ""), name=str(attributes.get("name") or "")
        )

    def merchant_sku(self, master_id: str) -> str:
        """The merchant's own SKU of a Kaspi product ("" if Kaspi's answer has none)."""
        data = one_resource(self.get(f"masterproducts/{master_id}/merchantProduct").get("data"))
        return str(attributes_of(data).get("code") or "")

    # -- actions --
    def set_status(
        self, order_id: str, code: str, status: str, *, extra: dict | None = None, headers: dict | None = None
    ) -> StatusEcho:
        """POST /orders: change an order's status; returns what the echo says (check its status).
        Never repeated automatically (see `request`): a change may have happened at Kaspi."""
        body = {
            "data": {"type": "orders", "id": order_id, "attributes": {"code": code, "status": status, **(extra or {})}}
        }
        answer = self.request("POST", "orders", json_body=body, headers=headers)
        return StatusEcho.from_jsonapi(answer.get("data"))

    def cities(self) -> list[dict]:
        return [
            {"code": attributes_of(c).get("code"), "name": attributes_of(c).get("name")}
            for c in resources(self.get("cities").get("data"))
        ]
