"""Al-Style payloads -> typed values, once, at the client boundary.

The rest of the code never sees the supplier's raw strings. The rules:
- `quantity`: an int, a numeric string ("7"), or a bound (">50", ">100", "<10"). Stored as the
  supplier's number plus a qualifier: ">50" -> (50, ">"), "<10" -> (10, "<") meaning "some, fewer
  than 10"; `StockQualifier` says how to read it. Per-warehouse stock is stored as the number that
  can be promised: exact and ">n" -> n, "<n" -> 1 (at least one), but "<1" (fewer than one) -> 0.
- `price1` (dealer price): 1 is "price on request" and 9 999 999 a placeholder: both leave the
  product without a dealer price and with the reason it is not sellable. No/zero/garbage price:
  `no_price`. `price2` (retail) and `rrp` equal to 1 or the placeholder mean "none".
- Numbers that arrive as strings ("12345", "12 345", "12345.00") are read as numbers.
- Sane bounds: a price (dealer, retail, RRP, markdown) is 0..MAX_PRICE tenge, a stock (total, per
  warehouse, markdown) 0..MAX_STOCK pieces. A number outside them (negative, 10^30, 1e30) is
  plainly wrong: it is never stored (the price becomes "none", the stock 0), and when it is the
  dealer price, the retail price or a stock, the product is imported but made unsellable with
  the reason (`UnsellableReason.*_OUT_OF_BOUNDS`) and the value as sent (`unsellable_value`).
  Articles and other ids are 1..MAX_ID (what the database's integer columns hold).
- A value that cannot be read as a number ("много", "12,5", [], true) becomes "none" / no stock,
  as a missing one does, but is not silent: every unreadable or out-of-bounds value is listed in
  the record's `problems` (supplier field, kind, the value as sent), and the import counts them
  per field and kind, with examples, on its run.
- Text (names, descriptions) is stored faithfully, `&`, `<`, quotes and control characters
  included, except NUL and lone surrogates, which the databases cannot store. Whoever writes XML
  escapes/filters.
- A product without a valid article or name is skipped with a reason (`SkipProduct`), never a
  crash; a bad value in an optional field becomes "unknown" (None / empty).
"""

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from .models import StockQualifier, SupplierField, UnsellableReason, ValueProblem

# Part of every product's fingerprint (catalog.alstyle.SupplierProduct): change it whenever these
# rules change, and the next full import normalises and writes every product again.
RULES_VERSION = b"3"
PRICE_ON_REQUEST = 1
PLACEHOLDER_PRICE = 9_999_999
MAX_PRICE = 100_000_000  # tenge: no product Al-Style sells costs more; 10^12 is a supplier error
MAX_STOCK = 1_000_000  # pieces, in all or at one warehouse
MAX_ID = 2_147_483_647  # articles, category ids, counts: the largest the integer columns hold
MAX_LEVEL = 32_767  # category depth (a small integer column)
SHOWN_LENGTH = 40  # characters of a bad value kept to show staff
_NUMBER_RE = re.compile(r"^-?\d+(?:\.0*)?$")
_SPACES = str.maketrans("", "", " \u00a0\u202f\t")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL and lone surrogates: no database stores them
_WEIGHT_LIMIT = Decimal("9999999")
_GRAM = Decimal("0.001")
_HTTP = ("http://", "https://")
# Plain strings (not enum members): cheap to compare and to fingerprint.
EXACT, AT_LEAST, LESS_THAN = StockQualifier.EXACT.value, StockQualifier.AT_LEAST.value, StockQualifier.LESS_THAN.value
SELLABLE = UnsellableReason.NONE.value
# Why a record is not stored (SkipProduct.reason, counted in the run's `skipped`; in words:
# kaspisync.display.FACT_LABELS).
BAD_ARTICLE, NOT_AN_OBJECT, NO_NAME = "bad_article", "not_an_object", "no_name"
UNREADABLE, OUT_OF_BOUNDS = ValueProblem.UNREADABLE.value, ValueProblem.OUT_OF_BOUNDS.value
QUANTITY, PRICE1, PRICE2 = SupplierField.QUANTITY.value, SupplierField.PRICE1.value, SupplierField.PRICE2.value
RRP, WAREHOUSES = SupplierField.RRP.value, SupplierField.WAREHOUSES.value
QUANTITY_MARKDOWN, PRICE_MARKDOWN = SupplierField.QUANTITY_MARKDOWN.value, SupplierField.PRICE_MARKDOWN.value
# The out-of-bounds values that make a product unsellable, and the reason recorded (first wins).
_UNSELLABLE_WHEN_OUT_OF_BOUNDS = {
    PRICE1: UnsellableReason.DEALER_PRICE_OUT_OF_BOUNDS.value,
    PRICE2: UnsellableReason.RETAIL_PRICE_OUT_OF_BOUNDS.value,
    QUANTITY: UnsellableReason.STOCK_OUT_OF_BOUNDS.value,
    WAREHOUSES: UnsellableReason.STOCK_OUT_OF_BOUNDS.value,
}


class SkipProduct(ValueError):
    """The supplier sent a product we cannot store; `reason` is counted on the run."""

    def __init__(self, reason: str, article: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.article = article


class OutOfBounds(ValueError):
    """A number that reads fine but cannot be true (negative, or beyond the bounds above)."""


class Problem(NamedTuple):
    """A supplier value that could not be used as sent."""

    field: str  # SupplierField: the supplier's own field name
    kind: str  # ValueProblem: unreadable or out of bounds
    value: str  # the value as sent, shortened to SHOWN_LENGTH characters


@dataclass(frozen=True, slots=True)
class CategoryData:
    id: int
    name: str
    left: int
    right: int
    level: int
    elements: int


@dataclass(frozen=True, slots=True)
class BrandData:
    guid: str
    name: str
    count: int


@dataclass(slots=True)
class ProductData:
    article: int
    article_pn: str
    name: str
    full_name: str
    category_id: int | None
    brand: str
    dealer_price: int | None
    retail_price: int | None
    rrp: int | None
    unsellable_reason: str
    stock: int
    stock_qualifier: str
    warehouse_stock: dict
    is_new: bool
    barcode: str
    weight: Decimal | None
    warranty: str
    description: str
    url: str
    images: list
    markdown_stock: int
    markdown_price: int | None
    unsellable_value: str = ""  # the value as sent, when one out of bounds made it unsellable
    problems: tuple[Problem, ...] = ()  # values that could not be used as sent


@dataclass(frozen=True, slots=True)
class PriceStockData:
    """One entry of `quantity-price`: what the quick refresh updates. `warehouse_stock` is None
    when the entry carries no per-warehouse stock (then the stored one is kept)."""

    article: int
    dealer_price: int | None
    retail_price: int | None
    unsellable_reason: str
    stock: int
    stock_qualifier: str
    warehouse_stock: dict | None = None
    unsellable_value: str = ""
    problems: tuple[Problem, ...] = ()


# --- scalars ------------------------------------------------------------------------------------
def to_int(value) -> int:
    """An int from an int, an integral float or a numeric string; ValueError otherwise."""
    if type(value) is int:
        return value
    if isinstance(value, bool) or value is None:
        raise ValueError(value)
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise ValueError(value)
    text = str(value).translate(_SPACES)
    if _NUMBER_RE.match(text):
        return int(text.split(".", 1)[0])
    raise ValueError(value)


def optional_int(value) -> int | None:
    """A positive int, or None for anything else (0, garbage, missing)."""
    if type(value) is not int:
        try:
            value = to_int(value)
        except ValueError:
            return None
    return value if value > 0 else None


def _bounded(value, high: int) -> int:
    """A position or depth: missing, empty or unreadable (null, "", "x") is 0; below zero is 0,
    above `high` is `high`."""
    try:
        return min(max(to_int(value), 0), high)
    except ValueError:
        return 0


def shown(value) -> str:
    """A supplier value as text for people: as sent, shortened, storable."""
    return text(value if isinstance(value, str) else repr(value), SHOWN_LENGTH)


def _flag(problems: list | None, field: str, kind: str, value) -> None:
    if problems is not None:
        problems.append(Problem(field, kind, shown(value)))


def quantity(value) -> tuple[int, str]:
    """Supplier stock -> (count, qualifier). ValueError on garbage, OutOfBounds (a ValueError)
    below zero or above MAX_STOCK."""
    if type(value) is int:
        count, qualifier = value, EXACT
    elif value is None or value == "":
        return 0, EXACT
    elif isinstance(value, float):
        count, qualifier = to_int(value), EXACT
    else:
        raw = str(value).strip()
        qualifier = EXACT
        if raw[:1] in (">", "<"):
            qualifier = AT_LEAST if raw[0] == ">" else LESS_THAN
            raw = raw[1:]
        count = to_int(raw)
    if not 0 <= count <= MAX_STOCK:
        raise OutOfBounds(value)
    return count, qualifier


def _stock(field: str, value, problems: list | None) -> tuple[int, str]:
    """quantity() that never raises: an unusable value is no stock, and flagged."""
    try:
        return quantity(value)
    except OutOfBounds:
        _flag(problems, field, OUT_OF_BOUNDS, value)
    except ValueError:
        _flag(problems, field, UNREADABLE, value)
    return 0, EXACT


def promised_stock(count: int, qualifier: str) -> int:
    """The quantity that can be promised: "<10" is at least one, ">50" at least fifty; "<1" (and
    "<0") is fewer than one: none."""
    if qualifier == LESS_THAN:
        return 1 if count > 1 else 0
    return count


def dealer_price(value, problems: list | None = None) -> tuple[int | None, str]:
    """price1 -> (price or None, unsellable reason); an unusable value is flagged in `problems`."""
    if value is None or value == "":
        return None, UnsellableReason.NO_PRICE.value
    try:
        price = to_int(value)
    except ValueError:
        _flag(problems, PRICE1, UNREADABLE, value)
        return None, UnsellableReason.NO_PRICE.value
    if price == PRICE_ON_REQUEST:
        return None, UnsellableReason.PRICE_ON_REQUEST.value
    if price == PLACEHOLDER_PRICE:
        return None, UnsellableReason.PLACEHOLDER_PRICE.value
    if price == 0:
        return None, UnsellableReason.NO_PRICE.value
    if not 0 < price <= MAX_PRICE:
        _flag(problems, PRICE1, OUT_OF_BOUNDS, value)
        return None, UnsellableReason.DEALER_PRICE_OUT_OF_BOUNDS.value
    return price, SELLABLE


def other_price(value, field: str = PRICE2, problems: list | None = None) -> int | None:
    """price2 / rrp / markdown price: 0, 1 and the placeholder mean "none"; an unusable value
    is "none" too, flagged in `problems`."""
    if value is None or value == "":
        return None
    try:
        price = to_int(value)
    except ValueError:
        _flag(problems, field, UNREADABLE, value)
        return None
    if not 0 <= price <= MAX_PRICE:
        _flag(problems, field, OUT_OF_BOUNDS, value)
        return None
    return None if price in (0, PRICE_ON_REQUEST, PLACEHOLDER_PRICE) else price


def _markdown_stock(value, problems: list | None) -> int:
    if value is None or value == "":
        return 0
    return _stock(QUANTITY_MARKDOWN, value, problems)[0]


def text(value, max_length: int | None = None) -> str:
    if type(value) is not str:
        if value is None or isinstance(value, (dict, list)):
            return ""
        value = str(value)
    if "\x00" in value or (not value.isascii() and _UNSTORABLE.search(value)):
        value = _UNSTORABLE.sub("", value)
    return value if max_length is None or len(value) <= max_length else value[:max_length]


def weight(value) -> Decimal | None:
    if not value or isinstance(value, (bool, dict, list)):
        return None
    try:
        number = Decimal(str(value).replace(",", ".").strip()).quantize(_GRAM)
    except (InvalidOperation, ValueError):
        return None
    return number if 0 < number < _WEIGHT_LIMIT else None


def images(value) -> list:
    if not value or not isinstance(value, list):
        return []
    return [url for url in value if type(url) is str and url.startswith(_HTTP)]


def warehouse_stock(value, problems: list | None = None) -> dict:
    """{"panfilov": 5, "karaganda": ">10"} -> {"panfilov": 5, "karaganda": 10} (promised counts).
    An unreadable count leaves its warehouse out; one out of bounds counts as 0; both are flagged."""
    if not value:
        return {}
    if not isinstance(value, dict):
        _flag(problems, WAREHOUSES, UNREADABLE, value)
        return {}
    result = {}
    for code, raw in value.items():
        if type(raw) is int and 0 <= raw <= MAX_STOCK:  # the common case, without the general parser
            result[code] = raw
            continue
        try:
            result[str(code)] = promised_stock(*quantity(raw))
        except OutOfBounds:
            _flag(problems, WAREHOUSES, OUT_OF_BOUNDS, f"{code}: {shown(raw)}")
            result[str(code)] = 0
        except ValueError:
            _flag(problems, WAREHOUSES, UNREADABLE, f"{code}: {shown(raw)}")
    return result


# --- records --------------------------------------------------------------------------------------
def article(value) -> int:
    try:
        number = to_int(value)
    except ValueError:
        raise SkipProduct(BAD_ARTICLE) from None
    if not 0 < number <= MAX_ID:
        raise SkipProduct(BAD_ARTICLE)
    return number


def _unsellable(price_reason: str, problems: list) -> tuple[str, str]:
    """(reason, value as sent): the first value out of bounds that makes the product unsellable
    wins over the dealer price's own reason."""
    for problem in problems:
        if problem.kind == OUT_OF_BOUNDS and problem.field in _UNSELLABLE_WHEN_OUT_OF_BOUNDS:
            return _UNSELLABLE_WHEN_OUT_OF_BOUNDS[problem.field], problem.value
    return price_reason, ""


def product(raw) -> ProductData:
    """One product of `elements-pagination` / `element-info`. Raises SkipProduct."""
    if not isinstance(raw, dict):
        raise SkipProduct(NOT_AN_OBJECT)
    number = article(raw.get("article"))
    name = text(raw.get("name"), 1000)
    if not name.strip():
        raise SkipProduct(NO_NAME, number)
    get = raw.get
    problems: list[Problem] = []
    price, price_reason = dealer_price(get("price1"), problems)
    retail = other_price(get("price2"), PRICE2, problems)
    stock, qualifier = _stock(QUANTITY, get("quantity"), problems)
    by_warehouse = warehouse_stock(get("warehouses"), problems)
    reason, value = _unsellable(price_reason, problems)
    url = text(get("url"), 500)
    category_id = optional_int(get("category"))
    return ProductData(
        article=number,
        article_pn=text(get("article_pn"), 255),
        name=name,
        full_name=text(get("full_name")),
        category_id=category_id if category_id is not None and category_id <= MAX_ID else None,
        brand=text(get("brand"), 255).strip(),
        dealer_price=price,
        retail_price=retail,
        rrp=other_price(get("rrp"), RRP, problems),
        unsellable_reason=reason,
        stock=stock,
        stock_qualifier=qualifier,
        warehouse_stock=by_warehouse,
        is_new=get("isnew") is True or bool(optional_int(get("isnew"))),  # 0/1, "1", or true
        barcode=text(get("barcode"), 255).strip(),
        weight=weight(get("weight")),
        warranty=text(get("warranty"), 255),
        description=text(get("description")),
        url=url if url.startswith(_HTTP) else "",
        images=images(get("images")),
        markdown_stock=_markdown_stock(get("quantityMarkdown"), problems),
        markdown_price=other_price(get("priceMarkdown"), PRICE_MARKDOWN, problems),
        unsellable_value=value,
        problems=tuple(problems),
    )


def price_stock(key, raw) -> PriceStockData:
    """One entry of `quantity-price` (keyed by article). Raises SkipProduct."""
    number = article(key)
    if not isinstance(raw, dict):
        raise SkipProduct(NOT_AN_OBJECT, number)
    problems: list[Problem] = []
    price, price_reason = dealer_price(raw.get("price1"), problems)
    retail = other_price(raw.get("price2"), PRICE2, problems)
    # Unknown stock is no stock: never keep promising the last known one.
    stock, qualifier = _stock(QUANTITY, raw.get("quantity"), problems)
    by_warehouse = raw.get("warehouse")
    by_warehouse = warehouse_stock(by_warehouse, problems) if isinstance(by_warehouse, dict) else None
    reason, value = _unsellable(price_reason, problems)
    return PriceStockData(number, price, retail, reason, stock, qualifier, by_warehouse, value, tuple(problems))


def category(raw) -> CategoryData:
    """One row of `categories`; ValueError (the row is skipped) without a usable id. A row whose
    nested-set numbers (left, right, level) are missing, null or unreadable is kept as a category
    without a place in the tree (0): its products still belong to it."""
    number = to_int(raw["id"])
    if not 0 < number <= MAX_ID:
        raise OutOfBounds(number)
    return CategoryData(
        id=number,
        name=text(raw.get("name"), 500),
        left=_bounded(raw.get("left", 0), MAX_ID),
        right=_bounded(raw.get("right", 0), MAX_ID),
        level=_bounded(raw.get("level", 0), MAX_LEVEL),
        elements=min(optional_int(raw.get("elements")) or 0, MAX_ID),
    )


def brand(raw) -> BrandData:
    return BrandData(
        guid=text(raw.get("id"), 64),
        name=text(raw.get("name"), 255).strip(),
        count=min(optional_int(raw.get("count")) or 0, MAX_ID),
    )


def properties(raw) -> tuple[int, dict[str, str]]:
    """One element of the `properties` method: (article, {property name: value}) in the
    supplier's `sort` order; names and values as text (numbers arrive as numbers too), empty
    names skipped, the first of two equal names kept. Raises SkipProduct."""
    if not isinstance(raw, dict):
        raise SkipProduct("not_an_object")
    number = article(raw.get("article"))
    rows = raw.get("properties")
    if not isinstance(rows, list):
        return number, {}
    rows = [r for r in rows if isinstance(r, dict)]
    rows.sort(key=lambda r: optional_int(r.get("sort")) or 0)
    values: dict[str, str] = {}
    for row in rows:
        name = " ".join(text(row.get("name"), 255).split())
        if name and name not in values:
            values[name] = text(row.get("value"), 1000).strip()
    return number, values
