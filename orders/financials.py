"""An order's money: what each line earns and what the order earns, computed from stored values.

Margin of an order line = line total − dealer cost × quantity − Kaspi commission (percent of the
line total). The dealer price and the commission are those kept on the entry when it was first
stored (`dealer_price_at_order`, `commission_percent_at_order`), so a past order's margin does
not move with later imports and rule changes; an entry stored without them (matched to a product
only later) uses the catalog's today; units marked bought from Al-Style cost the price paid
instead (`paid`: {entry id: (units, cost)}, from `orders.purchase_list.paid_costs`). The order's net margin is the sum of its lines minus the
delivery cost Kaspi charges the seller. Unknown when a line has no catalog product or no dealer
price; not counted for cancelled or returned orders.

Pure functions: the reads (entries with their products, commission percents) are the callers'
(`orders.selectors`).
"""

from dataclasses import dataclass
from decimal import Decimal

from .models import Order, OrderEntry, OrderStatus

CENT = Decimal("0.01")
NO_MARGIN_STATUSES = (OrderStatus.CANCELLED, OrderStatus.RETURNED)


@dataclass
class Line:
    entry: OrderEntry
    dealer_cost: Decimal | None  # dealer price × quantity
    commission_percent: Decimal | None
    commission: Decimal | None
    margin: Decimal | None
    purchased: int = 0  # units marked bought from Al-Style (their cost is the price paid)


@dataclass
class Financials:
    lines: list[Line]
    revenue: Decimal
    dealer_cost: Decimal | None
    commission: Decimal | None
    delivery_cost_for_seller: Decimal
    margin: Decimal | None


def line(entry: OrderEntry, percents: dict[int, Decimal], paid: dict | None = None) -> Line:
    """The entry's margin, from its cost when it was ordered (`percents`: the commission percent
    today by product id, for entries stored without one); units bought cost what was paid."""
    product = entry.product
    dealer_price = entry.dealer_price_at_order
    if dealer_price is None and product is not None:
        dealer_price = product.dealer_price
    bought, paid_cost = (paid or {}).get(entry.pk, (0, 0))
    rest = max(entry.quantity - bought, 0)
    if dealer_price is None and rest:
        return Line(entry, None, percents.get(entry.product_id), None, None, bought)
    percent = entry.commission_percent_at_order
    if percent is None:
        percent = percents.get(entry.product_id, Decimal(0))
    dealer_cost = paid_cost + (Decimal(dealer_price) * rest if rest else 0)
    commission = (entry.total_price * percent / 100).quantize(CENT)
    return Line(entry, dealer_cost, percent, commission, entry.total_price - dealer_cost - commission, bought)


def financials(
    order: Order, entries: list[OrderEntry], percents: dict[int, Decimal], paid: dict | None = None
) -> Financials:
    """The order's lines and totals; the margin only when every line's is known."""
    lines = [line(e, percents, paid) for e in entries]
    known = all(item.margin is not None for item in lines) and lines
    margin = None
    if known and order.status not in NO_MARGIN_STATUSES:
        margin = sum(item.margin for item in lines) - order.delivery_cost_for_seller
    return Financials(
        lines=lines,
        revenue=sum((e.total_price for e in entries), Decimal(0)),
        dealer_cost=sum(item.dealer_cost for item in lines) if known else None,
        commission=sum(item.commission for item in lines) if known else None,
        delivery_cost_for_seller=order.delivery_cost_for_seller,
        margin=margin,
    )
