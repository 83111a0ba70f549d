"""Al-Style payloads -> typed values, once, at the client boundary.

The rest of the code never sees the supplier's raw strings. The rules:
- `quantity`: an int, a numeric string ("7"), or a bound (">50", ">100", "<10"). Stored as the
  supplier's number plus a qualifier: ">50" -> (50, ">"), "<10" -> (10, "<") meaning "some, fewer
  than 10"; `StockQualifier` says how to read it. Per-warehouse stock is stored as the number that
  can be promised: exact and ">n" -> n, "<n" -> 1 (at least one).
- `price1` (dealer price): 1 is "price on request" and 9 999 999 a placeholder: both leave the
  product without a dealer price and with the reason it is not sellable. No/zero/garbage price:
  `no_price`. `price2` (retail) and `rrp` equal to 1 or the placeholder mean "none".
- Numbers that arrive as strings ("12345", "12 345", "12345.00") are read as numbers.
- Text (names, descriptions) is stored faithfully, `&`, `<`, quotes and control characters
  included, except NUL, which PostgreSQL cannot store. Whoever writes XML escapes/filters.
- A product without a valid article or name is skipped with a reason (`SkipProduct`), never a
  crash; a bad value in an optional field becomes "unknown" (None / empty).
"""

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from .models import StockQualifier, UnsellableReason

PRICE_ON_REQUEST = 1
PLACEHOLDER_PRICE = 9_999_999
_NUMBER_RE = re.compile(r"^-?\d+(?:\.0*)?$")
_SPACES = str.maketrans("", "", " \u00a0\u202f\t")
_WEIGHT_LIMIT = Decimal("9999999")
_GRAM = Decimal("0.001")
_HTTP = ("http://", "https://")
# Plain strings (not enum members): cheap to compare and to fingerprint.
EXACT, AT_LEAST, LESS_THAN = StockQualifier.EXACT.value, StockQualifier.AT_LEAST.value, StockQualifier.LESS_THAN.value
SELLABLE = UnsellableReason.NONE.value


class SkipProduct(ValueError):
    """The supplier sent a product we cannot store; `reason` is counted on the run."""

    def __init__(self, reason: str, article: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.article = article


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
    stock_unreadable: bool = False  # `quantity` was garbage: stock taken as 0


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
    stock_unreadable: bool = False  # `quantity` was garbage: stock taken as 0


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


def quantity(value) -> tuple[int, str]:
    """Supplier stock -> (count, qualifier). ValueError on garbage."""
    if type(value) is int:
        return (value if value > 0 else 0), EXACT
    if value is None or value == "":
        return 0, EXACT
    raw = str(value).strip()
    qualifier = EXACT
    if raw[:1] in (">", "<"):
        qualifier = AT_LEAST if raw[0] == ">" else LESS_THAN
        raw = raw[1:]
    count = to_int(raw)
    return (count if count > 0 else 0), qualifier


def promised_stock(count: int, qualifier: str) -> int:
    """The quantity that can be promised: "<10" is at least one, ">50" at least fifty."""
    if qualifier == LESS_THAN:
        return min(count, 1)
    return count


def dealer_price(value) -> tuple[int | None, str]:
    """price1 -> (price or None, unsellable reason)."""
    try:
        price = to_int(value)
    except ValueError:
        return None, UnsellableReason.NO_PRICE.value
    if price == PRICE_ON_REQUEST:
        return None, UnsellableReason.PRICE_ON_REQUEST.value
    if price == PLACEHOLDER_PRICE:
        return None, UnsellableReason.PLACEHOLDER_PRICE.value
    if price <= 0:
        return None, UnsellableReason.NO_PRICE.value
    return price, SELLABLE


def other_price(value) -> int | None:
    """price2 / rrp / markdown price: 1 and the placeholder mean "none"."""
    price = optional_int(value)
    return None if price in (PRICE_ON_REQUEST, PLACEHOLDER_PRICE) else price


def text(value, max_length: int | None = None) -> str:
    if type(value) is not str:
        if value is None or isinstance(value, (dict, list)):
            return ""
        value = str(value)
    if "\x00" in value:
        value = value.replace("\x00", "")
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


def warehouse_stock(value) -> dict:
    """{"panfilov": 5, "karaganda": ">10"} -> {"panfilov": 5, "karaganda": 10} (promised counts)."""
    if not value or not isinstance(value, dict):
        return {}
    result = {}
    for code, raw in value.items():
        if type(raw) is int:  # the common case, without the general parser
            result[code] = raw if raw > 0 else 0
            continue
        try:
            result[str(code)] = promised_stock(*quantity(raw))
        except ValueError:
            continue
    return result


# --- records --------------------------------------------------------------------------------------
def article(value) -> int:
    try:
        number = to_int(value)
    except ValueError:
        raise SkipProduct("bad_article") from None
    if number <= 0:
        raise SkipProduct("bad_article")
    return number


def product(raw) -> ProductData:
    """One product of `elements-pagination` / `element-info`. Raises SkipProduct."""
    if not isinstance(raw, dict):
        raise SkipProduct("not_an_object")
    number = article(raw.get("article"))
    name = text(raw.get("name"), 1000)
    if not name.strip():
        raise SkipProduct("no_name", number)
    prices = price_stock(number, raw)
    url = text(raw.get("url"), 500)
    get = raw.get
    return ProductData(
        article=number,
        article_pn=text(get("article_pn"), 255),
        name=name,
        full_name=text(get("full_name")),
        category_id=optional_int(get("category")),
        brand=text(get("brand"), 255).strip(),
        dealer_price=prices.dealer_price,
        retail_price=prices.retail_price,
        rrp=other_price(get("rrp")),
        unsellable_reason=prices.unsellable_reason,
        stock=prices.stock,
        stock_qualifier=prices.stock_qualifier,
        stock_unreadable=prices.stock_unreadable,
        warehouse_stock=warehouse_stock(get("warehouses")),
        is_new=bool(optional_int(get("isnew"))),
        barcode=text(get("barcode"), 255).strip(),
        weight=weight(get("weight")),
        warranty=text(get("warranty"), 255),
        description=text(get("description")),
        url=url if url.startswith(_HTTP) else "",
        images=images(get("images")),
        markdown_stock=optional_int(get("quantityMarkdown")) or 0,
        markdown_price=other_price(get("priceMarkdown")),
    )


def price_stock(key, raw) -> PriceStockData:
    """One entry of `quantity-price` (keyed by article), or the same fields of a product. Raises SkipProduct."""
    number = article(key)
    if not isinstance(raw, dict):
        raise SkipProduct("not_an_object", number)
    try:
        stock, qualifier, unreadable = *quantity(raw.get("quantity")), False
    except ValueError:  # unknown stock is no stock: never keep promising the last known one
        stock, qualifier, unreadable = 0, EXACT, True
    price, reason = dealer_price(raw.get("price1"))
    by_warehouse = raw.get("warehouse")
    return PriceStockData(
        number,
        price,
        other_price(raw.get("price2")),
        reason,
        stock,
        qualifier,
        warehouse_stock(by_warehouse) if isinstance(by_warehouse, dict) else None,
        unreadable,
    )


def category(raw) -> CategoryData:
    return CategoryData(
        id=to_int(raw["id"]),
        name=text(raw.get("name"), 500),
        left=to_int(raw.get("left", 0)),
        right=to_int(raw.get("right", 0)),
        level=to_int(raw.get("level", 0)),
        elements=optional_int(raw.get("elements")) or 0,
    )


def brand(raw) -> BrandData:
    return BrandData(
        guid=text(raw.get("id"), 64), name=text(raw.get("name"), 255).strip(), count=optional_int(raw.get("count")) or 0
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
