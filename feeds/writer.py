"""Streaming writer of the Kaspi price list.

lxml's incremental writer (`etree.xmlfile`, unbuffered) writes the document: declaration, root
with the namespace and date, company, merchantid, the offers element, and every brand (lxml
escapes `&`, `<`, `>`; control characters are removed first, lxml refuses them). Each offer is one
line of bytes joined in one call: its name escaped by `escape_text` exactly as lxml would (a call
into lxml per offer cost 15 % of the writing), the fixed markup around it (`<offer sku="...">`,
availabilities, prices: digits and validated codes only), the brand and the availabilities block
rendered once per distinct brand and stock combination. Nothing is held in memory but one batch of
offers and those small caches: 50,000 offers take about 0.2 s of CPU (element-by-element lxml
takes 1.3–2 s on the same machine).

Every byte goes through a `Sink`: the file, its SHA-256, the SHA-256 of everything after the
root's start tag (the offers, without the date: equal means nothing changed), and the schema
validator (feeds/validation.py: a thread checks each batch of BATCH offers while the next is
written).

One bad offer never fails the whole price list. Each offer's values are checked before it is
written, by the schema's own rules (SKU 1-20 Latin letters and digits and unique, a name, prices
whole tenge 1..MAX_TENGE, stock counts 0..MAX_COUNT): an offer that fails is left out and listed
in `WriteResult.dropped` with the reason. Should the schema still refuse an offer the checks let
through, its line is reported (`schema_bad_lines`) and `drop_offer_lines` takes it out of the
written file. Only what concerns the whole document (no store configured, no offers, an error in
the head or the tail) makes it invalid.
"""

import hashlib
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, NamedTuple

from django.utils import timezone
from django.utils.translation import gettext as _

from catalog import reservations
from catalog.models import StockQualifier
from catalog.normalize import promised_stock
from catalog.sku import is_valid_sku, merchant_sku
from catalog.text import clean_text
from kaspisync.gcpause import gc_paused

if TYPE_CHECKING:
    from .validation import WriterValidator

# lxml (with the validator, some 4 MB a process) is imported by the functions that write: not by
# every process that loads the feeds app (its signal receivers) or `clean_text` (the cards).

NS = "kaspiShopping"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_LOCATION = "kaspiShopping http://kaspi.kz/kaspishopping.xsd"
XML_DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>\n'
MAX_REPORTED = 50  # document errors listed one by one; the total is always counted
MAX_DROPPED_LISTED = 100  # offers left out listed one by one (SKU and why); all are counted
MAX_TENGE = 999_999_999_999  # the schema's price: 1-12 digits
MAX_COUNT = 9_999_999_999  # the schema's stockCount: 1-10 digits
LESS_THAN = StockQualifier.LESS_THAN.value
BATCH = 500  # offers per flush to the file, the hashes and the validator (about 150 KB)


def feed_date(now: datetime | None = None) -> str:
    """The root's date attribute: local (Asia/Almaty) time."""
    return timezone.localtime(now or timezone.now()).strftime("%Y-%m-%d %H:%M")


# --- configuration ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Store:
    store_id: str
    pre_order: int | None = None
    warehouses: tuple[str, ...] = ()


@dataclass(frozen=True)
class City:
    city_id: str
    offset: int = 0
    percent: Decimal = Decimal(0)
    overrides: dict = field(default_factory=dict)  # {product id: price}

    def price(self, product_id: int, sale_price: int) -> int:
        override = self.overrides.get(product_id)
        if override is not None:
            return override
        if self.percent:
            sale_price = int((sale_price * (100 + self.percent) / 100).quantize(Decimal(1), ROUND_HALF_UP))
        return sale_price + self.offset


@dataclass(frozen=True)
class FeedConfig:
    company: str
    merchant_id: str
    sku_prefix: str = "AS"
    stock_threshold: int = 1
    stores: tuple[Store, ...] = (Store("PP1"),)
    cities: tuple[City, ...] = ()
    retired_stores: tuple[str, ...] = ()  # store codes no longer sold from: available="no" in every offer


# --- offers -----------------------------------------------------------------------------------
class Offer(NamedTuple):
    """One offer's values. `stocks`: per configured store, the count published as available
    (0: available="no"). `price` is an int, or a tuple of (city id, price) when cities are set."""

    sku: str
    model: str
    brand: str
    stocks: tuple[int, ...]
    price: int | tuple
    article: int | None = None


def offers_from_products(products, config: FeedConfig, demands=None, held=None):
    """Publishable product dicts (catalog.selectors.publishable_products) -> Offers.

    `demands`: {product id: [catalog.reservations.Demand]}, the stock Kaspi orders hold; a store
    then offers what `catalog.reservations.offered` leaves (the same rule as the lines below,
    which are its fast path for a product nothing holds). `held`: a dict that receives
    {sku: stocks without the reservation} of every offer whose stocks the reservation lowered."""
    prefix, threshold = config.sku_prefix, max(config.stock_threshold, 1)
    cities = config.cities
    # Per store: the warehouse codes it sells from, or None for the total stock.
    sources = [s.warehouses or None for s in config.stores]
    mapped = any(sources)
    store_warehouses = {s.store_id: s.warehouses for s in config.stores}
    demands = demands or {}
    prefer_of: dict = {}  # a point of service's warehouses, worked out once per build
    new_offer = tuple.__new__  # Offer(...) runs Python code for its defaults: 5x slower
    for p in products:
        minimum = p["publish_min_stock"]
        if minimum < threshold:
            minimum = threshold
        total = p["stock"]
        if p["stock_qualifier"] == LESS_THAN:
            total = promised_stock(total, LESS_THAN)
        if mapped:
            by_warehouse = p["warehouse_stock"] or {}
            counts = []
            for codes in sources:
                if codes is None:
                    count = total
                else:
                    count = 0
                    for code in codes:
                        count += by_warehouse.get(code, 0)
                counts.append(count if count >= minimum else 0)
            stocks = tuple(counts)
        else:
            stocks = (total if total >= minimum else 0,) * len(sources)
        sku = merchant_sku(p["article"], prefix)
        items = demands.get(p["id"])
        if items and any(stocks):  # (nothing offered anywhere: nothing for a reservation to lower)
            warehouses = p["warehouse_stock"] or {}
            reservation = reservations.reserve(total, warehouses, items, store_warehouses, prefer_of)
            counts = reservations.offered(total, warehouses, reservation, store_warehouses, minimum)
            reserved = tuple(counts[s.store_id] for s in config.stores)
            if reserved != stocks:
                if held is not None:
                    held[sku] = stocks
                stocks = reserved
        sale = p["sale_price"]
        price = tuple([(c.city_id, c.price(p["id"], sale)) for c in cities]) if cities else sale
        yield new_offer(Offer, (sku, p["name"], p["brand__name"] or "", stocks, price, p["article"]))


# --- writing ----------------------------------------------------------------------------------
class Sink:
    """File-like target of the writer: buffers, hashes, feeds the validator, writes the file.
    `write` is the buffer's own `append` (the hot path is a C call); the writer calls `flush()`."""

    def __init__(self, fh, validator: "WriterValidator | None"):
        self._fh, self._validator = fh, validator
        self._buf: list[bytes] = []
        self.write = self._buf.append
        self.size = 0
        self.sha256 = hashlib.sha256()
        self.offers_sha256 = None

    def flush(self) -> None:
        if not self._buf:
            return
        data = b"".join(self._buf)
        self._buf.clear()
        self.size += len(data)
        self._fh.write(data)
        self.sha256.update(data)
        if self.offers_sha256 is not None:
            self.offers_sha256.update(data)
        if self._validator is not None:
            self._validator.feed(data)

    def start_offers_digest(self) -> None:
        self.flush()
        self.offers_sha256 = hashlib.sha256()
        self.offers_from = self.size

    def begin_offers(self) -> None:
        """What was written is the head; every flush() from now on ends after a whole offer."""
        self.flush()
        if self._validator is not None:
            self._validator.begin_offers()

    def end_offers(self) -> None:
        self.flush()
        if self._validator is not None:
            self._validator.end_offers()


@dataclass
class WriteResult:
    offers: int = 0
    available_offers: int = 0
    size: int = 0
    sha256: str = ""
    offers_sha256: str = ""
    errors: list = field(default_factory=list)  # errors of the whole document (it is invalid)
    error_count: int = 0
    dropped: list = field(default_factory=list)  # [{"sku", "article", "reason"}] of offers left out
    dropped_count: int = 0
    schema_bad_lines: dict = field(default_factory=dict)  # {line: schema message} of offers the schema refused
    offers_digest_from: int = 0  # byte offset where `offers_sha256` starts (after the root's start tag)
    snapshot: dict = field(default_factory=dict)  # {sku: [price, [stock per store]]}: for diffs
    validator_cpu: float = 0.0  # CPU time of the validating thread (for the benchmark)

    @property
    def valid(self) -> bool:
        return self.error_count == 0

    def error(self, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED:
            self.errors.append(message)

    def drop(self, sku: str, article, reason: str) -> None:
        """Leave one offer out of the price list, saying why."""
        self.dropped_count += 1
        if len(self.dropped) < MAX_DROPPED_LISTED:
            self.dropped.append({"sku": sku, "article": article, "reason": str(reason)})


def _availabilities(stores: tuple[Store, ...], stocks: tuple[int, ...], retired: tuple[str, ...] = ()) -> bytes:
    """One availability per store; then one available="no" per retired store code (Kaspi stops
    selling at a store only when the price list lists it so: leaving it out is not enough)."""
    parts = [b"<availabilities>"]
    for store, count in zip(stores, stocks):
        if count:
            pre = b' preOrder="%d"' % store.pre_order if store.pre_order else b""
            parts.append(
                b'<availability available="yes" storeId="%s" stockCount="%d"%s/>'
                % (store.store_id.encode(), count, pre)
            )
        else:
            parts.append(b'<availability available="no" storeId="%s"/>' % store.store_id.encode())
    for code in retired:
        parts.append(b'<availability available="no" storeId="%s"/>' % code.encode())
    parts.append(b"</availabilities>")
    return b"".join(parts)


def escape_text(text: str) -> str:
    """Character data as libxml2 writes it (lxml's `xmlfile.write`): `&`, `<` and `>` escaped,
    every other character as it is. For text through `clean_text` only (no control characters and
    no carriage return, which libxml2 writes as `&#13;`); tests/feeds compares every code point."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _brand(name: str) -> bytes:
    """`<brand>...</brand>` escaped by lxml (once per brand: the writer caches it), or nothing."""
    name = clean_text(name)
    if not name:
        return b""
    from lxml import etree

    element = etree.Element("brand")
    element.text = name
    return etree.tostring(element, encoding="utf-8")


def write_feed(
    fh,
    offers,
    config: FeedConfig,
    *,
    now: datetime | None = None,
    validate: bool = True,
    validator: "WriterValidator | None" = None,
) -> WriteResult:
    """Write the price list for `offers` to the binary file `fh`; validate while writing
    (`validator`: a WriterValidator of one's own, e.g. with threads=0)."""
    if validate and validator is None:
        from .validation import WriterValidator

        validator = WriterValidator()
    with gc_paused():
        return _write_feed(fh, offers, config, now, validator if validate else None)


def _write_feed(fh, offers, config: FeedConfig, now: datetime | None, validator: "WriterValidator | None"):
    from lxml import etree

    result = WriteResult()
    sink = Sink(fh, validator)
    raw = sink.write
    if not config.stores:
        result.error(_("No Kaspi store is configured: every offer needs at least one availability."))
    stores = config.stores
    active = {s.store_id for s in stores}
    retired = tuple(dict.fromkeys(c for c in config.retired_stores if c not in active))
    blocks: dict[tuple, tuple[bytes, bool, bool]] = {}  # stocks -> (availabilities, any available, counts valid)
    brands: dict[str, bytes] = {}
    seen: dict[str, int | None] = {}
    snapshot = result.snapshot
    drop = result.drop
    count = available = 0
    try:
        raw(XML_DECLARATION)  # as in Kaspi's documentation (lxml would use single quotes)
        with etree.xmlfile(sink, encoding="utf-8", buffered=False) as xf:
            root_attrs = {"date": feed_date(now), f"{{{XSI}}}schemaLocation": SCHEMA_LOCATION}
            with xf.element(f"{{{NS}}}kaspi_catalog", root_attrs, nsmap={None: NS, "xsi": XSI}):
                sink.start_offers_digest()
                for tag, text in (("company", config.company), ("merchantid", config.merchant_id)):
                    with xf.element(f"{{{NS}}}{tag}"):
                        xf.write(clean_text(text))
                with xf.element(f"{{{NS}}}offers"):
                    raw(b"\n")  # one offer per line: readable and diffable when downloaded
                    sink.begin_offers()
                    batch_end = BATCH
                    for sku, model, brand, stocks, price, article in offers:
                        if sku in seen or not is_valid_sku(sku):
                            drop(sku, article, _sku_problem(sku, article, seen))
                            continue
                        model = clean_text(model)
                        if not model:
                            drop(sku, article, _("SKU %(sku)s has no name (model).") % {"sku": sku})
                            continue
                        block = blocks.get(stocks)
                        if block is None:
                            block = blocks[stocks] = (
                                _availabilities(stores, stocks, retired),
                                any(stocks),
                                all(type(n) is int and 0 <= n <= MAX_COUNT for n in stocks),
                            )
                        if not block[2]:
                            drop(sku, article, _stock_problem(sku, stocks))
                            continue
                        if type(price) is int and 0 < price <= MAX_TENGE:
                            tail = b"<price>%d</price></offer>\n" % price
                        elif type(price) is tuple and price and all(_tenge_ok(p) for _, p in price):
                            tail = _cityprices(price)
                            price = [p for _, p in price]
                        else:
                            drop(sku, article, _price_problem(sku, price))
                            continue
                        seen[sku] = article
                        count += 1
                        if block[1]:
                            available += 1
                        brand_xml = brands.get(brand)
                        if brand_xml is None:
                            brand_xml = brands[brand] = _brand(brand)
                        if "&" in model or "<" in model or ">" in model:
                            model = escape_text(model)
                        raw(
                            b"".join(
                                (
                                    b'<offer sku="',
                                    sku.encode(),
                                    b'"><model>',
                                    model.encode(),
                                    b"</model>",
                                    brand_xml,
                                    block[0],
                                    tail,
                                )
                            )
                        )
                        snapshot[sku] = (price, stocks)
                        if count == batch_end:
                            sink.flush()
                            batch_end += BATCH
                    sink.end_offers()
            sink.flush()
    finally:
        if validator is not None:
            schema_errors = validator.finish()
            result.validator_cpu = validator.thread_cpu_seconds
        else:
            schema_errors = []
    if schema_errors:
        _sort_schema_errors(result, validator, schema_errors)
    if count == 0:
        result.error(_("The price list has no offers."))
    result.offers, result.available_offers = count, available
    result.size, result.sha256 = sink.size, sink.sha256.hexdigest()
    result.offers_sha256, result.offers_digest_from = sink.offers_sha256.hexdigest(), sink.offers_from
    return result


def _sort_schema_errors(result: WriteResult, validator: "WriterValidator", messages: list[str]) -> None:
    """Errors only on the lines of single offers take those offers out (`schema_bad_lines`). Any
    other error (in the head or the tail, a validating thread lost) makes the document invalid:
    then every schema error is reported and nothing is taken out."""
    offer_lines = validator.offer_lines_with_errors()
    elsewhere = len(validator.bad_lines) > len(offer_lines) or any(_line_of(m) not in offer_lines for m in messages)
    if elsewhere or result.error_count:
        for message in messages:
            result.error(_("Schema: %(message)s") % {"message": message})
        result.error_count += validator.error_count - len(messages)  # the ones not listed
        return
    described: dict[int, str] = {}
    for message in messages:
        described.setdefault(_line_of(message), message)
    for line in sorted(offer_lines):
        result.schema_bad_lines[line] = described.get(line) or _("line %(line)s: refused by the schema") % {
            "line": line
        }


def _line_of(message: str) -> int | None:
    head, _sep, _rest = message.partition(":")
    number = head.removeprefix("line ")
    return int(number) if number.isdigit() else None


def drop_offer_lines(path: str, result: WriteResult) -> None:
    """Take the offers on `result.schema_bad_lines` out of the file at `path` (one offer per line),
    listing each as dropped with the schema's message; the hashes, size and counts follow."""
    lines = result.schema_bad_lines
    whole, offers_part = hashlib.sha256(), hashlib.sha256()
    size = 0
    temporary = f"{path}.part"
    with open(path, "rb") as src, open(temporary, "wb") as dst:
        for number, line in enumerate(src, start=1):
            if number in lines:
                sku = _SKU_ATTRIBUTE.search(line)
                sku = sku.group(1).decode() if sku else ""
                previous = result.snapshot.pop(sku, None)
                result.offers -= 1
                result.available_offers -= b'available="yes"' in line
                result.drop(sku, None, lines[number])
                if previous is None:
                    result.error(_("Line %(line)s holds no offer of this build.") % {"line": number})
                continue
            dst.write(line)
            whole.update(line)
            if size + len(line) > result.offers_digest_from:
                offers_part.update(line[max(result.offers_digest_from - size, 0) :])
            size += len(line)
    os.replace(temporary, path)
    result.size, result.sha256, result.offers_sha256 = size, whole.hexdigest(), offers_part.hexdigest()
    result.schema_bad_lines = {}
    if result.offers == 0:
        result.error(_("The price list has no offers."))


_SKU_ATTRIBUTE = re.compile(rb'<offer sku="([^"]*)"')


def _sku_problem(sku: str, article, seen: dict) -> str:
    if sku in seen:
        return _("SKU %(sku)s of article %(article)s collides with article %(other)s.") % {
            "sku": sku,
            "article": article,
            "other": seen[sku],
        }
    return _('SKU "%(sku)s" is not 1–20 Latin letters and digits.') % {"sku": sku}


def _tenge_ok(price) -> bool:
    return type(price) is int and 0 < price <= MAX_TENGE


def _price_problem(sku: str, price) -> str:
    if type(price) is tuple:
        price = ", ".join(f"{city}: {p}" for city, p in price) or "—"
    return _("SKU %(sku)s has price %(price)s (whole tenge from 1 to %(max)s expected).") % {
        "sku": sku,
        "price": price,
        "max": MAX_TENGE,
    }


def _stock_problem(sku: str, stocks) -> str:
    return _("SKU %(sku)s has a stock count out of range: %(counts)s.") % {
        "sku": sku,
        "counts": ", ".join(map(str, stocks)),
    }


def _cityprices(prices: tuple) -> bytes:
    parts = [b"<cityprices>"]
    for city_id, price in prices:
        parts.append(b'<cityprice cityId="%s">%d</cityprice>' % (city_id.encode(), price))
    parts.append(b"</cityprices></offer>\n")
    return b"".join(parts)
