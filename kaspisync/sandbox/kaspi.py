"""Kaspi Shop API emulator (orders), over real HTTP on loopback.

Kaspi has no sandbox; this stands in for it in `make run` (no KASPI_TOKEN) and in the tests.

    sandbox = KaspiSandbox(products=[{"sku": "AS1", "name": "...", "price": 1000, "brand": "X"}], orders=50)
    with sandbox.serve() as server:
        server.url            # e.g. http://127.0.0.1:40123/shop/api/v2
        sandbox.advance(3600) # an hour passes: new orders, buyers cancel, deliveries complete, returns
        sandbox.inject("500", count=2)
        sandbox.request_count("/orders")

It enforces what the real service enforces: `X-Auth-Token` (401), `Accept:
application/vnd.api+json` (404 with an HTML body when missing), a non-empty `User-Agent` (without
one it hangs: it answers nothing for `hang_seconds`, then drops the connection, as Kaspi is
reported to do), `Content-Type: application/vnd.api+json` (the reference requires it on every call
but does not say how Kaspi answers without it: the emulator answers 415 with a JSON:API error, as
JSON:API servers do, so a client that loses the header fails loudly), `page[size]` ≤ 100, 0-based
pages, `creationDate` windows with `$ge` and ≤ 14 days, filters by state/status/code, the status
transitions of POST /orders (refusals as 400 errors), the cancellation reason, the two-step
completion code (the code "texted" to the buyer is readable via `sent_codes`), and assembly for
Kaspi Delivery. Control endpoints under `/_sandbox/` (no token): POST faults, POST advance,
GET codes, GET stats. The clock is virtual: it moves only by `advance()` (or the CLI's ticker).
"""

import argparse
import base64
import hashlib
import json
import math
import random
import threading
import time
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

from .base import LoopbackServer, SandboxHandler

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


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _now_ms() -> int:
    return int(time.time() * 1000)


class ApiError(Exception):
    def __init__(self, status: int, title: str):
        super().__init__(title)
        self.status = status
        self.title = title

    def body(self) -> dict:
        return {"errors": [{"status": str(self.status), "title": self.title}]}


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
        self.now_ms = int(now.timestamp() * 1000) if now else _now_ms()
        self.lock = threading.RLock()
        self.orders: dict[str, dict] = {}
        self.by_code: dict[str, dict] = {}
        self.sent_codes: dict[str, str] = {}  # order code -> the code "texted" to the buyer
        self.faults: list[dict] = []
        self.log: list[tuple[str, str, dict]] = []
        self._rng = random.Random(seed)
        self._next_code = 500000000 + seed * 1000
        self._arrival_debt = 0.0
        self.orders_per_day = orders_per_day if orders_per_day is not None else max(orders / max(days, 1), 1)
        for i in range(orders):
            created = self.now_ms - int(days * DAY_MS * (orders - i - self._rng.random()) / orders)
            self._new_order(created, settle=True)

    # --- catalog vocabulary ---------------------------------------------------------------
    @staticmethod
    def master_id(sku: str) -> str:
        return "MP" + hashlib.sha1(sku.encode()).hexdigest()[:12]

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
        if status in FINAL or status in RETURNING:
            order["state"] = "ARCHIVE"
        elif status == "APPROVED_BY_BANK":
            order["state"] = "NEW"
        elif order["signature_required"] and not order["signed"]:
            order["state"] = "SIGN_REQUIRED"
        elif order["kaspi_delivery"]:
            order["state"] = "KASPI_DELIVERY"
        elif order["mode"] == "DELIVERY_PICKUP":
            order["state"] = "PICKUP"
        else:
            order["state"] = "DELIVERY"

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
        """Move the virtual clock: new orders arrive, unanswered orders get cancelled by buyers,
        signed orders move on, Kaspi Delivery hands parcels to couriers and completes them, and
        buyers return a share (`return_rate`) of completed orders within 14 days: return requested
        (Kaspi Delivery) → accepted by the merchant (a day later) → returned (two days later)."""
        with self.lock:
            start, self.now_ms = self.now_ms, self.now_ms + int(seconds * 1000)
            rng = random.Random(f"{self.seed}:{self.now_ms}")
            for order in sorted(self.orders.values(), key=lambda o: o["created"]):
                age = self.now_ms - order["created"]
                if order["status"] == "APPROVED_BY_BANK" and age > 6 * HOUR_MS and rng.random() < 0.3:
                    order["cancellation_reason"] = "BUYER_CANCELLATION"
                    self._set(order, "CANCELLED")
                elif order["status"] == "ACCEPTED_BY_MERCHANT":
                    if order["state"] == "SIGN_REQUIRED" and rng.random() < 0.5:
                        order["signed"] = True
                        self._set(order, "ACCEPTED_BY_MERCHANT")
                    elif order["waybill"] and not order["courier_transmission"]:
                        order["courier_transmission"] = self.now_ms
                    elif order["courier_transmission"] and self.now_ms - order["courier_transmission"] > DAY_MS:
                        self._set(order, "COMPLETED")
                elif order["status"] == "COMPLETED" and start - order["completed"] < RETURN_WINDOW_MS:
                    # returns spread evenly over the window: this span's share of those still to come
                    elapsed = start - order["completed"]
                    span = min(self.now_ms - start, RETURN_WINDOW_MS - elapsed)
                    if rng.random() < self.return_rate * span / (RETURN_WINDOW_MS - self.return_rate * elapsed):
                        self._set(order, RETURNING[0] if order["kaspi_delivery"] else RETURNING[1])
                elif order["status"] == RETURNING[0] and self.now_ms - order["return_step"] > DAY_MS:
                    self._set(order, RETURNING[1])
                elif order["status"] == RETURNING[1] and self.now_ms - order["return_step"] > 2 * DAY_MS:
                    self._set(order, "RETURNED")
            self._arrival_debt += (self.now_ms - start) / DAY_MS * self.orders_per_day
            arrivals = int(self._arrival_debt)
            self._arrival_debt -= arrivals
            for i in range(arrivals):
                self._new_order(start + int((self.now_ms - start) * (i + 1) / (arrivals + 1)))

    # --- faults and the request log -------------------------------------------------------------
    def inject(self, kind: str, count: int = 1, path: str = "", delay: float = 2.0, applied: bool = False) -> None:
        """Fail the next `count` API requests (whose path contains `path`): kind is an HTTP
        status ("500", "503", "429", ...), "timeout" (answer after `delay` s), "malformed", or
        "slow" (no failure: the right answer comes after `delay` s). With `applied` the request
        takes effect first and only its answer fails (a status change made, the reply lost)."""
        with self.lock:
            self.faults.append(
                {"kind": str(kind), "count": int(count), "path": path, "delay": float(delay), "applied": bool(applied)}
            )

    def _take_fault(self, path: str) -> dict | None:
        with self.lock:
            for fault in self.faults:
                if fault["count"] > 0 and fault["path"] in path:
                    fault["count"] -= 1
                    return fault
        return None

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
    def _order_json(self, order: dict, base: str) -> dict:
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
        return {
            "type": "orders",
            "id": order["id"],
            "attributes": attributes,
            "relationships": {
                "user": {"links": {"related": f"{base}/orders/{order['id']}/user"}},
                "entries": {"links": {"related": f"{base}/orders/{order['id']}/entries"}},
            },
            "links": {"self": f"{base}/orders/{order['id']}"},
        }

    def list_orders(self, query: dict, base: str) -> dict:
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
            return {
                "data": [self._order_json(o, base) for o in chunk],
                "included": [],
                "meta": {"pageCount": math.ceil(len(found) / size), "totalCount": len(found)},
            }

    def entries(self, order_id: str, base: str) -> dict:
        with self.lock:
            order = self.orders.get(order_id)
            if order is None:
                raise ApiError(404, "order not found")
            data = []
            for e in order["entries"]:
                entry_id = _b64(f"{order['code']}:{e['n']}")
                product = next((p for p in self.products if p["sku"] == e["sku"]), {"name": e["sku"]})
                data.append(
                    {
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
                            "offer": {"code": e["sku"], "name": product["name"]},
                        },
                        "relationships": {
                            "product": {"links": {"related": f"{base}/orderentries/{entry_id}/product"}},
                            "deliveryPointOfService": {
                                "links": {"related": f"{base}/orderentries/{entry_id}/deliveryPointOfService"}
                            },
                        },
                    }
                )
            return {"data": data}

    def entry_product(self, entry_id: str) -> dict:
        try:
            code, n = base64.urlsafe_b64decode(entry_id + "=" * (-len(entry_id) % 4)).decode().split(":")
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
                    "code": str(int(master_id[2:], 16) % 10**9),
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
            current = order["status"]

            def refuse():
                raise ApiError(400, f"status change {current} -> {new} is not allowed")

            if new == "ACCEPTED_BY_MERCHANT":
                if current != "APPROVED_BY_BANK":
                    refuse()
                self._set(order, new)
            elif new == "CANCELLED":
                if current not in ("APPROVED_BY_BANK", "ACCEPTED_BY_MERCHANT"):
                    refuse()
                reason = attributes.get("cancellationReason")
                if reason not in CANCEL_REASONS:
                    raise ApiError(400, "cancellationReason is required: " + ", ".join(CANCEL_REASONS))
                if len(attributes.get("cancellationComment") or "") > 1000:
                    raise ApiError(400, "cancellationComment must not exceed 1000 characters")
                order["cancellation_reason"] = reason
                self._set(order, new)
            elif new == "COMPLETED":
                if current != "ACCEPTED_BY_MERCHANT":
                    refuse()
                if (headers.get("X-Send-Code") or "").lower() == "true":
                    code_rng = random.Random(f"{self.seed}:{order['code']}:{len(self.log)}")
                    self.sent_codes[order["code"]] = f"{code_rng.randrange(10**6):06d}"
                else:
                    given = headers.get("X-Security-Code") or ""
                    expected = self.sent_codes.get(order["code"])
                    if not expected:
                        raise ApiError(
                            400, "no security code was sent to the buyer: request it first (X-Send-Code: true)"
                        )
                    if given != expected:
                        raise ApiError(400, "the security code is wrong")
                    del self.sent_codes[order["code"]]
                    self._set(order, new)
            elif new == "ASSEMBLE":
                if current != "ACCEPTED_BY_MERCHANT" or not order["kaspi_delivery"]:
                    raise ApiError(400, "only accepted Kaspi Delivery orders can be assembled")
                try:
                    spaces = int(attributes.get("numberOfSpace"))
                except (TypeError, ValueError):
                    spaces = 0
                if spaces < 1:
                    raise ApiError(400, "numberOfSpace must be a positive number of parcels")
                order["number_of_space"] = spaces
                order["waybill"] = f"https://kaspi.kz/merchantcabinet/api/order/downloadWaybill/{order['code']}"
                order["courier_planned"] = self.now_ms + DAY_MS
            else:
                raise ApiError(400, f"unsupported status {new!r}")
            echoed = self._order_json(order, base)
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
            return {"orders": len(self.orders), "by_status": by_status, "requests": len(self.log), "now": self.now_ms}

    # --- serving ----------------------------------------------------------------------------------
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> "KaspiServer":
        return KaspiServer(self, host, port)


class KaspiServer(LoopbackServer):
    def __init__(self, sandbox: KaspiSandbox, host: str = "127.0.0.1", port: int = 0):
        super().__init__(KaspiHandler, sandbox, host, port)

    @property
    def url(self) -> str:
        return self.base + API_PREFIX


HTML_404 = (
    b"<!DOCTYPE html><html><head><title>404 Not Found</title></head>"
    b"<body><h1>Kaspi.kz</h1><p>Page not found</p></body></html>"
)


class KaspiHandler(SandboxHandler):
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

    def _json(self, status: int, payload) -> None:
        self.send_body(status, json.dumps(payload, ensure_ascii=False).encode(), content_type=JSONAPI)

    def _error(self, status: int, title: str) -> None:
        self._json(status, ApiError(status, title).body())

    def _body(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            return {}

    def _handle(self, method: str) -> None:
        sandbox: KaspiSandbox = self.state
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        if parts.path.startswith("/_sandbox/"):
            return self._control(method, parts.path[len("/_sandbox/") :])
        body = self._body() if method == "POST" else {}
        if sandbox.latency:
            time.sleep(sandbox.latency)
        path = parts.path[len(API_PREFIX) :] if parts.path.startswith(API_PREFIX + "/") else None
        sandbox.record(method, path or parts.path, {k: v[0] for k, v in query.items()})
        if path is None:
            return self._error(404, "unknown path (the API lives under /shop/api/v2)")
        if not (self.headers.get("User-Agent") or "").strip():
            time.sleep(sandbox.hang_seconds)  # no answer at all, then the connection drops
            self.close_connection = True
            return None
        if JSONAPI not in (self.headers.get("Accept") or ""):
            return self.send_body(404, HTML_404, content_type="text/html; charset=utf-8")
        if (self.headers.get("Content-Type") or "").split(";")[0].strip() != JSONAPI:
            return self._error(415, f"Unsupported Media Type: Content-Type must be {JSONAPI}")
        if self.headers.get("X-Auth-Token") != sandbox.token:
            return self._error(401, "Unauthorized: invalid X-Auth-Token")
        fault = sandbox._take_fault(path)
        if fault and fault["kind"] == "slow":
            time.sleep(fault["delay"])
        elif fault and not fault["applied"]:
            return self._fault(fault)
        try:
            status, payload = 200, self._route(method, path, query, body)
        except ApiError as exc:
            status, payload = exc.status, exc.body()
        if fault and fault["applied"]:  # the request took effect, but its answer is lost
            return self._fault(fault)
        return self._json(status, payload)

    def _fault(self, fault: dict) -> None:
        if fault["kind"] == "timeout":
            time.sleep(fault["delay"])
            return self._error(504, "gateway timeout")
        if fault["kind"] == "malformed":
            return self.send_body(200, b'{"data": [', content_type=JSONAPI)
        return self._error(int(fault["kind"]), "injected fault")

    def _route(self, method: str, path: str, query: dict, body: dict) -> dict:
        sandbox: KaspiSandbox = self.state
        base = f"http://{self.headers.get('Host')}{API_PREFIX}"
        segments = [s for s in path.split("/") if s]
        if method == "GET" and segments == ["orders"]:
            return sandbox.list_orders(query, base)
        if method == "POST" and segments == ["orders"]:
            return sandbox.change_status(body, self.headers, base)
        if method == "GET" and len(segments) == 3 and segments[0] == "orders" and segments[2] == "entries":
            return sandbox.entries(segments[1], base)
        if method == "GET" and len(segments) == 3 and segments[0] == "orderentries" and segments[2] == "product":
            return sandbox.entry_product(segments[1])
        if (
            method == "GET"
            and len(segments) == 3
            and segments[0] == "masterproducts"
            and segments[2] == "merchantProduct"
        ):
            return sandbox.merchant_product(segments[1])
        if method == "GET" and len(segments) == 2 and segments[0] == "pointofservices":
            return self.point_of_service(segments[1])
        if (
            method == "GET"
            and len(segments) == 3
            and segments[0] == "orderentries"
            and segments[2] == "deliveryPointOfService"
        ):
            return self.point_of_service(f"{MERCHANT_ID}_PP1")
        if method == "GET" and segments == ["cities"]:
            return {
                "data": [
                    {"type": "cities", "id": code, "attributes": {"code": code, "name": name, "active": True}}
                    for code, name, _streets in CITIES
                ]
            }
        raise ApiError(404, "not found")

    @staticmethod
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

    def _control(self, method: str, action: str) -> None:
        sandbox: KaspiSandbox = self.state
        body = self._body() if method == "POST" else {}
        if method == "POST" and action == "faults":
            sandbox.inject(
                body.get("kind", "500"),
                body.get("count", 1),
                body.get("path", ""),
                body.get("delay", 2.0),
                body.get("applied", False),
            )
        elif method == "POST" and action == "advance":
            sandbox.advance(float(body.get("seconds", 0)))
        elif method == "POST" and action == "clear-log":
            sandbox.clear_log()
        elif not (method == "GET" and action in ("codes", "stats")):
            return self._error(404, "unknown control endpoint")
        payload = dict(sandbox.sent_codes) if action == "codes" else sandbox.stats()
        self._json(200, payload)


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
        "--tick", type=float, default=60, help="advance the virtual clock with wall time every N s (0: never)"
    )
    args = parser.parse_args(argv)
    sandbox = KaspiSandbox(
        _demo_products(args.catalog_size, args.sku_prefix),
        orders=args.orders,
        token=args.token,
        seed=args.seed,
        latency_ms=args.latency_ms,
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
