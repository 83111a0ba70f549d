"""Kaspi content-import API emulator (product cards), mounted by the Kaspi sandbox (EXTENSIONS).

    kaspi = KaspiSandbox(products, token="t")          # mounts this module: kaspi.content
    content = kaspi.content                            # DEMO_CATEGORIES; tests may change their copy
    with kaspi.serve() as server:
        server.base + API_PREFIX                       # http://127.0.0.1:40123/shop/api/products
        kaspi.inject("500", path="/import")            # the Kaspi sandbox's fault vocabulary
        kaspi.inject("timeout", path="/import", applied=True)   # accepted, but the answer is lost
        content.abort_next()                           # the next import ends ABORTED
        content.advance(10)                            # imports move on: UPLOADED → PROCESSING → FINISHED
        content.request_count("/import", "POST")
        content.seen[-1]                               # the last request as sent: method, path, raw query, headers

Endpoints (reference: shared/reference/kaspi-content-api.md), each with a User-Agent (without
one it hangs, then drops the connection, as the orders API), `Accept: application/json` (406 for
anything else, such as the orders API's vnd.api+json) and `X-Auth-Token` (401):
`GET /classification/categories`, `/classification/attributes?c=`, `/classification/attribute/values?c=&a=`,
`GET /import/schema`, `POST /import`, `GET /import?i=`, `GET /import/result?i=`.

`POST /import` enforces what Kaspi does: `Content-Type: text/plain` (anything else: HTTP 500
"Content type '…' not supported", as Kaspi answers), a bare JSON array (an object root is
refused whole, HTTP 400), 1–10,000 cards, and every card against the import schema (one bad card
refuses the whole upload, HTTP 400). Accepted: `{"code": <uuid>, "status": "UPLOADED"}`. The
import then moves through UPLOADED → PROCESSING → FINISHED on the emulator's clock
(`uploaded_seconds`, `processing_seconds`; wall time plus `advance()`), and when it finishes each
card is checked like Kaspi's moderation would: known leaf category, attribute codes of that
category, mandatory attributes present, JSON types as declared (boolean, number, string, arrays
only for multi-valued ones), enum values among the allowed ones (by code or name, any case).
`/import/result` then gives `{"errors", "warnings", "skipped", "total", "result": {sku: entry}}`
with `{"state": "FINISHED"}` for a created card and `{"state": "ERROR", "errors": [...]}` for a
refused one. A card sent again for an existing SKU updates it (FINISHED, with a warning).
Control endpoints (no token): `POST /_sandbox/content/advance {"seconds"}`,
`POST /_sandbox/content/abort`, `GET /_sandbox/content/stats`.
"""

import copy
import json
import threading
import time
import uuid
from pathlib import Path

import fastjsonschema

from .base import Api, ApiError, Request, Response

API_PREFIX = "/shop/api/products"
SCHEMA_PATH = Path(__file__).resolve().parents[2] / "cards" / "schema" / "kaspi_import.schema.json"


def _attribute(group: str, name: str, kind: str, mandatory: bool = False, multi: bool = False, values=()):
    return {
        "code": f"{group}*{name}",
        "type": kind,
        "multiValued": multi,
        "mandatory": mandatory,
        "values": [{"code": v, "name": v} for v in values],
    }


_COLOURS = ("черный", "серый", "серебристый", "белый", "синий", "красный")
_NB = "Notebooks*Obshie harakteristiki.notebooks"
_MON = "Monitors*Obshie harakteristiki.monitors"
_PH = "Smartphones*Obshie harakteristiki.smartphones"
_MICE = "Mice*Obshie harakteristiki.mice"
# Categories that fit the Al-Style sandbox's catalog (its `properties` carry these values, see
# kaspisync/sandbox/alstyle.py PROPERTY_SPECS). Non-leaf categories are listed too, as Kaspi's
# classification is a tree; cards in them are refused.
DEMO_CATEGORIES = [
    {"code": "Master - Computers", "title": "Компьютеры", "leaf": False, "attributes": []},
    {
        "code": "Master - Notebooks",
        "title": "Ноутбуки",
        "leaf": True,
        "attributes": [
            _attribute(_NB, "diagonal", "number", mandatory=True),
            _attribute(
                _NB,
                "processor",
                "enum",
                mandatory=True,
                values=("Intel Core i3", "Intel Core i5", "Intel Core i7", "AMD Ryzen 5", "AMD Ryzen 7"),
            ),
            _attribute(_NB, "ram", "number", mandatory=True),
            _attribute(_NB, "keyboard backlight", "boolean"),
            _attribute(_NB, "color", "enum", multi=True, values=_COLOURS),
            _attribute(_NB, "weight", "number"),
        ],
    },
    {"code": "Master - Peripherals", "title": "Периферия", "leaf": False, "attributes": []},
    {
        "code": "Master - Monitors",
        "title": "Мониторы",
        "leaf": True,
        "attributes": [
            _attribute(_MON, "diagonal", "number", mandatory=True),
            _attribute(_MON, "matrix", "enum", mandatory=True, values=("IPS", "VA", "TN", "OLED")),
            _attribute(_MON, "refresh rate", "number"),
            _attribute(_MON, "curved", "boolean"),
            _attribute(_MON, "color", "enum", values=_COLOURS),
        ],
    },
    {
        "code": "Master - Smartphones",
        "title": "Смартфоны",
        "leaf": True,
        "attributes": [
            _attribute(_PH, "ram", "number", mandatory=True),
            _attribute(_PH, "storage", "number", mandatory=True),
            _attribute(_PH, "nfc", "boolean"),
            _attribute(_PH, "color", "enum", mandatory=True, values=_COLOURS),
        ],
    },
    {
        "code": "Master - Mice",
        "title": "Мыши",
        "leaf": True,
        "attributes": [
            _attribute(_MICE, "connection", "enum", mandatory=True, values=("проводная", "беспроводная")),
            _attribute(_MICE, "dpi", "number"),
            _attribute(_MICE, "color", "enum", values=_COLOURS),
            _attribute(_MICE, "model", "string"),
        ],
    },
]


def _norm(text) -> str:
    return " ".join(str(text).casefold().replace("ё", "е").split())


class KaspiContentSandbox:
    def __init__(
        self,
        kaspi=None,
        categories: list[dict] | None = None,
        *,
        uploaded_seconds: float = 2.0,
        processing_seconds: float = 5.0,
    ):
        self.kaspi = kaspi  # the Kaspi sandbox serving this: its request log, faults and token
        source = categories if categories is not None else DEMO_CATEGORIES
        self.categories = {c["code"]: c for c in copy.deepcopy(source)}  # tests change their own copy
        self.uploaded_seconds = uploaded_seconds
        self.processing_seconds = processing_seconds
        self.schema = json.loads(SCHEMA_PATH.read_text())
        self._validate = fastjsonschema.compile(self.schema)
        self.lock = threading.RLock()
        self.imports: dict[str, dict] = {}
        self.cards: dict[str, dict] = {}  # sku -> the card Kaspi holds
        self.aborts = 0  # imports still to abort
        self.seen: list[dict] = []  # every content request as it came over the wire
        self.offset = 0.0

    # --- clock, aborts, log ------------------------------------------------------------------------
    def now(self) -> float:
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.offset += float(seconds)

    def abort_next(self, count: int = 1) -> None:
        """The next `count` imports end ABORTED (with a description) instead of FINISHED."""
        with self.lock:
            self.aborts += int(count)

    def request_count(self, path: str = "", method: str | None = None) -> int:
        """Requests to exactly `path` below the API prefix ("" = every content request)."""
        paths = {
            "/classification/categories",
            "/classification/attributes",
            "/classification/attribute/values",
            "/import",
            "/import/schema",
            "/import/result",
        }
        with self.kaspi.lock:
            return sum(
                1
                for m, p, _q in self.kaspi.log
                if (p == path if path else p in paths) and (method is None or m == method)
            )

    def stats(self) -> dict:
        with self.lock:
            return {
                "imports": {code: self._status(imp) for code, imp in self.imports.items()},
                "cards": len(self.cards),
            }

    # --- classification ---------------------------------------------------------------------------
    def list_categories(self) -> list[dict]:
        return [{"code": c["code"], "title": c["title"]} for c in self.categories.values()]

    def _category(self, code) -> dict:
        category = self.categories.get(code)
        if category is None:
            raise ApiError(400, f"Unknown category: {code}")
        return category

    def list_attributes(self, code) -> list[dict]:
        return [
            {"code": a["code"], "type": a["type"], "multiValued": a["multiValued"], "mandatory": a["mandatory"]}
            for a in self._category(code)["attributes"]
        ]

    def list_values(self, code, attribute) -> list[dict]:
        for a in self._category(code)["attributes"]:
            if a["code"] == attribute:
                return list(a["values"])
        raise ApiError(400, f"Unknown attribute: {attribute}")

    # --- import -------------------------------------------------------------------------------------
    def upload(self, content_type: str, body: bytes) -> dict:
        if content_type.split(";")[0].strip().lower() != "text/plain":
            raise ApiError(500, f"Content type '{content_type or 'none'}' not supported")
        try:
            cards = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise ApiError(400, "The body is not valid JSON") from None
        if not isinstance(cards, list):
            raise ApiError(400, "The root of the document must be an array of products")
        try:
            self._validate(cards)
        except fastjsonschema.JsonSchemaValueException as exc:
            raise ApiError(400, f"Schema validation failed: {exc.message}") from None
        with self.lock:
            code = str(uuid.uuid4())
            aborted, self.aborts = self.aborts > 0, max(0, self.aborts - 1)
            self.imports[code] = {"code": code, "cards": cards, "at": self.now(), "aborted": aborted}
            return {"code": code, "status": "UPLOADED"}

    def _import(self, code) -> dict:
        found = self.imports.get(code or "")
        if found is None:
            raise ApiError(400, f"Import not found: {code}")
        return found

    def _status(self, imp: dict) -> str:
        age = self.now() - imp["at"]
        if age < self.uploaded_seconds:
            return "UPLOADED"
        if age < self.uploaded_seconds + self.processing_seconds:
            return "PROCESSING"
        if imp["aborted"]:
            return "ABORTED"
        if "result" not in imp:
            imp["result"] = self._moderate(imp["cards"])
        return "FINISHED"

    def import_status(self, code) -> dict:
        with self.lock:
            imp = self._import(code)
            status = self._status(imp)
            answer = {"code": imp["code"], "status": status}
            if status == "ABORTED":
                answer["description"] = "Import aborted: the file could not be processed, try again later"
            return answer

    def import_result(self, code) -> dict:
        with self.lock:
            imp = self._import(code)
            status = self._status(imp)
            if status != "FINISHED":
                return {"errors": 0, "warnings": 0, "skipped": 0, "total": len(imp["cards"]), "result": {}}
            return imp["result"]

    def _moderate(self, cards: list[dict]) -> dict:
        result, errors, warnings = {}, 0, 0
        for card in cards:
            sku = card["sku"]
            if sku in result:
                result[sku] = {"state": "ERROR", "errors": ["The SKU appears twice in one import"]}
                errors += 1
                continue
            problems = self._card_problems(card)
            if problems:
                result[sku] = {"state": "ERROR", "errors": problems}
                errors += 1
            elif sku in self.cards:
                self.cards[sku] = card
                result[sku] = {"state": "FINISHED", "warnings": ["The product existed and was updated"]}
                warnings += 1
            else:
                self.cards[sku] = card
                result[sku] = {"state": "FINISHED"}
        return {"errors": errors, "warnings": warnings, "skipped": 0, "total": len(cards), "result": result}

    def _card_problems(self, card: dict) -> list[str]:
        category = self.categories.get(card["category"])
        if category is None:
            return [f"Unknown category {card['category']}"]
        if not category.get("leaf", True):
            return [f"Category {card['category']} is not a leaf category"]
        declared = {a["code"]: a for a in category["attributes"]}
        given = {}
        problems = []
        for item in card["attributes"]:
            attribute = declared.get(item["code"])
            if attribute is None:
                problems.append(f"Unknown attribute {item['code']} for category {card['category']}")
                continue
            given[item["code"]] = item["value"]
            problems += self._value_problems(attribute, item["value"])
        for code, attribute in declared.items():
            if attribute["mandatory"] and code not in given:
                problems.append(f"Mandatory attribute {code} is missing")
        return problems

    @staticmethod
    def _value_problems(attribute: dict, value) -> list[str]:
        code, kind = attribute["code"], attribute["type"]
        values = value if isinstance(value, list) else [value]
        if isinstance(value, list) and not attribute["multiValued"]:
            return [f"Attribute {code} takes one value, not a list"]
        problems = []
        allowed = {_norm(v["code"]) for v in attribute["values"]} | {_norm(v["name"]) for v in attribute["values"]}
        for one in values:
            if kind == "boolean" and not isinstance(one, bool):
                problems.append(f"Attribute {code} must be true or false, not {one!r}")
            elif kind == "number" and (isinstance(one, bool) or not isinstance(one, (int, float))):
                problems.append(f"Attribute {code} must be a number, not {one!r}")
            elif kind in ("string", "enum") and not isinstance(one, str):
                problems.append(f"Attribute {code} must be a string, not {one!r}")
            elif kind == "enum" and _norm(one) not in allowed:
                problems.append(f"Value {one!r} is not allowed for attribute {code}")
        return problems


RETRY_AFTER = 1  # seconds a 429 asks the client to wait


def content_error(status: int, title: str) -> Response:
    headers = {"Retry-After": str(RETRY_AFTER)} if status == 429 else {}
    return Response(
        status, json.dumps({"status": status, "message": title}, ensure_ascii=False).encode(), headers=headers
    )


def json_accepted(request: Request) -> Response | None:
    """These endpoints speak plain JSON: an `Accept` without application/json is refused."""
    accept = (request.headers.get("Accept") or "").lower()
    if "application/json" not in accept and "*/*" not in accept:
        return content_error(406, "Not Acceptable: this API answers application/json")
    return None


def content_api(kaspi, content: KaspiContentSandbox) -> Api:
    from .kaspi import token_required, user_agent_required

    def record(request: Request) -> None:
        """Keep what the request carried (tests check the client against the reference)."""
        headers = {name: request.headers.get(name) for name in ("Content-Type", "Accept", "User-Agent")}
        headers["X-Auth-Token"] = request.headers.get("X-Auth-Token")
        with content.lock:
            content.seen.append(
                {"method": request.method, "path": request.path, "raw_query": request.raw_query, "headers": headers}
            )

    api = Api(
        API_PREFIX,
        error=content_error,
        guards=[record, user_agent_required(kaspi), json_accepted, token_required(kaspi, content_error)],
    )
    api.add("GET", "/classification/categories", lambda r: content.list_categories())
    api.add("GET", "/classification/attributes", lambda r: content.list_attributes(r.arg("c")))
    api.add("GET", "/classification/attribute/values", lambda r: content.list_values(r.arg("c"), r.arg("a")))
    api.add("GET", "/import/schema", lambda r: content.schema)
    api.add("POST", "/import", lambda r: content.upload(r.headers.get("Content-Type") or "", r.body))
    api.add("GET", "/import", lambda r: content.import_status(r.arg("i")))
    api.add("GET", "/import/result", lambda r: content.import_result(r.arg("i")))
    return api


def mount(kaspi) -> None:
    """Called by the Kaspi sandbox (EXTENSIONS): serve the content API and its control endpoints."""
    content = KaspiContentSandbox(kaspi)
    kaspi.content = content
    kaspi.mount(content_api(kaspi, content))
    control = next(api for api in kaspi.apis if api.control)

    def then_stats(action):
        def view(request: Request) -> dict:
            action(request)
            return content.stats()

        return view

    control.add("POST", "/content/advance", then_stats(lambda r: content.advance(float(r.json().get("seconds", 0)))))
    control.add("POST", "/content/abort", then_stats(lambda r: content.abort_next(int(r.json().get("count", 1)))))
    control.add("GET", "/content/stats", lambda r: content.stats())
