"""The purchase list: what to buy from Al-Style for the Kaspi orders not yet supplied (reads).

A *need* is an entry of an order waiting for acceptance or accepted (`NEED_STATUSES`; not
completed, cancelled, returned or being cancelled) matched to a catalog product, less the units
already marked purchased (`orders.Purchase`, not unmarked). A measured quantity (2.5 m) needs
whole units (3). Needs are aggregated per Al-Style article into a `Line`:

- the orders, earliest first (planned delivery, then creation): when Al-Style has fewer units
  than the article's needs, the orders served last are *at risk*;
- Al-Style's stock as the price list promises it (`catalog.normalize.promised_stock`: ">50"
  counts 50, "<10" counts 1), per warehouse and in total, and where to take the units from:
  warehouses with the most stock first, so the buyer makes as few pick-ups as possible
  (`catalog.reservations.allocate`, the rule the price list's stock reservation follows too);
- the dealer price now and the line's cost; per order the dealer price when ordered
  (`OrderEntry.dealer_price_at_order`) and the margin then and now: unit price less Kaspi's
  commission (the rate when ordered) less the dealer price, times the units needed;
- warnings in words: more needed than Al-Style has, a dealer price risen since the order so the
  order now sells below cost or below the margin floor of the product's pricing rule, a product
  Al-Style no longer sells. Entries matched to no product cannot be bought from the list: they
  are listed apart (`Unmatched`).

`purchase_list(filters, with_customer=...)` builds the list; the admin page, the exports, the
dashboard panel and `manage.py purchase_list` all read it. Customer names are filled in only
`with_customer` (the caller checks `orders.view_customer_data`).
"""

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import F, QuerySet, Sum
from django.db.models.fields.json import KT
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Product, UnsellableReason
from catalog.models.catalog import warehouse_name
from catalog.normalize import promised_stock
from catalog.pricing.engine import floor_price
from catalog.reservations import NOT_STATED, Demand, allocate, reserve
from catalog.selectors import (
    ID_CHUNK,
    commission_percent_for_products,
    last_stock_read_started,
    margin_floors_for_products,
)
from kaspisync.display import money

from .models import DeliveryMode, Order, OrderEntry, OrderStatus, Purchase

NEED_STATUSES = (OrderStatus.APPROVED_BY_BANK, OrderStatus.ACCEPTED_BY_MERCHANT)
HUNDRED = Decimal(100)
FAR_FUTURE = datetime.max.replace(tzinfo=timezone.get_fixed_timezone(0))

# Warning kinds (stable: the JSON output carries them).
SHORT = "short"
BELOW_COST = "below_cost"
BELOW_FLOOR = "below_floor"
DISCONTINUED = "discontinued"
UNMATCHED = "unmatched"


@dataclass(frozen=True)
class Filters:
    """What the admin page, the exports and the command may narrow the list to."""

    until: date | None = None  # planned delivery on or before (orders without a date stay)
    warehouse: str | None = None  # lines taking units from this Al-Style warehouse
    delivery_mode: str = ""
    warnings_only: bool = False


@dataclass
class Warning:
    kind: str
    text: str
    orders: list[tuple[int, str]] = field(default_factory=list)  # (order id, number) concerned


@dataclass
class OrderNeed:
    """One order entry's share of a line."""

    order_id: int
    code: str
    entry_id: int
    needed: int
    ordered: int  # units ordered (the entry's whole quantity)
    purchased: int  # units already marked purchased
    status: str
    delivery_mode: str
    planned_delivery_at: datetime | None
    created_at: datetime
    point_of_service: str  # Kaspi's pickup / delivery point, as sent ("" if not said)
    unit_price: Decimal
    commission_percent: Decimal
    dealer_price_at_order: int | None
    margin_then: Decimal | None = None
    margin_now: Decimal | None = None
    at_risk: bool = False
    warnings: list[Warning] = field(default_factory=list)
    customer_name: str = ""

    @property
    def delivery_mode_display(self) -> str:
        return _label(DeliveryMode, self.delivery_mode)

    @property
    def status_display(self) -> str:
        return _label(OrderStatus, self.status)

    @property
    def sort_key(self):
        return (self.planned_delivery_at or FAR_FUTURE, self.created_at, self.code, self.entry_id)


@dataclass
class Line:
    """One Al-Style article to buy."""

    product_id: int
    article: int
    name: str
    part_number: str
    brand: str
    needed: int
    needed_all: int  # the article's needs over every open order (the stock warning compares these)
    orders: list[OrderNeed]
    stock: int  # Al-Style's figure, promised total
    stock_display: str  # as Al-Style says it: "7", ">50", "<10"
    warehouses: dict[str, int]  # Al-Style's figure, promised per warehouse
    bought_pending: int  # units we bought that Al-Style's figure still counts (until the next import)
    available: int  # what is left for us: the figure less `bought_pending`
    allocation: dict[str, int]  # units to take per warehouse (NOT_STATED: Al-Style did not say where)
    short: int  # units of `needed` Al-Style does not have
    dealer_price: int | None
    cost: int | None
    margin_then: Decimal | None
    margin_now: Decimal | None
    is_active: bool
    unsellable_reason: str
    warnings: list[Warning]
    weight: Decimal | None = None  # of one unit, kg

    @property
    def allocation_rows(self) -> list[tuple[str, int]]:
        """Where to take the units from, in words, largest first."""
        return named(self.allocation)


@dataclass
class Unmatched:
    """An entry of an open order that no catalog product matches: it cannot be bought from here."""

    order_id: int
    code: str
    entry_id: int
    sku: str
    name: str
    needed: int
    delivery_mode: str
    planned_delivery_at: datetime | None
    created_at: datetime
    warning: Warning | None = None

    @property
    def delivery_mode_display(self) -> str:
        return _label(DeliveryMode, self.delivery_mode)


@dataclass
class PurchaseList:
    lines: list[Line]
    unmatched: list[Unmatched]
    generated_at: datetime
    filters: Filters = field(default_factory=Filters)
    # Warehouses the lines take units from before the warehouse filter (its choices).
    warehouses: list[str] = field(default_factory=list)

    @property
    def units(self) -> int:
        return sum(line.needed for line in self.lines)

    @property
    def cost(self) -> int:
        """What the lines with a dealer price cost (`cost_unknown` counts the others)."""
        return sum(line.cost for line in self.lines if line.cost is not None)

    @property
    def cost_unknown(self) -> int:
        return sum(1 for line in self.lines if line.cost is None)

    @property
    def warning_count(self) -> int:
        return sum(len(line.warnings) for line in self.lines) + len(self.unmatched)


def _label(choices, value: str) -> str:
    return str(choices(value).label) if value in choices.values else value


def warehouse_label(code: str) -> str:
    """An Al-Style warehouse in words (NOT_STATED: units Al-Style has without saying where)."""
    return _("warehouse not stated") if code == NOT_STATED else warehouse_name(code)


def named(counts: dict[str, int]) -> list[tuple[str, int]]:
    """{warehouse code: units} -> [(warehouse in words, units)], largest first."""
    return [(warehouse_label(code), n) for code, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]


def whole_tenge(value: Decimal | None) -> int | None:
    return None if value is None else int(value.to_integral_value(rounding=ROUND_HALF_UP))


def units(quantity: Decimal) -> int:
    """Whole units to buy for an ordered quantity (2.5 m of cable: 3)."""
    return math.ceil(quantity)


# --- reading ------------------------------------------------------------------------------------
def purchased_units(entry_ids=None) -> dict[int, int]:
    """{entry id: units marked purchased (and not unmarked)}; of open orders' entries when
    `entry_ids` is None."""
    qs = Purchase.objects.filter(unmarked_at__isnull=True, entry__isnull=False)
    if entry_ids is None:
        qs = qs.filter(order__status__in=NEED_STATUSES)
        rows = qs.values("entry_id").annotate(n=Sum("quantity")).values_list("entry_id", "n")
        return dict(rows)
    ids, result = list(entry_ids), {}
    for start in range(0, len(ids), ID_CHUNK):
        chunk = qs.filter(entry_id__in=ids[start : start + ID_CHUNK])
        result.update(chunk.values("entry_id").annotate(n=Sum("quantity")).values_list("entry_id", "n"))
    return result


ENTRY_VALUES = (
    "id",
    "order_id",
    "product_id",
    "sku",
    "name",
    "quantity",
    "base_price",
    "dealer_price_at_order",
    "commission_percent_at_order",
    "order__code",
    "order__status",
    "order__delivery_mode",
    "order__planned_delivery_at",
    "order__created_at",
    "order__pickup_point_id",
)
PRODUCT_VALUES = (
    "id",
    "article",
    "name",
    "article_pn",
    "brand__name",
    "dealer_price",
    "stock",
    "stock_qualifier",
    "warehouse_stock",
    "is_active",
    "unsellable_reason",
    "weight",
)


def open_entries(with_customer: bool = False):
    """Value rows of every entry of an order in NEED_STATUSES, with the order's fields and the
    point of service Kaspi names for the entry (`point`: the entry's delivery point, else the
    order's pickup point; "" when Kaspi says neither)."""
    fields = ENTRY_VALUES + (("order__customer_name",) if with_customer else ())
    return (
        OrderEntry.objects.filter(order__status__in=NEED_STATUSES)
        .values(*fields, entry_point=KT("raw__relationships__deliveryPointOfService__data__id"))
        .order_by()
    )


def products_by_id(product_ids) -> dict[int, dict]:
    """{id: value row} of these products: ids, or a queryset of ids (one query)."""
    if isinstance(product_ids, QuerySet):
        return {row["id"]: row for row in Product.objects.filter(pk__in=product_ids).values(*PRODUCT_VALUES)}
    ids, result = list(product_ids), {}
    for start in range(0, len(ids), ID_CHUNK):
        for row in Product.objects.filter(pk__in=ids[start : start + ID_CHUNK]).values(*PRODUCT_VALUES):
            result[row["id"]] = row
    return result


def open_products(**entries) -> QuerySet:
    """The ids of the products open orders' entries (filtered by `entries`) name, as a subquery:
    one query however many (a list of ids is read ID_CHUNK at a time)."""
    rows = OrderEntry.objects.filter(order__status__in=NEED_STATUSES, product__isnull=False, **entries)
    return rows.values("product_id")


def product_stock(product: dict) -> tuple[int, dict[str, int]]:
    """(promised total, {warehouse: promised}) of a product value row; nothing for a product gone
    from Al-Style's catalog (the import that deactivated it left its last figure, not stock)."""
    if not product["is_active"]:
        return 0, {}
    total = promised_stock(product["stock"], product["stock_qualifier"])
    by_warehouse = {str(k): int(v) for k, v in (product["warehouse_stock"] or {}).items() if int(v) > 0}
    return total, by_warehouse


def available_stock(product: dict, bought: list[Demand]) -> tuple[int, dict[str, int], int]:
    """(total, {warehouse: units}, units bought) of what Al-Style still has for us: its promised
    stock less what we bought since the last import read it (`purchase_demands`)."""
    total, warehouses = product_stock(product)
    if not bought:
        return total, warehouses, 0
    held = reserve(total, warehouses, bought, {})
    left = {code: count - held.by_warehouse.get(code, 0) for code, count in warehouses.items()}
    return max(total - held.total, 0), {c: n for c, n in left.items() if n > 0}, held.total


def stock_display(product: dict) -> str:
    if not product["is_active"]:
        return "0"
    qualifier = product["stock_qualifier"]
    return f"{'' if qualifier == '=' else qualifier}{product['stock']}"


def needs(with_customer: bool = False):
    """(needs by product id: {id: [OrderNeed]}, [Unmatched]) of every open order, unfiltered."""
    rows = list(open_entries(with_customer))
    bought = purchased_units()
    by_product: dict[int, list[OrderNeed]] = {}
    unmatched: list[Unmatched] = []
    missing_percent = any(r["product_id"] and r["commission_percent_at_order"] is None for r in rows)
    percents = (
        commission_percent_for_products(open_products(commission_percent_at_order=None)) if missing_percent else {}
    )
    for r in rows:
        ordered = units(r["quantity"])
        purchased = bought.get(r["id"], 0)
        needed = ordered - purchased
        if needed <= 0:
            continue
        if r["product_id"] is None:
            unmatched.append(
                Unmatched(
                    order_id=r["order_id"],
                    code=r["order__code"],
                    entry_id=r["id"],
                    sku=r["sku"],
                    name=r["name"],
                    needed=needed,
                    delivery_mode=r["order__delivery_mode"],
                    planned_delivery_at=r["order__planned_delivery_at"],
                    created_at=r["order__created_at"],
                )
            )
            continue
        percent = r["commission_percent_at_order"]
        if percent is None:
            percent = percents.get(r["product_id"], Decimal(0))
        by_product.setdefault(r["product_id"], []).append(
            OrderNeed(
                order_id=r["order_id"],
                code=r["order__code"],
                entry_id=r["id"],
                needed=needed,
                ordered=ordered,
                purchased=purchased,
                status=r["order__status"],
                delivery_mode=r["order__delivery_mode"],
                planned_delivery_at=r["order__planned_delivery_at"],
                created_at=r["order__created_at"],
                point_of_service=r["entry_point"] or r["order__pickup_point_id"] or "",
                unit_price=r["base_price"],
                commission_percent=percent,
                dealer_price_at_order=r["dealer_price_at_order"],
                customer_name=r.get("order__customer_name", "") if with_customer else "",
            )
        )
    for orders in by_product.values():
        orders.sort(key=lambda o: o.sort_key)
    unmatched.sort(key=lambda u: (u.planned_delivery_at or FAR_FUTURE, u.created_at, u.code, u.entry_id))
    return by_product, unmatched


def purchase_list(filters: Filters | None = None, *, with_customer: bool = False) -> PurchaseList:
    filters = filters or Filters()
    by_product, unmatched = needs(with_customer)
    products = products_by_id(open_products())  # a few more than by_product (all bought): one query
    floors = margin_floors_for_products(open_products())
    bought = purchase_demands(by_product)
    lines = []
    for product_id, orders in by_product.items():
        product = products.get(product_id)
        if product is None:  # deleted meanwhile (products never are): nothing to show
            continue
        stock = available_stock(product, bought.get(product_id, []))
        _judge_orders(product, stock[0], orders, floors.get(product_id, (0, Decimal(0))))
        kept = [o for o in orders if _order_kept(o, filters)]
        if kept:
            lines.append(_line(product, stock, kept, sum(o.needed for o in orders)))
    warehouses = sorted({code for line in lines for code in line.allocation if code != NOT_STATED})
    if filters.warehouse is not None:
        lines = [line for line in lines if line.allocation.get(filters.warehouse)]
    if filters.warnings_only:
        lines = [line for line in lines if line.warnings]
    lines.sort(key=lambda line: line.article)
    unmatched = [u for u in unmatched if _order_kept(u, filters)] if filters.warehouse is None else []
    for u in unmatched:
        u.warning = Warning(
            UNMATCHED,
            _("Order %(code)s: “%(name)s” (SKU %(sku)s) is not in the catalog; it cannot be bought from the list.")
            % {"code": u.code, "name": u.name or "—", "sku": u.sku or "—"},
            [(u.order_id, u.code)],
        )
    return PurchaseList(lines, unmatched, timezone.now(), filters, warehouses)


def _order_kept(order, filters: Filters) -> bool:
    if filters.delivery_mode and order.delivery_mode != filters.delivery_mode:
        return False
    if filters.until is not None and order.planned_delivery_at is not None:
        return timezone.localdate(order.planned_delivery_at) <= filters.until
    return True


def _judge_orders(product: dict, stock: int, orders: list[OrderNeed], floor: tuple[int, Decimal]) -> None:
    """Margins, "at risk" (beyond the `stock` left for us) and price warnings of each order
    (earliest first) of one article."""
    dealer_now = product["dealer_price"]
    min_margin, min_percent = floor
    covered = 0
    for o in orders:
        covered += o.needed
        o.at_risk = covered > stock
        commission = o.unit_price * o.commission_percent / HUNDRED
        net = o.unit_price - commission
        if o.dealer_price_at_order is not None:
            o.margin_then = (net - o.dealer_price_at_order) * o.needed
        if dealer_now is None:
            continue
        o.margin_now = (net - dealer_now) * o.needed
        rose = o.dealer_price_at_order is not None and dealer_now > o.dealer_price_at_order
        if not rose:
            continue
        values = {"code": o.code, "then": money(o.dealer_price_at_order), "now": money(dealer_now)}
        if net < dealer_now:
            text = _("Dealer price rose from %(then)s to %(now)s: order %(code)s now sells below cost.")
            o.warnings.append(Warning(BELOW_COST, text % values, [(o.order_id, o.code)]))
        elif o.unit_price < floor_price(dealer_now, o.commission_percent, min_margin, min_percent):
            text = _("Dealer price rose from %(then)s to %(now)s: order %(code)s now sells below the margin floor.")
            o.warnings.append(Warning(BELOW_FLOOR, text % values, [(o.order_id, o.code)]))


def _line(product: dict, stock: tuple[int, dict, int], orders: list[OrderNeed], needed_all: int) -> Line:
    available, by_warehouse, bought = stock
    promised, by_warehouse_promised = product_stock(product)  # before what we bought since the import
    needed = sum(o.needed for o in orders)
    allocation, short = allocate(needed, by_warehouse, available)
    dealer = product["dealer_price"]
    warnings = []
    at_risk = [o for o in orders if o.at_risk]
    codes = ", ".join(o.code for o in at_risk)
    if not product["is_active"]:  # nothing to take: every order is at risk, said once
        text = _("Al-Style no longer sells this product (gone from its catalog): orders at risk: %(codes)s.")
        warnings.append(Warning(DISCONTINUED, text % {"codes": codes}, [(o.order_id, o.code) for o in at_risk]))
        at_risk = []
    elif product["unsellable_reason"]:
        reason = _label(UnsellableReason, product["unsellable_reason"])
        warnings.append(
            Warning(DISCONTINUED, _("Al-Style does not sell this product now: %(reason)s.") % {"reason": reason})
        )
    if at_risk:
        values = {
            "needed": needed_all,
            "stock": stock_display(product),
            "left": available,
            "bought": bought,
            "codes": codes,
        }
        if bought:
            text = _(
                "%(needed)s needed, Al-Style has %(left)s left for us (its stock %(stock)s still counts the "
                "%(bought)s we bought): orders at risk: %(codes)s."
            )
        else:
            text = _("%(needed)s needed, Al-Style has %(stock)s: orders at risk: %(codes)s.")
        warnings.append(Warning(SHORT, text % values, [(o.order_id, o.code) for o in at_risk]))
    for o in orders:
        warnings.extend(o.warnings)
    then = [o.margin_then for o in orders]
    now = [o.margin_now for o in orders]
    return Line(
        product_id=product["id"],
        article=product["article"],
        name=product["name"],
        part_number=product["article_pn"],
        brand=product["brand__name"] or "",
        needed=needed,
        needed_all=needed_all,
        orders=orders,
        stock=promised,
        stock_display=stock_display(product),
        warehouses=by_warehouse_promised,
        bought_pending=bought,
        available=available,
        allocation=allocation,
        short=short,
        dealer_price=dealer,
        cost=None if dealer is None else dealer * needed,
        margin_then=None if None in then else sum(then, Decimal(0)),
        margin_now=None if None in now else sum(now, Decimal(0)),
        is_active=product["is_active"],
        unsellable_reason=product["unsellable_reason"],
        warnings=warnings,
        weight=product["weight"],
    )


# --- other reads ------------------------------------------------------------------------------
def dashboard_status() -> dict:
    """ "To buy today": everything open orders still need (lines, units, cost, warnings)."""
    result = purchase_list()
    return {
        "lines": len(result.lines),
        "units": result.units,
        "cost": result.cost,
        "cost_unknown": result.cost_unknown,
        "warnings": result.warning_count,
        "unmatched": len(result.unmatched),
    }


def as_json(result: PurchaseList) -> dict:
    """The list as the stable JSON of `manage.py purchase_list --json` (money in whole tenge,
    dates ISO 8601 in Almaty time). No customer data."""

    def when(value):
        return timezone.localtime(value).isoformat() if value else None

    def warning(w: Warning) -> dict:
        return {"kind": w.kind, "text": w.text, "orders": [code for _pk, code in w.orders]}

    return {
        "generated_at": when(result.generated_at),
        "lines": [
            {
                "article": line.article,
                "needed": line.needed,
                "name": line.name,
                "part_number": line.part_number,
                "brand": line.brand,
                "stock": line.stock,
                "stock_display": line.stock_display,
                "bought_pending": line.bought_pending,
                "available": line.available,
                "warehouses": line.warehouses,
                "allocation": line.allocation,
                "short": line.short,
                "dealer_price": line.dealer_price,
                "cost": line.cost,
                "margin_then": whole_tenge(line.margin_then),
                "margin_now": whole_tenge(line.margin_now),
                "orders": [
                    {
                        "code": o.code,
                        "needed": o.needed,
                        "ordered": o.ordered,
                        "purchased": o.purchased,
                        "status": o.status,
                        "delivery_mode": o.delivery_mode,
                        "planned_delivery": when(o.planned_delivery_at),
                        "created": when(o.created_at),
                        "unit_price": whole_tenge(o.unit_price),
                        "dealer_price_at_order": o.dealer_price_at_order,
                        "margin_then": whole_tenge(o.margin_then),
                        "margin_now": whole_tenge(o.margin_now),
                        "at_risk": o.at_risk,
                    }
                    for o in line.orders
                ],
                "warnings": [warning(w) for w in line.warnings],
            }
            for line in result.lines
        ],
        "unmatched": [
            {
                "order": u.code,
                "sku": u.sku,
                "name": u.name,
                "needed": u.needed,
                "delivery_mode": u.delivery_mode,
                "planned_delivery": when(u.planned_delivery_at),
            }
            for u in result.unmatched
        ],
        "totals": {
            "lines": len(result.lines),
            "units": result.units,
            "cost": result.cost,
            "lines_without_price": result.cost_unknown,
            "warnings": result.warning_count,
        },
    }


# --- per order --------------------------------------------------------------------------------
def purchase_progress(order_ids) -> dict[int, tuple[int, int]]:
    """{order id: (units ordered, units purchased)} — whole units; an entry counts at most its
    own quantity. "Goods bought" is units purchased == units ordered > 0."""
    ids = list(order_ids)
    if not ids:
        return {}
    entries = OrderEntry.objects.filter(order_id__in=ids).values_list("id", "order_id", "quantity")
    entries = list(entries)
    bought = purchased_units([e[0] for e in entries])
    progress: dict[int, tuple[int, int]] = {}
    for entry_id, order_id, quantity in entries:
        ordered = units(quantity)
        done = min(bought.get(entry_id, 0), ordered)
        before = progress.get(order_id, (0, 0))
        progress[order_id] = (before[0] + ordered, before[1] + done)
    return progress


def is_bought(progress: tuple[int, int] | None) -> bool:
    return progress is not None and progress[0] > 0 and progress[1] >= progress[0]


def paid_costs(entry_ids) -> dict[int, tuple[int, int]]:
    """{entry id: (units purchased, what they cost at the prices paid)}: replaces the dealer
    price estimate in the order's margin for those units."""
    ids, result = list(entry_ids), {}
    rows = Purchase.objects.filter(unmarked_at__isnull=True).values_list("entry_id", "quantity", "unit_price")
    for start in range(0, len(ids), ID_CHUNK):
        for entry_id, quantity, price in rows.filter(entry_id__in=ids[start : start + ID_CHUNK]):
            done, cost = result.get(entry_id, (0, 0))
            result[entry_id] = (done + quantity, cost + quantity * price)
    return result


# --- the price list's stock reservation ---------------------------------------------------------
ENTRY_POINT = "raw__relationships__deliveryPointOfService__data__id"


def purchase_demands(product_ids=None) -> dict[int, list[Demand]]:
    """Units bought since the newest successful import started, per product, in the order they
    were recorded: Al-Style's stock figure we hold still counts them (until an import that
    started after the purchase reads the new one)."""
    result: dict[int, list[Demand]] = {}
    purchases = Purchase.objects.filter(unmarked_at__isnull=True, product__isnull=False)
    if product_ids is not None:
        purchases = purchases.filter(product_id__in=list(product_ids))
    handover = last_stock_read_started()
    if handover is not None:
        purchases = purchases.filter(recorded_at__gte=handover)
    rows = purchases.order_by("recorded_at", "pk").values_list(
        "product_id", "quantity", F(f"entry__{ENTRY_POINT}"), "order__pickup_point_id"
    )
    for product_id, quantity, entry_point, pickup in rows:
        result.setdefault(product_id, []).append(Demand(quantity, entry_point or pickup or ""))
    return result


def reservation_demands(product_ids=None) -> dict[int, list[Demand]]:
    """What Kaspi orders hold of each product's stock (the `catalog.reservations` source this app
    registers): first the units bought but not yet seen gone by an import (`purchase_demands`),
    then the units open orders still need, earliest orders first. Each demand names the point of
    service Kaspi gave for the entry (`deliveryPointOfService`), else the order's pickup point.
    Only the products `product_ids` when given (a product page)."""
    result = purchase_demands(product_ids)
    entries = OrderEntry.objects.filter(order__status__in=NEED_STATUSES, product__isnull=False)
    if product_ids is not None:
        entries = entries.filter(product_id__in=list(product_ids))
    bought = purchased_units() if product_ids is None else purchased_units(entries.values_list("pk", flat=True))
    rows = entries.order_by(
        F("order__planned_delivery_at").asc(nulls_last=True), "order__created_at", "order__code", "pk"
    ).values_list("pk", "product_id", "quantity", KT(ENTRY_POINT), "order__pickup_point_id")
    for pk, product_id, quantity, entry_point, pickup in rows:
        left = units(quantity) - bought.get(pk, 0)
        if left > 0:
            result.setdefault(product_id, []).append(Demand(left, entry_point or pickup or ""))
    return result


def purchases_of_order(order: Order):
    return (
        Purchase.objects.filter(order=order).select_related("recorded_by", "unmarked_by").order_by("recorded_at", "pk")
    )
