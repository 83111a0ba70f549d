"""Stock already promised to orders: the units the price list must not offer again.

catalog knows neither who takes orders nor who publishes the price list. The app that takes
orders registers a *source* in its `AppConfig.ready()`:

    reservations.register_source("orders", demands_of_open_orders)
    # demands_of_open_orders(product_ids=None) -> {product id: [Demand, earliest first]}

and the price list asks `demands()` once per build, then takes each product's demands from the
stock it already read (`reserve`), so a build reads no product twice. When what sources would
return may have changed (an order pulled, cancelled, an item bought), the source's app sends
`reservations_changed` once its transaction commits; the price list follows it like a stock
change (debounced rebuild).

The rule, stated once:
- stock is Al-Style's as the price list promises it (`normalize.promised_stock`: ">50" counts 50,
  "<10" counts 1), per warehouse, plus what Al-Style has beyond its warehouse figures;
- each demand takes its units from the warehouses of the Kaspi store the order leaves from (when
  Kaspi says which: `Demand.point`, matched to a store by `store_for_point`), then from the
  others, each time the warehouse with the most stock first (`allocate`): earliest demands first;
- the units a store may offer are its warehouses' stock less what was taken there (a store with
  no warehouses sells the total stock, less every unit taken).
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.dispatch import Signal

from .normalize import promised_stock

# Sent (by the app owning a source) after a commit that may have changed the reservations.
# kwargs: reason (str).
reservations_changed = Signal()

NOT_STATED = ""  # the units Al-Style has without saying in which warehouse


@dataclass(frozen=True, slots=True)
class Demand:
    """Units of one product held for one order; `point`: the Kaspi point of service the order
    leaves from, as Kaspi names it (e.g. "30001234_PP1"), "" when Kaspi does not say."""

    units: int
    point: str = ""


@dataclass(slots=True)
class Reservation:
    """What a product's demands hold: in total, and per Al-Style warehouse (NOT_STATED: units
    beyond the warehouse figures). `short`: units demanded that Al-Style does not have."""

    total: int = 0
    by_warehouse: dict[str, int] = field(default_factory=dict)
    short: int = 0


_sources: dict[str, Callable[..., dict[int, list[Demand]]]] = {}


def register_source(name: str, source: Callable[..., dict[int, list[Demand]]]) -> None:
    """Register (or replace) a source of demands: `source(product_ids=None)` -> {product id:
    [Demand, earliest first]} (only those products when ids are given)."""
    _sources[name] = source


def demands(product_ids=None) -> dict[int, list[Demand]]:
    """Every registered source's demands, per product (sources in registration order)."""
    merged: dict[int, list[Demand]] = {}
    for source in _sources.values():
        for product_id, items in source(product_ids).items():
            merged.setdefault(product_id, []).extend(items)
    return merged


def store_for_point(point: str, store_ids) -> str | None:
    """The configured store a Kaspi point of service names: the store id itself, or Kaspi's
    "<merchant id>_<store id>" form. None when it names none of them."""
    if not point:
        return None
    if point in store_ids:
        return point
    tail = point.rsplit("_", 1)[-1]
    return tail if tail in store_ids else None


def _most_first(item):
    return -item[1], item[0]


def allocate(wanted: int, warehouses: dict[str, int], total: int, prefer=()) -> tuple[dict[str, int], int]:
    """Take `wanted` units from the stock: the `prefer`red warehouses first, then the others,
    each time the one with the most stock first; then what Al-Style has beyond its warehouse
    figures (`total` above their sum) under NOT_STATED. Returns ({warehouse: units}, units short).
    `warehouses` is not changed."""
    taken: dict[str, int] = {}
    left = wanted
    if left > 0 and warehouses:
        ranked = sorted(warehouses.items(), key=_most_first)
        if prefer:
            ranked = [i for i in ranked if i[0] in prefer] + [i for i in ranked if i[0] not in prefer]
        for code, count in ranked:
            if count <= 0:
                continue
            take = count if count < left else left
            taken[code] = take
            left -= take
            if not left:
                break
    if left > 0:
        unlisted = total - sum(v for v in warehouses.values() if v > 0)
        if unlisted > 0:
            take = min(left, unlisted)
            taken[NOT_STATED] = take
            left -= take
    return taken, left if left > 0 else 0


def reserve(
    total: int, warehouses: dict[str, int], items: list[Demand], store_warehouses: dict, prefer_of: dict | None = None
) -> Reservation:
    """Take `items` (earliest first) from one product's stock: `total` and `warehouses` are its
    promised counts; `store_warehouses`: {store id: its warehouse codes} of the price list.
    `prefer_of`: a dict the caller may pass to every call of one build ({point: warehouses})."""
    stock = {code: count for code, count in warehouses.items() if count > 0}
    prefer_of = {} if prefer_of is None else prefer_of
    left_total = total
    result = Reservation()
    by_warehouse = result.by_warehouse
    for item in items:
        prefer = prefer_of.get(item.point)
        if prefer is None:
            store = store_for_point(item.point, store_warehouses)
            prefer = prefer_of[item.point] = tuple(store_warehouses.get(store, ())) if store else ()
        taken, short = allocate(item.units, stock, left_total, prefer)
        for code, units in taken.items():
            by_warehouse[code] = by_warehouse.get(code, 0) + units
            if code != NOT_STATED:
                stock[code] -= units
        left_total -= item.units - short
        result.total += item.units
        result.short += short
    return result


# --- what a store may offer -------------------------------------------------------------------
_stores: list[Callable[[], tuple[dict[str, tuple[str, ...]], int]]] = []


def register_stores(provider: Callable[[], tuple[dict[str, tuple[str, ...]], int]]) -> None:
    """The app publishing the price list says which stores it lists: `provider()` ->
    ({store id: its warehouse codes (empty: the total stock)}, the minimum stock to publish)."""
    _stores[:] = [provider]


def stores() -> tuple[dict[str, tuple[str, ...]], int]:
    """The registered stores and publish minimum; ({}, 1) when no price list is registered."""
    return _stores[0]() if _stores else ({}, 1)


def offered(
    total: int, warehouses: dict, reservation: Reservation | None, store_warehouses: dict, minimum: int
) -> dict[str, int]:
    """{store id: units it offers}: its warehouses' stock (a store without warehouses: the total)
    less the units reserved there; 0 (published as unavailable) below `minimum`."""
    reservation = reservation or Reservation()
    result = {}
    for store, codes in store_warehouses.items():
        if codes:
            count = sum(max(warehouses.get(c, 0) - reservation.by_warehouse.get(c, 0), 0) for c in codes)
        else:
            count = max(total - reservation.total, 0)
        result[store] = count if count >= max(minimum, 1) else 0
    return result


@dataclass
class StockView:
    """One product's stock as the product page shows it."""

    total: int  # promised
    warehouses: dict[str, int]  # promised per warehouse
    reserved: Reservation
    offered: dict[str, int]  # per Kaspi store (empty when no price list is registered)
    minimum: int  # below it a store is published as unavailable


def stock_view(product) -> StockView:
    """Al-Style's stock, what orders hold of it and what each Kaspi store offers, for one product."""
    total = promised_stock(product.stock, product.stock_qualifier)
    warehouses = {str(k): int(v) for k, v in (product.warehouse_stock or {}).items() if int(v) > 0}
    store_warehouses, threshold = stores()
    reserved = reserve(total, warehouses, demands([product.pk]).get(product.pk, []), store_warehouses)
    minimum = max(threshold, product.publish_min_stock, 1)
    return StockView(
        total, warehouses, reserved, offered(total, warehouses, reserved, store_warehouses, minimum), minimum
    )
