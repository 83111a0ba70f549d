"""Sale price of one product from its dealer price, the rules that apply and the commission.

Pure: no database, no clock (the book carries `now`). Money is integer tenge; percents are
Decimal; nothing here is ever a float.

The math, for a product with dealer price D under the winning rule and commission c %:
1. markup m % and fixed addition f ₸ (from the dealer-price band D falls in, else the rule's);
2. the price grossed up for the commission: (D × (1 + m/100) + f) / (1 − c/100), whole tenge up;
3. rounded to the rule's step (up or nearest), landing on the rule's ending (…90, …990);
4. the floor: the net margin after commission must reach the rule's minimum in ₸ and in % of the
   price (0 = break-even); a price under it is raised to the floor, rounded up;
5. the cap: never above the supplier's retail price or the RRP if the rule says so (a capped
   price may end below the floor: the product is then flagged "below margin floor").
A manual override replaces 2–5 until it expires. Net margin = price − commission − D.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from functools import lru_cache

from django.utils.translation import gettext as _

from kaspisync import display

HUNDRED = Decimal(100)
ONE = Decimal(1)
CENT = Decimal("0.01")
MAX_PERCENT = Decimal("99999.99")  # what Product.net_margin_percent holds; a margin beyond is absurd anyway
UP, NEAREST = "up", "nearest"
CAP_RETAIL, CAP_RRP = "retail", "rrp"


@dataclass(frozen=True, slots=True)
class Band:
    low: int
    high: int | None  # exclusive; None: no upper bound
    percent: Decimal
    fixed: int = 0

    def covers(self, dealer: int) -> bool:
        return self.low <= dealer and (self.high is None or dealer < self.high)


@dataclass(frozen=True, slots=True)
class Rule:
    id: int | None
    label: str
    percent: Decimal = Decimal(0)
    fixed: int = 0
    bands: tuple[Band, ...] = ()
    step: int = 1
    mode: str = UP
    ending: int = 0
    min_margin: int = 0
    min_margin_percent: Decimal = Decimal(0)
    cap: str = ""
    min_stock: int = 1

    def markup(self, dealer: int) -> tuple[Decimal, int, Band | None]:
        for band in self.bands:
            if band.covers(dealer):
                return band.percent, band.fixed, band
        return self.percent, self.fixed, None


@dataclass(frozen=True, slots=True)
class Override:
    price: int
    expires_at: datetime | None = None

    def active(self, now: datetime) -> bool:
        return self.expires_at is None or self.expires_at > now


@dataclass(slots=True)  # not frozen: frozen dataclasses are slow to build, and 50,000 are built per run
class ProductIn:
    id: int
    category_id: int | None
    brand_id: int | None
    dealer_price: int | None
    retail_price: int | None = None
    rrp: int | None = None
    unsellable_reason: str = ""
    is_active: bool = True


@dataclass(slots=True)
class PriceResult:
    sale_price: int | None
    rule_id: int | None
    explanation: str
    net_margin: int | None = None
    net_margin_percent: Decimal | None = None
    below_floor: bool = False
    excluded: bool = False
    min_stock: int = 1


@dataclass
class Book:
    """Everything the price of any product depends on besides the product, loaded once.

    `ancestors[c]` is (c, parent of c, ..., root): resolution walks it, deepest first.
    """

    now: datetime
    default_commission: Decimal
    global_rule: Rule | None = None
    category_rules: dict[int, Rule] = field(default_factory=dict)
    brand_rules: dict[int, Rule] = field(default_factory=dict)
    brand_category_rules: dict[tuple[int, int], Rule] = field(default_factory=dict)
    product_rules: dict[int, Rule] = field(default_factory=dict)
    ancestors: dict[int, tuple[int, ...]] = field(default_factory=dict)
    commissions: dict[int, Decimal] = field(default_factory=dict)
    excluded_categories: frozenset = frozenset()
    excluded_brands: frozenset = frozenset()
    excluded_products: frozenset = frozenset()
    overrides: dict[int, Override] = field(default_factory=dict)
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def texts(self) -> dict:
        if "texts" not in self._cache:
            self._cache["texts"] = _texts()
        return self._cache["texts"]

    def _chain(self, category_id):
        return self.ancestors.get(category_id, ()) if category_id is not None else ()

    def rule_for(self, product: ProductIn) -> Rule | None:
        """product > brand in category (deepest) > category (deepest) > brand > global."""
        rule = self.product_rules.get(product.id)
        if rule is not None:
            return rule
        key = ("rule", product.category_id, product.brand_id)
        try:
            return self._cache[key]
        except KeyError:
            pass
        rule = None
        chain = self._chain(product.category_id)
        if product.brand_id is not None:
            rule = next(
                (
                    self.brand_category_rules[(product.brand_id, c)]
                    for c in chain
                    if (product.brand_id, c) in self.brand_category_rules
                ),
                None,
            )
        if rule is None:
            rule = next((self.category_rules[c] for c in chain if c in self.category_rules), None)
        if rule is None and product.brand_id is not None:
            rule = self.brand_rules.get(product.brand_id)
        if rule is None:
            rule = self.global_rule
        self._cache[key] = rule
        return rule

    def commission_for(self, category_id: int | None) -> Decimal:
        key = ("commission", category_id)
        if key not in self._cache:
            self._cache[key] = next(
                (self.commissions[c] for c in self._chain(category_id) if c in self.commissions),
                self.default_commission,
            )
        return self._cache[key]

    def is_excluded(self, product: ProductIn) -> bool:
        if product.id in self.excluded_products or product.brand_id in self.excluded_brands:
            return True
        key = ("excluded", product.category_id)
        if key not in self._cache:
            self._cache[key] = any(c in self.excluded_categories for c in self._chain(product.category_id))
        return self._cache[key]


def _texts() -> dict:
    """The explanation's phrases in the active language, translated once per book."""
    return {
        "inactive": _("not priced: inactive"),
        "unsellable": _("not priced: no usable dealer price"),
        "bad_supplier_data": _("not priced: the supplier's data makes it unsellable"),
        "no_rule": _("not priced: no pricing rule applies"),
        "manual": _("manual price %(price)s ₸"),
        "manual_until": _("manual price %(price)s ₸ until %(date)s"),
        "commission": _("commission %(percent)s %%"),
        "rounded": _("rounded to %(price)s"),
        "floor": _("raised to the margin floor %(price)s"),
        CAP_RETAIL: _("capped at the retail price %(price)s"),
        CAP_RRP: _("capped at the RRP %(price)s"),
    }


# --- arithmetic -----------------------------------------------------------------------------
def ceil_tenge(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_CEILING))


def round_price(price: int, step: int, ending: int = 0, mode: str = UP) -> int:
    """The price moved onto the grid {k × step + ending}: the next point up, or the nearest one
    (halfway goes up). Never below one step."""
    below = price - (price - ending) % step
    if below == price:
        return price
    above = below + step
    if mode == UP or below <= 0 or (price - below) * 2 >= step:
        return above
    return below


def floor_price(dealer: int, commission: Decimal, min_margin: int, min_margin_percent: Decimal) -> int:
    """The lowest price whose net margin after commission reaches both minimums."""
    keep = ONE - commission / HUNDRED
    by_amount = (dealer + min_margin) / keep
    by_percent = dealer / (keep - min_margin_percent / HUNDRED)
    return ceil_tenge(max(by_amount, by_percent))


def net_margin(price: int, dealer: int, commission: Decimal) -> tuple[int, Decimal]:
    margin = Decimal(price) * (ONE - commission / HUNDRED) - dealer
    percent_of_price = max(-MAX_PERCENT, min(MAX_PERCENT, margin * HUNDRED / price))
    return int(margin.to_integral_value(rounding=ROUND_HALF_UP)), percent_of_price.quantize(
        CENT, rounding=ROUND_HALF_UP
    )


def tenge(amount: int) -> str:
    return display.group(amount)  # the admin's one way of writing amounts


@lru_cache(maxsize=1024)
def percent(value: Decimal) -> str:
    return format(value.normalize(), "f")


# --- the function ---------------------------------------------------------------------------
def price_product(product: ProductIn, book: Book) -> PriceResult:
    """Sale price, winning rule, net margin and a one-line explanation of one product."""
    texts = book.texts
    excluded = book.is_excluded(product)
    rule = book.rule_for(product)
    min_stock = rule.min_stock if rule is not None else 1
    rule_id = rule.id if rule is not None else None
    if not product.is_active:
        return PriceResult(None, rule_id, texts["inactive"], excluded=excluded, min_stock=min_stock)
    if not product.dealer_price:  # None, or a zero no one can sell at
        return PriceResult(None, rule_id, texts["unsellable"], excluded=excluded, min_stock=min_stock)
    if product.unsellable_reason:  # a dealer price, but another supplier value out of bounds
        return PriceResult(None, rule_id, texts["bad_supplier_data"], excluded=excluded, min_stock=min_stock)
    dealer = product.dealer_price
    commission = book.commission_for(product.category_id)
    floor = floor_price(
        dealer, commission, rule.min_margin if rule else 0, rule.min_margin_percent if rule else Decimal(0)
    )
    override = book.overrides.get(product.id)
    if override is not None and override.active(book.now):
        price = override.price
        if override.expires_at is None:
            explanation = texts["manual"] % {"price": tenge(price)}
        else:
            explanation = texts["manual_until"] % {
                "price": tenge(price),
                "date": override.expires_at.strftime("%d.%m.%Y %H:%M"),
            }
    elif rule is None:
        return PriceResult(None, None, texts["no_rule"], excluded=excluded)
    else:
        price, explanation = _rule_price(product, rule, commission, floor, texts)
    margin, margin_percent = net_margin(price, dealer, commission)
    return PriceResult(
        price,
        rule_id,
        explanation,
        margin,
        margin_percent,
        below_floor=price < floor,
        excluded=excluded,
        min_stock=min_stock,
    )


def _rule_price(product: ProductIn, rule: Rule, commission: Decimal, floor: int, texts: dict) -> tuple[int, str]:
    dealer = product.dealer_price
    markup, fixed, band = rule.markup(dealer)
    raw = ceil_tenge((dealer * (ONE + markup / HUNDRED) + fixed) / (ONE - commission / HUNDRED))
    price = round_price(raw, rule.step, rule.ending, rule.mode)

    parts = [
        _terms(rule.label, band, markup, fixed, texts["commission"] % {"percent": percent(commission)}),
        display.money(raw),
    ]
    if price != raw:
        parts.append(texts["rounded"] % {"price": display.money(price)})
    if price < floor:
        price = round_price(floor, rule.step, rule.ending, UP)
        parts.append(texts["floor"] % {"price": display.money(price)})
    cap = product.retail_price if rule.cap == CAP_RETAIL else product.rrp if rule.cap == CAP_RRP else None
    if cap and price > cap:
        price = cap
        parts.append(texts[rule.cap] % {"price": display.money(price)})
    return price, " → ".join(parts)


@lru_cache(maxsize=4096)
def _terms(label: str, band: Band | None, markup: Decimal, fixed: int, commission: str) -> str:
    """ "Ноутбуки (10 000–100 000 ₸): 12 % + 500 ₸ + комиссия 8 %"."""
    if band is not None:
        upper = "∞" if band.high is None else tenge(band.high)
        label = f"{label} ({tenge(band.low)}–{upper} ₸)"
    terms = [f"{percent(markup)}\u00a0%"]
    if fixed:
        terms.append(f"{tenge(fixed)}\u00a0₸")
    terms.append(commission)
    return f"{label}: {' + '.join(terms)}"
