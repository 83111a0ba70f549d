"""Al-Style B2B API client. Payloads are normalised here, once (catalog.normalize), into typed values.

    client = AlstyleClient()                 # ALSTYLE_API_URL / ALSTYLE_TOKEN / ALSTYLE_MIN_INTERVAL
    client.categories(); client.brands()
    for page in client.product_pages():      # elements-pagination, 250 a page, each read when asked for
        page.products, page.skipped, page.total_count
    client.quantity_price()                  # the whole catalog's prices and stock, one request
    for page in client.properties(categories=[3521]):   # {article: {property name: value}}
    client.requests_made

Every request first takes its turn in the per-token queue shared by all threads, processes and
machines (`kaspisync.throttle`): Al-Style allows one request every ALSTYLE_MIN_INTERVAL seconds
per token (plus a small safety margin), retries included. Retries follow the shared
`kaspisync.http.RetryPolicy`: throttle answers (403/429, or `success: false` with `interval`) wait
the interval the server states; 5xx, timeouts, broken connections and malformed JSON are retried
with backoff, ALSTYLE_MAX_ATTEMPTS in all. A wrong token (401) is not retried. The token travels in the query
string, so every text that leaves this module (log lines, exception messages) is masked, and
`requests` exceptions (whose text holds the URL) are never chained.
"""

import hashlib
import logging
import os
from dataclasses import dataclass, field

import orjson
import requests
from django.conf import settings
from django.utils.translation import gettext as _

from kaspisync.http import ExternalServiceError, RetryPolicy, make_session, timeouts
from kaspisync.secrets import mask, register_secret
from kaspisync.throttle import key_for, wait_turn

from . import normalize
from .normalize import BrandData, CategoryData, PriceStockData, ProductData, SkipProduct

log = logging.getLogger(__name__)

PAGE_LIMIT = 250  # the API's maximum
PROPERTIES_LIMIT = 250
# What the portal stores besides the base fields (brand, pictures, identifiers, stock by warehouse).
IMPORT_FIELDS = ("brand", "images", "barcode", "weight", "warranty", "description", "url", "rrp", "warehouses")
RETRYABLE_STATUSES = {500, 502, 503, 504}
THROTTLE_STATUSES = {403, 429}
# Our slot is a little longer than the server's window, so that a request that leaves late (a busy
# machine, a slow network) does not make the next one arrive too early: 5 %, at least 0.1 s.
SAFETY_MARGIN = (0.05, 0.1)


class AlstyleError(ExternalServiceError):
    """A failure talking to Al-Style (message masked)."""


class SupplierProduct:
    """One element of `elements-pagination`. Its article and a fingerprint of the supplier's values
    are read at once; the normalised values (`data()`) only when asked, so a product whose
    fingerprint did not change since the last import is never normalised again.

    The fingerprint is the MD5 digest (16 bytes) of the raw element and of the normalisation
    rules' version (catalog.normalize.RULES_VERSION), so changed rules re-read every product once."""

    __slots__ = ("article", "fingerprint", "_raw")

    def __init__(self, raw: dict):
        self.article = normalize.article(raw.get("article"))
        digest = hashlib.md5(normalize.RULES_VERSION, usedforsecurity=False)
        digest.update(orjson.dumps(raw))
        self.fingerprint = digest.digest()
        self._raw = raw

    def data(self) -> ProductData:
        """The normalised product; raises SkipProduct."""
        return normalize.product(self._raw)


@dataclass
class ProductPage:
    products: list[SupplierProduct]
    skipped: list[SkipProduct] = field(default_factory=list)
    total_count: int = 0
    total_pages: int = 0
    current_page: int = 0
    limit: int = 0
    offset: int = 0


def _stated_interval(payload) -> float | None:
    if isinstance(payload, dict) and payload.get("interval") not in (None, ""):
        try:
            return max(0.0, float(payload["interval"]))  # capped by the retry policy
        except (TypeError, ValueError):
            return None
    return None


def _frozen_environment(session: requests.Session, url: str) -> requests.Session:
    """Read the proxy and CA bundle environment once per client instead of once per request
    (with `trust_env` requests re-reads the environment and ~/.netrc on every call: ~1 ms each)."""
    session.proxies.update(requests.utils.get_environ_proxies(url))
    session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    session.trust_env = False
    return session


class AlstyleClient:
    def __init__(
        self,
        *,
        base_url: str | None = None,
        token: str | None = None,
        min_interval: float | None = None,
        max_attempts: int | None = None,
        backoff_base: float | None = None,
        session=None,
    ):
        self.base_url = (base_url or settings.ALSTYLE_API_URL).rstrip("/") + "/"
        self.token = settings.ALSTYLE_TOKEN if token is None else token
        register_secret(self.token)
        self.min_interval = settings.ALSTYLE_MIN_INTERVAL if min_interval is None else min_interval
        self.retry = RetryPolicy.configured("ALSTYLE", max_attempts, backoff_base)
        self.session = session or _frozen_environment(make_session(), self.base_url)
        self.requests_made = 0
        self._queue_key = key_for(self.token, "alstyle")
        share, least = SAFETY_MARGIN
        self._slot = self.min_interval + max(least, self.min_interval * share) if self.min_interval > 0 else 0.0

    # --- transport ----------------------------------------------------------------------------------
    def get(self, method: str, **params):
        """GET /api/<method>: the decoded JSON, after retries; AlstyleError when it cannot be had.
        Every attempt first takes its turn in the shared per-token rate slot."""
        if not self.token:
            raise AlstyleError(_("Al-Style token is not configured"), diagnosis=_("set ALSTYLE_TOKEN"))
        query = {"access-token": self.token, **{k: v for k, v in params.items() if v is not None}}
        attempts = 0

        def attempt():
            nonlocal attempts
            attempts += 1
            self.requests_made += 1
            return self._send(method, query)

        try:
            return self.retry.call(attempt, before_attempt=lambda: wait_turn(self._queue_key, self._slot), log=log)
        except AlstyleError as failure:
            if not failure.retryable:
                raise
            raise AlstyleError(
                _("Al-Style %(method)s failed after %(n)d attempts: %(error)s")
                % {"method": method, "n": attempts, "error": failure.args[0]},
                retryable=True,
                status=failure.status,
                diagnosis=_("the service may be down or throttling us; the next run will try again"),
            ) from None

    def _send(self, method: str, query: dict):
        """One request; AlstyleError (`retryable`, with the interval the server stated as
        `retry_after`) when it fails."""
        try:
            response = self.session.get(self.base_url + method, params=query, timeout=timeouts())
        except requests.Timeout:
            raise self._transient(method, _("timed out")) from None
        except requests.RequestException as exc:  # its text holds the URL, token included: mask, never chain
            raise self._transient(method, mask(f"{type(exc).__name__}: {exc}")[:300]) from None
        status = response.status_code
        if status == 401:
            raise AlstyleError(
                _("Al-Style rejected the access token (HTTP 401)"),
                status=401,
                diagnosis=_("check ALSTYLE_TOKEN in the reseller cabinet"),
            )
        try:
            payload = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            payload = None
        if status in THROTTLE_STATUSES:
            raise self._transient(
                method,
                _("throttled (HTTP %(status)d)") % {"status": status},
                status=status,
                wait=_stated_interval(payload) or self.min_interval,
            )
        if status in RETRYABLE_STATUSES:
            raise self._transient(method, _("server error (HTTP %(status)d)") % {"status": status}, status=status)
        if status != 200:
            raise AlstyleError(
                _("Al-Style %(method)s answered HTTP %(status)d") % {"method": method, "status": status},
                status=status,
                diagnosis=_("the request was refused; it will not be retried"),
            )
        if payload is None:
            raise self._transient(method, _("the answer is not valid JSON"), status=status)
        if isinstance(payload, dict) and payload.get("success") is False:
            wait = _stated_interval(payload)
            if wait is None:
                raise AlstyleError(
                    _("Al-Style %(method)s refused: %(message)s")
                    % {"method": method, "message": str(payload.get("message", ""))[:300]}
                )
            raise self._transient(
                method, _("throttled (interval %(wait)s s)") % {"wait": wait}, wait=wait or self.min_interval
            )
        return payload

    @staticmethod
    def _transient(method: str, error: str, *, status: int | None = None, wait: float | None = None) -> AlstyleError:
        """A failure worth another attempt; `wait`: the interval the server asked for."""
        return AlstyleError(
            _("Al-Style %(method)s: %(error)s") % {"method": method, "error": error},
            retryable=True,
            status=status,
            retry_after=wait,
        )

    # --- methods ------------------------------------------------------------------------------------
    def categories(self) -> list[CategoryData]:
        rows = self.get("categories")
        if not isinstance(rows, list):
            raise AlstyleError(_("unexpected answer to %(method)s") % {"method": "categories"})
        result = []
        for row in rows:
            try:
                result.append(normalize.category(row))
            except (KeyError, TypeError, ValueError):
                log.warning("Al-Style category skipped: unreadable row")
        return result

    def brands(self) -> list[BrandData]:
        payload = self.get("brands")
        rows = payload.get("data") if isinstance(payload, dict) else payload
        if not isinstance(rows, list):
            raise AlstyleError(_("unexpected answer to %(method)s") % {"method": "brands"})
        return [normalize.brand(row) for row in rows if isinstance(row, dict) and row.get("name")]

    def product_pages(self, fields=IMPORT_FIELDS, limit: int = PAGE_LIMIT):
        """Every product, a page at a time, each read when the caller asks for it. Steps by the
        limit the server says it applied.

        Not read ahead: the next request may not leave before its turn (one every
        ALSTYLE_MIN_INTERVAL, 5 s), and working on a page takes some 30 ms, so a page read ahead
        would arrive no sooner; it would only hold a second page (about a megabyte), a thread and
        its database connection."""
        offset, previous = 0, None
        while True:
            payload = self.get("elements-pagination", limit=limit, offset=offset, additional_fields=",".join(fields))
            if not isinstance(payload, dict) or not isinstance(payload.get("elements"), list):
                raise AlstyleError(_("unexpected answer to %(method)s") % {"method": "elements-pagination"})
            paging = payload.get("pagination") or {}
            page = ProductPage(
                products=[],
                total_count=normalize.optional_int(paging.get("totalCount")) or 0,
                total_pages=normalize.optional_int(paging.get("totalPages")) or 0,
                current_page=normalize.optional_int(paging.get("currentPage")) or 0,
                limit=normalize.optional_int(paging.get("limit")) or len(payload["elements"]),
                offset=normalize.optional_int(paging.get("offset")) or offset,
            )
            for raw in payload["elements"]:
                try:
                    if not isinstance(raw, dict):
                        raise SkipProduct(normalize.NOT_AN_OBJECT)
                    page.products.append(SupplierProduct(raw))
                except SkipProduct as skip:
                    page.skipped.append(skip)
            # A server that ignores `offset` answers the same page again and again: without a
            # total (nothing else would end the loop) it would be asked forever, a rate slot each.
            articles = [item.article for item in page.products]
            if articles and articles == previous:
                log.warning("elements-pagination: offset %s repeated the previous page; stopping", offset)
                return
            previous = articles
            yield page
            offset = page.offset + page.limit
            # Without a total (no pagination block) read on until an empty page: the limit the
            # server applied is unknown then, so a short page proves nothing.
            if not payload["elements"] or not page.limit or (page.total_count and offset >= page.total_count):
                return

    def quantity_price(self) -> tuple[list[PriceStockData], list[SkipProduct]]:
        """Prices and stock of the whole catalog, in one request (no `article`)."""
        payload = self.get("quantity-price")
        if not isinstance(payload, dict):
            raise AlstyleError(_("unexpected answer to %(method)s") % {"method": "quantity-price"})
        entries, skipped = [], []
        for key, raw in payload.items():
            try:
                entries.append(normalize.price_stock(key, raw))
            except SkipProduct as skip:
                skipped.append(skip)
        return entries, skipped

    def properties(self, *, categories=(), articles=()):
        """Product properties (`properties` method) of these categories or articles, a page at a
        time: yields {article: {property name: value}}. Steps by the elements received; stops
        at the total the server states, at an empty page, or at a page that brings no article not
        seen before (a server that ignores `offset` would otherwise be asked the same page again
        up to total/limit times, each request a rate-limit slot)."""
        offset, seen = 0, set()
        while True:
            params = {"limit": PROPERTIES_LIMIT, "offset": offset}
            if categories:
                params["category"] = ",".join(str(int(c)) for c in categories)
            if articles:
                params["article"] = ",".join(str(int(a)) for a in articles)
            payload = self.get("properties", **params)
            if not isinstance(payload, dict) or not isinstance(payload.get("elements"), list):
                raise AlstyleError(_("unexpected answer to %(method)s") % {"method": "properties"})
            page = {}
            for raw in payload["elements"]:
                try:
                    number, values = normalize.properties(raw)
                except SkipProduct:
                    continue
                page[number] = values
            if payload["elements"] and page and page.keys() <= seen:
                log.warning("properties: offset %s repeated articles already read; stopping", offset)
                return
            seen.update(page)
            yield page
            total = normalize.optional_int((payload.get("pagination") or {}).get("totalCount"))
            offset += len(payload["elements"])
            if not payload["elements"] or (total is not None and offset >= total):
                return
