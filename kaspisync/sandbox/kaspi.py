"""Kaspi Shop API emulator (orders), over real HTTP on loopback.

Kaspi has no sandbox; this stands in for it in `make run` (no KASPI_TOKEN) and in the tests.

    sandbox = KaspiSandbox(products=[{"sku": "AS1", "name": "...", "price": 1000, "brand": "X"}], orders=50)
    with sandbox.serve() as server:
        server.url            # e.g. http://127.0.0.1:40123/shop/api/v2
        sandbox.advance(3600) # an hour passes: new orders, buyers cancel, deliveries complete, returns
        sandbox.inject("500", times=2, path="/entries", after=1)
        sandbox.clear_faults()
        sandbox.request_count("/orders")

It enforces what the real service enforces: `X-Auth-Token` (401), `Accept:
application/vnd.api+json` (404 with an HTML body when missing), a non-empty `User-Agent` (without
one it hangs: it answers nothing for `hang_seconds`, then drops the connection, as Kaspi is
reported to do), `Content-Type: application/vnd.api+json` (the reference requires it on every call
but does not say how Kaspi answers without it: the emulator answers 415 with a JSON:API error, as
JSON:API servers do, so a client that loses the header fails loudly), `page[size]` ≤ 100, 0-based
pages, `creationDate` windows with `$ge` and ≤ 14 days, filters by state/status/code,
`include[orders]=entries` (the entries in `included`, linked from each order), the status
transitions of POST /orders (`MERCHANT_CHANGES`; refusals as 400 errors), the cancellation reason,
the two-step completion code (the code "texted" to the buyer is readable via `sent_codes`), and
assembly for Kaspi Delivery. What the reference leaves open is a knob: `offer.code` is the
merchant's SKU or, for a share of products, Kaspi's internal code (`internal_offer_codes`); a share
of list answers leaves out `included` (`omit_included`); entries name their master product or not
(`entry_product_ids`); a status change echoes the order or some attributes (`echo_attributes`).

The clock is virtual: it moves only by `advance()` (or the CLI's ticker), and orders move on as
`CLOCK_RULES` say. Requests are routed by prefix and route table (`orders_api`, `control_api`);
another module serves more of Kaspi from the same emulator by mounting its own `Api` (listed in
`EXTENSIONS`). Faults use the vocabulary of every emulator (`kaspisync.sandbox.base.FAULT_KINDS`).
Control endpoints under `/_sandbox/` (no token): POST faults `{"kind", "times", "path", "after",
"delay", "applied"}`, POST faults/clear, POST advance `{"seconds"}`, POST clear-log, POST reset,
GET codes, GET stats.
"""

import argparse
import base64
import hashlib
import importlib
import json
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

from .base import Api, ApiError, FaultQueue, LoopbackServer, Request, Response, SandboxHandler

API_PREFIX = "/shop/api/v2"
JSONAPI = "application/vnd.api+json"
DAY_MS = 24 * 3600 * 1000
HOUR_MS = 3600 * 1000
MAX_WINDOW_MS = 14 * DAY_MS
MERCHANT_ID = "30012345"
FINAL = ("COMPLETED", "CANCELLED", "RETURNED")
RETURNING = ("KASPI_DELIVERY_RETURN_REQUESTED", "RETURN_ACCEPTED_BY_MERCHANT")
RETURN_WINDOW_MS = 14 * DAY_MS  # buyers return goods within 14 days of receiving them
CANCEL_REASONS = ("BUYER_CANCELLATION_BY_MERCHANT", "BUYER_NOT_REACHABLE", "MERCHANT_OUT_OF_STOCK")

CITIES = [
    # (code used as cityId in the price list, name, streets)
    ("750000000", "Алматы", ["пр. Абая", "ул. Толе би", "ул. Сатпаева", "пр. Достык", "ул. Жандосова"]),
    ("710000000", "Астана", ["пр. Кабанбай батыра", "пр. Туран", "пр. Мангилик Ел", "ул. Сыганак"]),
    ("511010000", "Шымкент", ["пр. Тауке хана", "ул. Байтурсынова", "пр. Республики"]),
    ("351010000", "Караганда", ["пр. Бухар жырау", "ул. Ерубаева", "пр. Нуркена Абдирова"]),
    ("151010000", "Актобе", ["пр. Абилкайыр хана", "ул. Маресьева"]),
    ("231010000", "Атырау", ["пр. Азаттык", "ул. Сатпаева"]),
    ("551010000", "Павлодар", ["ул. Лермонтова", "ул. Торайгырова"]),
    ("631010000", "Усть-Каменогорск", ["пр. Независимости", "ул. Казахстан"]),
]
CITY_WEIGHTS = [40, 25, 10, 7, 5, 5, 4, 4]
FIRST_NAMES = [
    ("Айгерим", "f"),
    ("Нурлан", "m"),
    ("Данияр", "m"),
    ("Асель", "f"),
    ("Ерлан", "m"),
    ("Жанар", "f"),
    ("Бауыржан", "m"),
    ("Динара", "f"),
    ("Арман", "m"),
    ("Гульнара", "f"),
    ("Серик", "m"),
    ("Алия", "f"),
    ("Мади", "m"),
    ("Камила", "f"),
    ("Тимур", "m"),
    ("Айдана", "f"),
    ("Ержан", "m"),
    ("Сауле", "f"),
]
LAST_NAMES = [
    "Нурланов",
    "Абенов",
    "Жумабаев",
    "Сериков",
    "Касымов",
    "Оспанов",
    "Ахметов",
    "Бекенов",
    "Тулегенов",
    "Сапаров",
    "Исаев",
    "Муканов",
    "Есенов",
    "Кенжебаев",
]
DELIVERY_MODES = [  # (mode, kaspi delivery?, weight)
    ("DELIVERY_PICKUP", False, 30),
    ("DELIVERY_LOCAL", False, 25),
    ("DELIVERY_LOCAL", True, 25),
    ("DELIVERY_REGIONAL_TODOOR", True, 12),
    ("DELIVERY_REGIONAL_PICKUP", True, 8),
]


# --- the order state machine ----------------------------------------------------------------------
# The state that follows from a status; open statuses take theirs from the delivery (`_open_state`).
STATE_OF_STATUS = {"APPROVED_BY_BANK": "NEW", **{status: "ARCHIVE" for status in (*FINAL, *RETURNING)}}


def _open_state(order: dict) -> str:
    if order["signature_required"] and not order["signed"]:
        return "SIGN_REQUIRED"
    if order["kaspi_delivery"]:
        return "KASPI_DELIVERY"
    return "PICKUP" if order["mode"] == "DELIVERY_PICKUP" else "DELIVERY"


@dataclass(frozen=True)
class Change:
    """A status change the merchant asks for (POST /orders): the statuses it may come from,
    what it does (`apply(sandbox, order, attributes, headers)`, raising ApiError to refuse) and,
    if not the order's status, the status its answer shows (the reference: ASSEMBLE answers
    ASSEMBLED)."""

    allowed_from: tuple[str, ...]
    apply: Callable
    echo: str | None = None


def _accept(sandbox: "KaspiSandbox", order: dict, attributes: dict, headers) -> None:
    sandbox._set(order, "ACCEPTED_BY_MERCHANT")


def _cancel(sandbox: "KaspiSandbox", order: dict, attributes: dict, headers) -> None:
    reason = attributes.get("cancellationReason")
    if reason not in CANCEL_REASONS:
        raise ApiError(400, "cancellationReason is required: " + ", ".join(CANCEL_REASONS))
    if len(attributes.get("cancellationComment") or "") > 1000:
        raise ApiError(400, "cancellationComment must not exceed 1000 characters")
    order["cancellation_reason"] = reason
    sandbox._set(order, "CANCELLED")


def _complete(sandbox: "KaspiSandbox", order: dict, attributes: dict, headers) -> None:
    """Two calls: the first (X-Send-Code: true) texts the buyer a code, the second brings it."""
    if (headers.get("X-Send-Code") or "").lower() == "true":
        code_rng = random.Random(f"{sandbox.seed}:{order['code']}:{len(sandbox.log)}")
        sandbox.sent_codes[order["code"]] = f"{code_rng.randrange(10**6):06d}"
        return
    expected = sandbox.sent_codes.get(order["code"])
    if not expected:
        raise ApiError(400, "no security code was sent to the buyer: request it first (X-Send-Code: true)")
    if (headers.get("X-Security-Code") or "") != expected:
        raise ApiError(400, "the security code is wrong")
    del sandbox.sent_codes[order["code"]]
    sandbox._set(order, "COMPLETED")


def _assemble(sandbox: "KaspiSandbox", order: dict, attributes: dict, headers) -> None:
    if not order["kaspi_delivery"]:
        raise ApiError(400, "only accepted Kaspi Delivery orders can be assembled")
    try:
        spaces = int(attributes.get("numberOfSpace"))
    except (TypeError, ValueError):
        spaces = 0
    if spaces < 1:
        raise ApiError(400, "numberOfSpace must be a positive number of parcels")
    order["number_of_space"] = spaces
    order["waybill"] = f"https://kaspi.kz/merchantcabinet/api/order/downloadWaybill/{order['code']}"
    order["courier_planned"] = sandbox.now_ms + DAY_MS


MERCHANT_CHANGES = {
    "ACCEPTED_BY_MERCHANT": Change(("APPROVED_BY_BANK",), _accept),
    "CANCELLED": Change(("APPROVED_BY_BANK", "ACCEPTED_BY_MERCHANT"), _cancel),
    "COMPLETED": Change(("ACCEPTED_BY_MERCHANT",), _complete),
    "ASSEMBLE": Change(("ACCEPTED_BY_MERCHANT",), _assemble, echo="ASSEMBLED"),
}


@dataclass
class _Clock:
    """One `advance()`: the sandbox, the span [start, now] and its random draws."""

    sandbox: "KaspiSandbox"
    start: int
    rng: random.Random

    @property
    def now(self) -> int:
        return self.sandbox.now_ms


def _unanswered(clock: _Clock, order: dict) -> bool:
    return clock.now - order["created"] > 6 * HOUR_MS and clock.rng.random() < 0.3


def _buyer_cancels(clock: _Clock, order: dict) -> None:
    order["cancellation_reason"] = "BUYER_CANCELLATION"
    clock.sandbox._set(order, "CANCELLED")


def _signing(clock: _Clock, order: dict) -> bool:
    return order["state"] == "SIGN_REQUIRED" and clock.rng.random() < 0.5


def _signed(clock: _Clock, order: dict) -> None:
    order["signed"] = True
    clock.sandbox._set(order, "ACCEPTED_BY_MERCHANT")


def _assembled(clock: _Clock, order: dict) -> bool:
    return bool(order["waybill"]) and not order["courier_transmission"]


def _to_courier(clock: _Clock, order: dict) -> None:
    order["courier_transmission"] = clock.now


def _delivered(clock: _Clock, order: dict) -> bool:
    return bool(order["courier_transmission"]) and clock.now - order["courier_transmission"] > DAY_MS


def _returned_now(clock: _Clock, order: dict) -> bool:
    """Returns spread evenly over the window: this span's share of those still to come."""
    elapsed = clock.start - order["completed"]
    if elapsed >= RETURN_WINDOW_MS:
        return False
    rate = clock.sandbox.return_rate
    span = min(clock.now - clock.start, RETURN_WINDOW_MS - elapsed)
    return clock.rng.random() < rate * span / (RETURN_WINDOW_MS - rate * elapsed)


def _return_requested(clock: _Clock, order: dict) -> None:
    clock.sandbox._set(order, RETURNING[0] if order["kaspi_delivery"] else RETURNING[1])


def _waited(days: int) -> Callable[[_Clock, dict], bool]:
    return lambda clock, order: clock.now - order["return_step"] > days * DAY_MS


# What time does to an order, by status: (condition, effect) in order, the first that holds applies;
# an effect is a callable or the status the order moves to.
CLOCK_RULES: dict[str, tuple] = {
    "APPROVED_BY_BANK": ((_unanswered, _buyer_cancels),),
    "ACCEPTED_BY_MERCHANT": ((_signing, _signed), (_assembled, _to_courier), (_delivered, "COMPLETED")),
    "COMPLETED": ((_returned_now, _return_requested),),
    "KASPI_DELIVERY_RETURN_REQUESTED": ((_waited(1), "RETURN_ACCEPTED_BY_MERCHANT"),),
    "RETURN_ACCEPTED_BY_MERCHANT": ((_waited(2), "RETURNED"),),
}


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _now_ms() -> int:
    return int(time.time() * 1000)


def jsonapi_error(status: int, title: str) -> Response:
    body = {"errors": [{"status": str(status), "title": title}]}
    return Response(status, json.dumps(body, ensure_ascii=False).encode(), JSONAPI)


class KaspiSandbox:
    """The emulator's state: catalog, orders, virtual clock, faults, request log."""

    def __init__(
        self,
        products: list[dict],
        *,
        orders: int = 0,
        days: int = 14,
        token: str = "sandbox-kaspi-token",
        seed: int = 42,
        now: datetime | None = None,
        latency_ms: float = 0,
        orders_per_day: float | None = None,
        hang_seconds: float = 60,
        echo_attributes: tuple[str, ...] | None = None,
        return_rate: float = 0.05,
        internal_offer_codes: float = 0.3,
        omit_included: float = 0.0,
        entry_product_ids: bool = True,
    ):
        if not products:
            raise ValueError("the Kaspi sandbox needs at least one product")
        self.products = list(products)
        self.token = token
        self.seed = seed
        self.latency = latency_ms / 1000
        self.hang_seconds = hang_seconds  # how long a request without a User-Agent goes unanswered
        # POST /orders echoes the whole order, or only these attributes (e.g. ("code", "status")):
        # the reference only says "the response echoes the order".
        self.echo_attributes = echo_attributes
        self.return_rate = return_rate  # the share of completed orders that buyers return
        # The share of products whose entries carry Kaspi's internal code as `offer.code` instead
        # of the merchant's SKU (the reference has seen both), and the share of order-list answers
        # that leave out `included` although entries were asked for.
        self.internal_offer_codes = internal_offer_codes
        self.omit_included = omit_included
        # Entries name their master product (`relationships.product.data`); without it a client
        # must ask /orderentries/{id}/product.
        self.entry_product_ids = entry_product_ids
        self.now_ms = int(now.timestamp() * 1000) if now else _now_ms()
        self.lock = threading.RLock()
        self.orders: dict[str, dict] = {}
        self.by_code: dict[str, dict] = {}
        self.sent_codes: dict[str, str] = {}  # order code -> the code "texted" to the buyer
        self.faults = FaultQueue()
        self.log: list[tuple[str, str, dict]] = []
        self._rng = random.Random(seed)
        self._answers_rng = random.Random(f"{seed}:answers")  # draws that shape answers, not orders
        self._next_code = 500000000 + seed * 1000
        self._arrival_debt = 0.0
        self.orders_per_day = orders_per_day if orders_per_day is not None else max(orders / max(days, 1), 1)
        for i in range(orders):
            created = self.now_ms - int(days * DAY_MS * (orders - i - self._rng.random()) / orders)
            self._new_order(created, settle=True)
        self.apis: list[Api] = [orders_api(self), control_api(self)]
        for module_name in EXTENSIONS:  # other APIs of the same emulator (e.g. product cards)
            importlib.import_module(module_name).mount(self)

    def mount(self, api: Api) -> None:
        """Serve another API (its own prefix, guards and routes) from this emulator."""
        self.apis.append(api)

    def api_for(self, path: str) -> Api | None:
        owners = [api for api in self.apis if api.owns(path)]
        return max(owners, key=lambda api: len(api.prefix)) if owners else None

    # --- catalog vocabulary ---------------------------------------------------------------
    @staticmethod
    def master_id(sku: str) -> str:
        return "MP" + hashlib.sha1(sku.encode()).hexdigest()[:12]

    @staticmethod
    def master_code(master_id: str) -> str:
        """Kaspi's own product code (digits) of a master product."""
        return str(int(master_id[2:], 16) % 10**9)

    def offer_code(self, sku: str) -> str:
        """What an entry's `offer.code` says for a product: the merchant's SKU, or for a share of
        products (`internal_offer_codes`, fixed per product) Kaspi's internal code."""
        roll = int(hashlib.sha1(f"{self.seed}:offer:{sku}".encode()).hexdigest()[:8], 16) / 16**8
        return self.master_code(self.master_id(sku)) if roll < self.internal_offer_codes else sku

    def _product_by_master(self, master_id: str) -> dict | None:
        return next((p for p in self.products if self.master_id(p["sku"]) == master_id), None)

    # --- order stream -------------------------------------------------------------------------
    def _new_order(self, created_ms: int, *, settle: bool = False, status: str | None = None) -> dict:
        rng = self._rng
        self._next_code += 1 + rng.randrange(3)
        code = str(self._next_code)
        city_code, city, streets = rng.choices(CITIES, weights=CITY_WEIGHTS)[0]
        mode, kaspi_delivery, _w = rng.choices(DELIVERY_MODES, weights=[m[2] for m in DELIVERY_MODES])[0]
        if city != "Алматы" and mode == "DELIVERY_LOCAL":
            mode = "DELIVERY_REGIONAL_TODOOR"
        first, gender = rng.choice(FIRST_NAMES)
        last = rng.choice(LAST_NAMES) + ("а" if gender == "f" else "")
        entries = []
        for n, product in enumerate(
            rng.sample(self.products, k=min(len(self.products), rng.choice([1, 1, 1, 2, 2, 3])))
        ):
            qty = rng.choice([1, 1, 1, 1, 2, 3])
            entries.append({"sku": product["sku"], "qty": qty, "price": int(product["price"]), "n": n})
        payment = rng.choices(["PAY_WITH_CREDIT", "PREPAID"], weights=[45, 55])[0]
        street, number = rng.choice(streets), rng.randrange(1, 250)
        apartment = rng.randrange(1, 200)
        order = {
            "id": _b64(code),
            "code": code,
            "created": created_ms,
            "status": "APPROVED_BY_BANK",
            "state": "NEW",
            "payment": payment,
            "credit_term": rng.choice([3, 6, 12, 24]) if payment == "PAY_WITH_CREDIT" else None,
            "signature_required": payment == "PAY_WITH_CREDIT" and rng.random() < 0.2,
            "signed": False,
            "mode": mode,
            "kaspi_delivery": kaspi_delivery,
            "express": kaspi_delivery and city == "Алматы" and rng.random() < 0.2,
            "city_code": city_code,
            "customer": {
                "id": _b64(f"c{rng.randrange(10**9)}"),
                "firstName": first,
                "lastName": last,
                "cellPhone": f"+77{rng.choice(['01', '02', '05', '07', '47', '75', '77'])}{rng.randrange(10**7):07d}",
            },
            "address": {
                "streetName": street,
                "streetNumber": str(number),
                "town": city,
                "district": None,
                "building": None,
                "apartment": str(apartment),
                "formattedAddress": f"{city}, {street}, {number}, кв. {apartment}",
                "latitude": round(43.2 + rng.random(), 6),
                "longitude": round(76.8 + rng.random(), 6),
            },
            "entries": entries,
            "delivery_cost_for_seller": 0 if mode == "DELIVERY_PICKUP" else rng.choice([0, 990, 1490, 1990]),
            "planned_delivery": created_ms + rng.randrange(1, 6) * DAY_MS,
            "waybill": None,
            "courier_transmission": None,
            "courier_planned": None,
            "number_of_space": None,
            "cancellation_reason": None,
            "completed": None,  # when it was completed (ms)
            "return_step": None,  # when its return last moved on (ms)
        }
        self.orders[order["id"]] = order
        self.by_code[code] = order
        if status:
            self._set(order, status)
        elif settle:
            self._settle(order)
        return order

    def _settle(self, order: dict) -> None:
        """Give a generated historic order the status its age makes likely."""
        rng, age = self._rng, self.now_ms - order["created"]
        if age < 2 * HOUR_MS:
            return  # still waiting for the merchant
        roll = rng.random()
        if age < DAY_MS:
            status = "ACCEPTED_BY_MERCHANT" if roll < 0.7 else ("CANCELLED" if roll < 0.85 else "APPROVED_BY_BANK")
        elif age < 4 * DAY_MS:
            status = "ACCEPTED_BY_MERCHANT" if roll < 0.5 else ("COMPLETED" if roll < 0.85 else "CANCELLED")
        else:
            status = "COMPLETED" if roll < 0.8 else ("CANCELLED" if roll < 0.95 else "RETURNED")
        if status == "CANCELLED":
            order["cancellation_reason"] = rng.choice(["BUYER_CANCELLATION", *CANCEL_REASONS])
        if status == "COMPLETED":
            order["completed"] = min(self.now_ms, order["created"] + 2 * DAY_MS)
        self._set(order, status)

    def _set(self, order: dict, status: str) -> None:
        order["status"] = status
        if status == "COMPLETED" and not order["completed"]:
            order["completed"] = self.now_ms
        if status in RETURNING or status == "RETURNED":
            order["return_step"] = self.now_ms
        order["state"] = STATE_OF_STATUS.get(status) or _open_state(order)

    def add_order(self, *, created: datetime | None = None, status: str = "APPROVED_BY_BANK", **overrides) -> dict:
        """A new order now (or at `created`), e.g. for a test that needs a specific case."""
        with self.lock:
            order = self._new_order(int(created.timestamp() * 1000) if created else self.now_ms)
            order.update(overrides)
            self._set(order, status)
            return order

    def set_status(self, code: str, status: str) -> None:
        """Change an order behind the merchant's back (the buyer cancels, Kaspi delivers, ...)."""
        with self.lock:
            self._set(self.by_code[code], status)

    def advance(self, seconds: float) -> None:
        """Move the virtual clock: new orders arrive, and every order moves on as `CLOCK_RULES`
        say (buyers cancel unanswered orders, signed orders move on, Kaspi Delivery hands parcels
        to couriers and completes them, buyers return a share (`return_rate`) of completed orders
        within 14 days: return requested (Kaspi Delivery) → accepted by the merchant (a day later)
        → returned (two days later))."""
        with self.lock:
            start, self.now_ms = self.now_ms, self.now_ms + int(seconds * 1000)
            clock = _Clock(self, start, random.Random(f"{self.seed}:{self.now_ms}"))
            for order in sorted(self.orders.values(), key=lambda o: o["created"]):
                for applies, effect in CLOCK_RULES.get(order["status"], ()):
                    if applies(clock, order):
                        effect(clock, order) if callable(effect) else self._set(order, effect)
                        break
            self._arrival_debt += (self.now_ms - start) / DAY_MS * self.orders_per_day
            arrivals = int(self._arrival_debt)
            self._arrival_debt -= arrivals
            for i in range(arrivals):
                self._new_order(start + int((self.now_ms - start) * (i + 1) / (arrivals + 1)))

    # --- faults and the request log -------------------------------------------------------------
    def inject(
        self, kind: str, times: int = 1, path: str = "", delay: float = 2.0, applied: bool = False, *, after: int = 0
    ) -> None:
        """Fail the next `times` API requests whose path (below the API's prefix) contains `path`,
        after letting `after` of them through. Kinds (`kaspisync.sandbox.base.FAULT_KINDS`, as the
        Al-Style sandbox): an HTTP status ("500", "502", "503", "429", ...) with a JSON:API error
        body, "timeout" (no answer for `delay` s, then 504), "malformed" (200 with broken JSON),
        "truncated" (the answer cut half-way, the connection closed), "drop" (the connection closed
        without an answer), "slow" (no failure: the right answer `delay` s late). With `applied`
        the request takes effect first and only its answer fails (a status change made, the reply
        lost); without it a failed request changes nothing."""
        self.faults.inject(kind, times, where=path, after=after, delay=delay, applied=applied)

    def clear_faults(self) -> int:
        """Drop the faults still queued; return how many requests they would have failed."""
        return self.faults.clear()

    def reset(self) -> None:
        """No faults, no request log (as the Al-Style sandbox's reset)."""
        self.clear_faults()
        self.clear_log()

    def record(self, method: str, path: str, query: dict) -> None:
        with self.lock:
            self.log.append((method, path, query))

    def request_count(self, path_prefix: str = "", method: str | None = None) -> int:
        with self.lock:
            return sum(1 for m, p, _q in self.log if p.startswith(path_prefix) and (method is None or m == method))

    def clear_log(self) -> None:
        with self.lock:
            self.log.clear()

    # --- JSON:API views -------------------------------------------------------------------------
    def _order_json(self, order: dict, base: str, *, with_entries: bool = False) -> dict:
        total = sum(e["price"] * e["qty"] for e in order["entries"])
        attributes = {
            "code": order["code"],
            "totalPrice": float(total),
            "paymentMode": order["payment"],
            "creationDate": order["created"],
            "approvedByBankDate": order["created"] + 60_000,
            "plannedDeliveryDate": order["planned_delivery"],
            "reservationDate": order["created"] + 3 * DAY_MS,
            "deliveryCost": 0.0,
            "deliveryCostForSeller": float(order["delivery_cost_for_seller"]),
            "isKaspiDelivery": order["kaspi_delivery"],
            "deliveryMode": order["mode"],
            "deliveryAddress": None if order["mode"] == "DELIVERY_PICKUP" else order["address"],
            "signatureRequired": order["signature_required"],
            "creditTerm": order["credit_term"],
            "preOrder": False,
            "pickupPointId": f"{MERCHANT_ID}_PP1",
            "state": order["state"],
            "status": order["status"],
            "customer": {
                **order["customer"],
                "name": f"{order['customer']['firstName']} {order['customer']['lastName']}",
            },
        }
        if order["cancellation_reason"]:
            attributes["cancellationReason"] = order["cancellation_reason"]
        if order["kaspi_delivery"]:
            attributes["kaspiDelivery"] = {
                "waybill": order["waybill"],
                "waybillNumber": order["waybill"] and order["code"],
                "courierTransmissionDate": order["courier_transmission"],
                "courierTransmissionPlanningDate": order["courier_planned"],
                "express": order["express"],
                "returnedToWarehouse": order["status"] == "RETURNED",
            }
        entries = {"links": {"related": f"{base}/orders/{order['id']}/entries"}}
        if with_entries:  # JSON:API full linkage: which of the included entries are this order's
            entries["data"] = [{"type": "orderentries", "id": self._entry_id(order, e)} for e in order["entries"]]
        return {
            "type": "orders",
            "id": order["id"],
            "attributes": attributes,
            "relationships": {"user": {"links": {"related": f"{base}/orders/{order['id']}/user"}}, "entries": entries},
            "links": {"self": f"{base}/orders/{order['id']}"},
        }

    def list_orders(self, query: dict, base: str) -> dict:
        """GET /orders; with `include[orders]=entries` every listed order's entries come in
        `included` (except in the share `omit_included` of answers, which leave it out)."""

        def one(name):
            return query.get(name, [None])[0]

        try:
            number, size = int(one("page[number]")), int(one("page[size]"))
        except (TypeError, ValueError):
            raise ApiError(400, "page[number] and page[size] are required integers") from None
        if size < 1 or size > 100:
            raise ApiError(400, "page[size] must be between 1 and 100")
        if number < 0:
            raise ApiError(400, "page[number] is 0-based and must not be negative")
        code, state, status = one("filter[orders][code]"), one("filter[orders][state]"), one("filter[orders][status]")
        with self.lock:
            if code:
                found = [self.by_code[code]] if code in self.by_code else []
            else:
                ge, le = one("filter[orders][creationDate][$ge]"), one("filter[orders][creationDate][$le]")
                if ge is None:
                    raise ApiError(400, "filter[orders][creationDate][$ge] is required")
                try:
                    ge, le = int(ge), int(le) if le is not None else self.now_ms
                except ValueError:
                    raise ApiError(400, "creationDate bounds must be epoch milliseconds") from None
                if le < ge or le - ge > MAX_WINDOW_MS:
                    raise ApiError(400, "the creationDate window must not exceed 14 days")
                found = [o for o in self.orders.values() if ge <= o["created"] <= le]
            found = [o for o in found if (not state or o["state"] == state) and (not status or o["status"] == status)]
            found.sort(key=lambda o: (o["created"], o["code"]))
            chunk = found[number * size : (number + 1) * size]
            included = "entries" in (one("include[orders]") or "").split(",")
            if included and self.omit_included and self._answers_rng.random() < self.omit_included:
                included = False
            return {
                "data": [self._order_json(o, base, with_entries=included) for o in chunk],
                "included": [self._entry_json(o, e, base) for o in chunk for e in o["entries"]] if included else [],
                "meta": {"pageCount": math.ceil(len(found) / size), "totalCount": len(found)},
            }

    @staticmethod
    def _entry_id(order: dict, entry: dict) -> str:
        return _b64(f"{order['code']}##{entry['n']}")

    def _entry_json(self, order: dict, e: dict, base: str) -> dict:
        entry_id = self._entry_id(order, e)
        product = next((p for p in self.products if p["sku"] == e["sku"]), {"name": e["sku"]})
        master = {"links": {"related": f"{base}/orderentries/{entry_id}/product"}}
        if self.entry_product_ids:
            master["data"] = {"type": "masterproducts", "id": self.master_id(e["sku"])}
        return {
            "type": "orderentries",
            "id": entry_id,
            "attributes": {
                "quantity": e["qty"],
                "basePrice": float(e["price"]),
                "totalPrice": float(e["price"] * e["qty"]),
                "entryNumber": e["n"],
                "unitType": "PIECES",
                "weight": 1.0,
                "deliveryCost": 0.0,
                "category": {"code": "Master - Electronics", "title": "Электроника"},
                "isImeiRequired": False,
                "offer": {"code": self.offer_code(e["sku"]), "name": product["name"]},
            },
            "relationships": {
                "product": master,
                "deliveryPointOfService": {
                    "links": {"related": f"{base}/orderentries/{entry_id}/deliveryPointOfService"}
                },
            },
        }

    def entries(self, order_id: str, base: str) -> dict:
        with self.lock:
            order = self.orders.get(order_id)
            if order is None:
                raise ApiError(404, "order not found")
            return {"data": [self._entry_json(order, e, base) for e in order["entries"]]}

    def entry_product(self, entry_id: str) -> dict:
        try:
            code, n = base64.urlsafe_b64decode(entry_id + "=" * (-len(entry_id) % 4)).decode().split("##")
            entry = self.by_code[code]["entries"][int(n)]
        except (ValueError, KeyError, IndexError):
            raise ApiError(404, "order entry not found") from None
        product = next((p for p in self.products if p["sku"] == entry["sku"]), {"name": entry["sku"], "brand": ""})
        master_id = self.master_id(entry["sku"])
        return {
            "data": {
                "type": "masterproducts",
                "id": master_id,
                "attributes": {
                    "code": self.master_code(master_id),
                    "name": product["name"],
                    "manufacturer": product.get("brand", ""),
                },
            }
        }

    def merchant_product(self, master_id: str) -> dict:
        product = self._product_by_master(master_id)
        if product is None:
            raise ApiError(404, "master product not found")
        return {
            "data": {
                "type": "merchantproducts",
                "id": _b64(f"{MERCHANT_ID}:{product['sku']}"),
                "attributes": {
                    "code": product["sku"],
                    "name": product["name"],
                    "price": product["price"],
                },
            }
        }

    def change_status(self, body: dict, headers, base: str) -> dict:
        data = (body or {}).get("data") or {}
        attributes = data.get("attributes") or {}
        new = attributes.get("status")
        with self.lock:
            order = self.orders.get(str(data.get("id")))
            if order is None or order["code"] != str(attributes.get("code")):
                raise ApiError(400, "order not found (id and code must match)")
            change = MERCHANT_CHANGES.get(new)
            if change is None:
                raise ApiError(400, f"unsupported status {new!r}")
            if order["status"] not in change.allowed_from:
                raise ApiError(400, f"status change {order['status']} -> {new} is not allowed")
            change.apply(self, order, attributes, headers)
            echoed = self._order_json(order, base)
            if change.echo:
                echoed["attributes"]["status"] = change.echo
            if self.echo_attributes is not None:
                echoed = {
                    "type": "orders",
                    "id": order["id"],
                    "attributes": {k: v for k, v in echoed["attributes"].items() if k in self.echo_attributes},
                }
            return {"data": echoed}

    def stats(self) -> dict:
        with self.lock:
            by_status: dict[str, int] = {}
            for order in self.orders.values():
                by_status[order["status"]] = by_status.get(order["status"], 0) + 1
            return {
                "orders": len(self.orders),
                "by_status": by_status,
                "requests": len(self.log),
                "faults_pending": self.faults.pending(),
                "now": self.now_ms,
            }

    # --- serving ----------------------------------------------------------------------------------
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> "KaspiServer":
        return KaspiServer(self, host, port)


class KaspiServer(LoopbackServer):
    def __init__(self, sandbox: KaspiSandbox, host: str = "127.0.0.1", port: int = 0):
        super().__init__(KaspiHandler, sandbox, host, port)

    @property
    def url(self) -> str:
        return self.base + API_PREFIX


# --- the APIs it serves: route tables ------------------------------------------------------------
HTML_404 = (
    b"<!DOCTYPE html><html><head><title>404 Not Found</title></head>"
    b"<body><h1>Kaspi.kz</h1><p>Page not found</p></body></html>"
)
# Modules serving more of Kaspi from this emulator: each has `mount(sandbox)`, which calls
# `sandbox.mount(Api(...))` (and may add routes to `sandbox.apis[1]`, the control endpoints).
EXTENSIONS: tuple[str, ...] = ("kaspisync.sandbox.kaspi_content",)  # product cards


def user_agent_required(sandbox: KaspiSandbox) -> Callable[[Request], Response | None]:
    """Without a User-Agent Kaspi is reported to hang: no answer for `hang_seconds`, then the
    connection drops."""

    def guard(request: Request) -> Response | None:
        if not (request.headers.get("User-Agent") or "").strip():
            return Response(0, hang=sandbox.hang_seconds)
        return None

    return guard


def token_required(sandbox: KaspiSandbox, error: Callable[[int, str], Response]):
    def guard(request: Request) -> Response | None:
        if request.headers.get("X-Auth-Token") != sandbox.token:
            return error(401, "Unauthorized: invalid X-Auth-Token")
        return None

    return guard


def jsonapi_headers_required(request: Request) -> Response | None:
    """`Accept: application/vnd.api+json` (without it: 404 with an HTML body, as Kaspi answers)
    and the same Content-Type (the reference requires it on every call but does not say how Kaspi
    answers without it: 415 with a JSON:API error, as JSON:API servers do)."""
    if JSONAPI not in (request.headers.get("Accept") or ""):
        return Response(404, HTML_404, "text/html; charset=utf-8")
    if (request.headers.get("Content-Type") or "").split(";")[0].strip() != JSONAPI:
        return jsonapi_error(415, f"Unsupported Media Type: Content-Type must be {JSONAPI}")
    return None


def point_of_service(point_id: str) -> dict:
    return {
        "data": {
            "type": "pointofservices",
            "id": point_id,
            "attributes": {
                "displayName": point_id.rsplit("_", 1)[-1],
                "address": {"formattedAddress": "Алматы, пр. Райымбека, 212"},
            },
        }
    }


def cities() -> dict:
    return {
        "data": [
            {"type": "cities", "id": code, "attributes": {"code": code, "name": name, "active": True}}
            for code, name, _streets in CITIES
        ]
    }


def orders_api(sandbox: KaspiSandbox) -> Api:
    """The Shop API (orders) under /shop/api/v2."""
    api = Api(
        API_PREFIX,
        content_type=JSONAPI,
        error=jsonapi_error,
        guards=[
            user_agent_required(sandbox),
            jsonapi_headers_required,
            token_required(sandbox, jsonapi_error),
        ],
    )
    api.add("GET", "/orders", lambda r: sandbox.list_orders(r.query, r.base))
    api.add("POST", "/orders", lambda r: sandbox.change_status(r.json(), r.headers, r.base))
    api.add("GET", "/orders/{id}/entries", lambda r: sandbox.entries(r.params["id"], r.base))
    api.add("GET", "/orderentries/{id}/product", lambda r: sandbox.entry_product(r.params["id"]))
    api.add("GET", "/orderentries/{id}/deliveryPointOfService", lambda r: point_of_service(f"{MERCHANT_ID}_PP1"))
    api.add("GET", "/masterproducts/{id}/merchantProduct", lambda r: sandbox.merchant_product(r.params["id"]))
    api.add("GET", "/pointofservices/{id}", lambda r: point_of_service(r.params["id"]))
    api.add("GET", "/cities", lambda r: cities())
    return api


def control_api(sandbox: KaspiSandbox) -> Api:
    """/_sandbox/ (no token): faults, the clock, the request log, the codes texted to buyers."""

    def faults(request: Request) -> dict:
        body = request.json()
        sandbox.inject(
            body.get("kind", "500"),
            body.get("times", 1),
            body.get("path", ""),
            body.get("delay", 2.0),
            body.get("applied", False),
            after=body.get("after", 0),
        )
        return sandbox.stats()

    def then_stats(action) -> Callable[[Request], dict]:
        def view(request: Request) -> dict:
            action(request)
            return sandbox.stats()

        return view

    api = Api("/_sandbox", control=True)
    api.add("POST", "/faults", faults)
    api.add("POST", "/faults/clear", then_stats(lambda r: sandbox.clear_faults()))
    api.add("POST", "/advance", then_stats(lambda r: sandbox.advance(float(r.json().get("seconds", 0)))))
    api.add("POST", "/clear-log", then_stats(lambda r: sandbox.clear_log()))
    api.add("POST", "/reset", then_stats(lambda r: sandbox.reset()))
    api.add("GET", "/codes", lambda r: dict(sandbox.sent_codes))
    api.add("GET", "/stats", lambda r: sandbox.stats())
    return api


class KaspiHandler(SandboxHandler):
    """Finds the API by its prefix; then, for the emulated APIs: latency, the request log, the
    API's guards, an injected fault (before or after the request takes effect), the route."""

    # Headers and body go out in two writes: without TCP_NODELAY every answer waits ~40 ms for
    # the client's delayed ACK, which would swamp the emulated latency.
    disable_nagle_algorithm = True

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def _serve(self, method: str) -> None:
        try:
            self._handle(method)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (e.g. its read timeout)
            self.close_connection = True

    def _handle(self, method: str) -> None:
        sandbox: KaspiSandbox = self.state
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        api = sandbox.api_for(parts.path)
        if api is not None and api.control:
            return self.send(api.answer(self._request(api, method, parts.path, query, body)))
        if sandbox.latency:
            time.sleep(sandbox.latency)
        if api is None:
            sandbox.record(method, parts.path, {k: v[0] for k, v in query.items()})
            return self.send(jsonapi_error(404, f"unknown path (the API lives under {API_PREFIX})"))
        request = self._request(api, method, parts.path, query, body)
        sandbox.record(method, request.path, {k: v[0] for k, v in query.items()})
        refused = api.guard(request)
        if refused is not None:
            return self.send(refused)
        fault = sandbox.faults.take(lambda where: where in request.path)
        if fault and fault.kind == "slow":
            time.sleep(fault.delay)
            fault = None
        if fault and not fault.applied and fault.kind != "truncated":
            return self._fault(fault, api, None)
        if fault and method != "GET" and not fault.applied:  # a truncated refusal: nothing happened
            return self._fault(fault, api, api.error(502, "bad gateway"))
        response = api.route(request)
        return self._fault(fault, api, response) if fault else self.send(response)

    def _request(self, api: Api, method: str, path: str, query: dict, body: bytes) -> Request:
        base = f"http://{self.headers.get('Host')}{api.prefix}"
        raw_query = urlsplit(self.path).query
        return Request(method, path[len(api.prefix) :] or "/", query, self.headers, body, base, raw_query=raw_query)

    def _fault(self, fault, api: Api, response: Response | None) -> None:
        """Answer with the fault; `response` is the real answer when the request took effect (or
        is a GET, which changes nothing)."""
        if fault.kind == "timeout":
            time.sleep(fault.delay)
            return self.send(api.error(504, "gateway timeout"))
        if fault.kind == "malformed":
            return self.send(Response(200, b'{"data": [', api.content_type))
        if fault.kind == "truncated":
            return self.send_truncated(response)
        if fault.kind == "drop":
            return self.drop()
        return self.send(api.error(fault.status or 500, "injected fault"))


# --- command line -------------------------------------------------------------------------------
def _demo_products(size: int, sku_prefix: str = "AS") -> list[dict]:
    """The Al-Style sandbox's catalog, so order SKUs match the demo catalog and price list."""
    from catalog.sku import merchant_sku
    from kaspisync.sandbox.alstyle import generate_catalog

    return [
        {
            "sku": merchant_sku(p["article"], sku_prefix),
            "name": p["name"],
            "price": int(p.get("price2") or p.get("price1") or 1000),
            "brand": p.get("brand") or "",
        }
        for p in generate_catalog(size)
        if 1 < int(p.get("price2") or 0) < 9_999_999  # no "price on request" or placeholder prices
    ]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="kaspisync.sandbox kaspi", description="Kaspi Shop API emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8002)
    parser.add_argument("--token", default="sandbox-kaspi-token")
    parser.add_argument("--orders", type=int, default=300, help="orders over the last 14 days")
    parser.add_argument("--latency-ms", type=float, default=0)
    parser.add_argument("--catalog-size", type=int, default=200)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--sku-prefix", default="AS", help="prefix of the demo catalog's merchant SKUs (the price list's SKU prefix)"
    )
    parser.add_argument(
        "--internal-offer-codes", type=float, default=0.3, help="share of products whose offer.code is Kaspi's own"
    )
    parser.add_argument(
        "--omit-included", type=float, default=0.05, help="share of order lists answered without `included`"
    )
    parser.add_argument(
        "--tick", type=float, default=60, help="advance the virtual clock with wall time every N s (0: never)"
    )
    args = parser.parse_args(argv)
    sandbox = KaspiSandbox(
        _demo_products(args.catalog_size, args.sku_prefix),
        orders=args.orders,
        token=args.token,
        seed=args.seed,
        latency_ms=args.latency_ms,
        internal_offer_codes=args.internal_offer_codes,
        omit_included=args.omit_included,
    )
    server = sandbox.serve(args.host, args.port)
    print(f"Kaspi sandbox: {server.url} ({len(sandbox.orders)} orders, token {args.token!r})", flush=True)
    if args.tick > 0:

        def ticker():
            while True:
                time.sleep(args.tick)
                sandbox.advance(max(0, _now_ms() - sandbox.now_ms) / 1000)

        threading.Thread(target=ticker, name="kaspi-sandbox-clock", daemon=True).start()
    server.run_until_interrupted()


if __name__ == "__main__":
    main()
