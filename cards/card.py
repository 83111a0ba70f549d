"""One product's Kaspi card, and why it is not ready. Pure functions: no database, no network.

    spec = CategorySpec(kaspi_code=..., rules=(AttributeRule(...), ...), ...)   # selectors build it
    card, reasons = build_card(row, sku, spec, properties)                     # reasons: [] = ready

The card holds exactly the keys of Kaspi's schema (`cards/schema/kaspi_import.schema.json`):
`sku`; `title` (the product name, control characters removed, whitespace collapsed, without
the leading word(s) that name the Kaspi category — Kaspi's guide: no prefix such as "Смартфон",
see `title_without_category` — ≤ 1024);
`brand` (≤ 256); `category` (the mapped `Master - …` code); `description` (plain text, HTML tags
removed, cut to ≤ 1024 at a word, left out when empty); `weight` (a decimal string, when known);
`attributes` ([{code, value}] in the JSON type Kaspi declares, see cards.convert); `images`
([{url}], http/https, no duplicates, at least one). A card with no reasons is checked against the
schema itself last; what the schema refuses becomes a reason, so nothing invalid is ever sent.

A reason is a dict {"code": ..., **details}; `cards.reasons.describe()` says it in words.
"""

import functools
import hashlib
import html
import json
import os.path
import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import NamedTuple

import orjson

from catalog.text import clean_text

from .convert import ConversionError, convert

SCHEMA_PATH = Path(__file__).with_name("schema") / "kaspi_import.schema.json"
SCHEMA = json.loads(SCHEMA_PATH.read_text())
MAX_BATCH = SCHEMA["maxItems"]
_ITEM = SCHEMA["items"]["properties"]
MAX_TITLE = _ITEM["title"]["maxLength"]
MAX_BRAND = _ITEM["brand"]["maxLength"]
MAX_DESCRIPTION = _ITEM["description"]["maxLength"]
MAX_SKU = _ITEM["sku"]["maxLength"]
MAX_URL = _ITEM["images"]["items"]["properties"]["url"]["maxLength"]
MAX_ATTRIBUTES = _ITEM["attributes"]["maxItems"]
_TAG = re.compile(r"<[^>]*>")
_HTTP = ("http://", "https://")


class ProductRow(NamedTuple):
    id: int
    article: int
    name: str
    brand: str | None
    description: str
    weight: Decimal | None
    images: list
    is_active: bool
    category_id: int | None


@dataclass(frozen=True, slots=True)
class AttributeRule:
    """How one Kaspi attribute is filled: source "property" (by name), "value" (fixed) or ""
    (not mapped: left empty, which only an optional attribute may be)."""

    code: str
    name: str
    kind: str
    multi_valued: bool
    mandatory: bool
    source: str = ""
    property_name: str = ""
    fixed: object = None
    allowed: dict = field(default_factory=dict)  # {enum_key(name or code): code}
    names: tuple = ()  # allowed values as staff read them


@dataclass(frozen=True)
class CategorySpec:
    kaspi_code: str
    title: str = ""  # the Kaspi category's title ("Смартфоны"): its word is no part of a card's title
    listed: bool = True  # Kaspi listed the category in its last refresh
    attributes_loaded: bool = True
    rules: tuple = ()
    # {(attribute code, supplier text): (True, value) or (False, reason or None)}: products share
    # values, so each is converted once per spec (one readiness run or upload)
    conversions: dict = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def needs_properties(self) -> bool:
        return any(rule.source == "property" for rule in self.rules)


def reason(code: str, **details) -> dict:
    return {"code": code, **details}


def plain_description(value) -> str:
    """HTML tags removed, entities decoded, whitespace collapsed, cut at a word to ≤ 1024."""
    if not value:
        return ""
    text = _TAG.sub(" ", value) if "<" in value else value
    text = clean_text(html.unescape(text) if "&" in text else text)
    if len(text) <= MAX_DESCRIPTION:
        return text
    cut = text[: MAX_DESCRIPTION - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > MAX_DESCRIPTION // 2 else cut).rstrip(" ,.;:") + "…"


def _same_word(word: str, category_word: str) -> bool:
    """One word up to its ending: a shared start of at least 3 letters and at most 2 more letters
    on either side, any case, ё as е (Смартфон/Смартфоны, Тетрадь/Тетради, Мышь/Мыши, Чехол/Чехлы)."""
    a = word.rstrip(",:;").casefold().replace("ё", "е")
    b = category_word.casefold().replace("ё", "е")
    if not (a.isalpha() and b.isalpha()):
        return False
    shared = len(os.path.commonprefix([a, b]))
    return shared >= 3 and len(a) - shared <= 2 and len(b) - shared <= 2


def title_without_category(title: str, category_title: str) -> str:
    """The title without the leading words that repeat the Kaspi category's title word by word
    (Kaspi's guide: a title without a category prefix such as "Смартфон"; Kaspi shows the
    category's word itself): "Смартфон Apple iPhone 15" in "Смартфоны" is "Apple iPhone 15",
    "Блок питания FSP 500W" in "Блоки питания" is "FSP 500W". A title is never left empty."""
    words, category = title.split(" "), category_title.split()
    n = 0
    while n < len(category) and n < len(words) - 1 and _same_word(words[n], category[n]):
        n += 1
    return " ".join(words[n:]) if n else title


def image_urls(images) -> list[str]:
    urls: list[str] = []
    for url in images or ():
        if type(url) is str and url.startswith(_HTTP) and len(url) <= MAX_URL and url not in urls:
            urls.append(url)
    return urls


def weight_text(weight: Decimal | None) -> str:
    if weight is None or weight <= 0:
        return ""
    return format(weight.normalize(), "f")


def _converted(rule: AttributeRule, raw) -> tuple[bool, object]:
    """(True, the value in Kaspi's type) or (False, the reason it has none, or None when an
    optional attribute is left empty)."""
    try:
        return True, convert(rule.kind, rule.multi_valued, raw, rule.allowed, rule.names)
    except ConversionError as exc:
        if exc.kind == "empty":  # None, blank text, an empty list
            if rule.mandatory:
                return False, reason("mandatory_missing", attribute=rule.name, property=rule.property_name)
            return False, None
        details = {"attribute": rule.name, "value": str(exc.value)[:200]}
        if exc.kind == "enum":
            details["allowed"] = list(exc.allowed[:20])
            details["more"] = max(0, len(exc.allowed) - 20)
        return False, reason(exc.kind, **details)


def attribute_values(spec: CategorySpec, properties: dict | None, reasons: list) -> list[dict]:
    values = []
    if properties is None and spec.needs_properties:
        reasons.append(reason("properties_not_loaded"))
    conversions = spec.conversions
    for rule in spec.rules:
        if rule.source == "property":
            if properties is None:
                continue
            raw = properties.get(rule.property_name)
        else:
            raw = rule.fixed if rule.source == "value" else None
        if type(raw) is str:  # supplier text: converted once per spec
            key = (rule.code, raw)
            outcome = conversions.get(key)
            if outcome is None:
                outcome = conversions[key] = _converted(rule, raw)
        else:
            outcome = _converted(rule, raw)
        ok, value = outcome
        if ok:
            values.append({"code": rule.code, "value": value})
        elif value is not None:
            reasons.append(dict(value))
    return values


def build_card(row: ProductRow, sku: str, spec: CategorySpec, properties: dict | None) -> tuple[dict, list]:
    """The card of one product and the reasons it is not ready ([] = ready)."""
    reasons: list = []
    if not row.is_active:
        reasons.append(reason("inactive"))
    if not spec.listed:
        reasons.append(reason("category_not_listed", category=spec.kaspi_code))
    if not spec.attributes_loaded:
        reasons.append(reason("attributes_not_loaded", category=spec.kaspi_code))
    if not sku or len(sku) > MAX_SKU:
        reasons.append(reason("bad_sku", sku=sku))
    title = title_without_category(clean_text(row.name), spec.title)
    if not title:
        reasons.append(reason("no_title"))
    elif len(title) > MAX_TITLE:
        reasons.append(reason("title_too_long", length=len(title), limit=MAX_TITLE))
    brand = clean_text(row.brand or "")
    if not brand:
        reasons.append(reason("no_brand"))
    elif len(brand) > MAX_BRAND:
        reasons.append(reason("brand_too_long", length=len(brand), limit=MAX_BRAND))
    card = {"sku": sku, "title": title, "brand": brand, "category": spec.kaspi_code}
    description = plain_description(row.description)
    if description:
        card["description"] = description
    weight = weight_text(row.weight)
    if weight:
        card["weight"] = weight
    card["attributes"] = attribute_values(spec, properties, reasons)
    if spec.attributes_loaded and not spec.rules:  # Kaspi declares none: not a leaf category
        reasons.append(reason("category_without_attributes", category=spec.kaspi_code))
    elif not card["attributes"] and not any(
        r["code"] in ("properties_not_loaded", "attributes_not_loaded") for r in reasons
    ):
        reasons.append(reason("no_attributes"))
    elif len(card["attributes"]) > MAX_ATTRIBUTES:
        reasons.append(reason("too_many_attributes", count=len(card["attributes"]), limit=MAX_ATTRIBUTES))
    urls = image_urls(row.images)
    if not urls:
        reasons.append(reason("no_image"))
    card["images"] = [{"url": url} for url in urls]
    if not reasons:
        problem = schema_problem(card)
        if problem:
            reasons.append(reason("schema", message=problem))
    return card, reasons


@functools.cache
def _card_validator():
    """Kaspi's schema compiled once, on first use (~3 µs a card): not by every process that loads
    the cards app."""
    import jsonschema_rs

    return jsonschema_rs.Draft4Validator(SCHEMA["items"])


def schema_problem(card: dict) -> str:
    """What Kaspi's schema says is wrong with one card ("" when it is valid): the first error,
    where it is ("card.images[0].url") and what."""
    validator = _card_validator()
    if validator.is_valid(card):
        return ""
    error = next(validator.iter_errors(card))
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.instance_path)
    return f"card{where}: {error.message}"[:500]


def card_hash(card: dict) -> str:
    return hashlib.md5(orjson.dumps(card), usedforsecurity=False).hexdigest()
