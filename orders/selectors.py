"""Reads of orders used by the pull, the admin and the export.

The margins are computed by `orders.financials` from what is read here (entries with their
products, and the commission percent of those products).
"""

from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from catalog.models import Product
from catalog.selectors import commission_percent_for_products
from catalog.sku import article_for_sku
from feeds.selectors import sku_prefix

from .financials import Financials, financials
from .models import (
    FINAL_STATUSES,
    RETURN_CHECK_EVERY,
    RETURN_PERIOD,
    AutoAcceptCheck,
    AutoAcceptOutcome,
    AutoAcceptRule,
    AutoAcceptSettings,
    MasterProductSku,
    Order,
    OrderEntry,
    OrderEvent,
    OrderStatus,
    PullRun,
)
from .purchase_list import paid_costs

AUTOACCEPT_COUNTED = (AutoAcceptOutcome.ACCEPTED, AutoAcceptOutcome.SENDING, AutoAcceptOutcome.UNKNOWN)


# --- for the pull ---------------------------------------------------------------------------
FINGERPRINT = ("pk", "kaspi_id", "attributes_hash", "version", "state", "status", "accepted_at")


def order_fingerprints(kaspi_ids: list[str]) -> dict[str, dict]:
    """{kaspi_id: {pk, attributes_hash, version, state, status, accepted_at}} of the orders already stored."""
    rows = Order.objects.filter(kaspi_id__in=kaspi_ids).values(*FINGERPRINT)
    return {row["kaspi_id"]: row for row in rows}


def order_fingerprint(pk: int) -> dict:
    """The same fingerprint of one stored order."""
    return Order.objects.values(*FINGERPRINT).get(pk=pk)


def order_pks(kaspi_ids: list[str]) -> dict[str, int]:
    return dict(Order.objects.filter(kaspi_id__in=kaspi_ids).values_list("kaspi_id", "pk"))


def unmatched_skus() -> set[str]:
    """SKUs of stored entries that no catalog product matched."""
    return set(OrderEntry.waiting_for_product().values_list("sku", flat=True).distinct())


def product_ids_for_skus(skus) -> dict[str, int]:
    """{merchant SKU: catalog product id} for the SKUs the feed published (others are absent)."""
    prefix = sku_prefix()
    article_by_sku = {sku: article_for_sku(sku, prefix) for sku in skus}
    articles = {a for a in article_by_sku.values() if a is not None}
    id_by_article = dict(Product.objects.filter(article__in=articles).values_list("article", "pk"))
    return {sku: id_by_article[a] for sku, a in article_by_sku.items() if a in id_by_article}


def known_master_skus(master_ids, since: datetime) -> dict[str, str]:
    """{Kaspi product id: merchant SKU} as Kaspi answered since `since`, for these products."""
    rows = MasterProductSku.objects.filter(master_product_id__in=list(master_ids), looked_up_at__gte=since)
    return dict(rows.values_list("master_product_id", "sku"))


def orders_to_refresh(now: datetime, exclude_kaspi_ids=()) -> list[tuple[int, str, bool]]:
    """(pk, code, is a return check) of the stored orders to re-read by their code, except those
    just seen in the lists: every order that may still change (not final), and completed orders
    within RETURN_PERIOD of their last change not checked for a return in RETURN_CHECK_EVERY."""
    exclude = set(exclude_kaspi_ids)
    returnable = Q(status=OrderStatus.COMPLETED, changed_at__gte=now - RETURN_PERIOD) & (
        Q(return_checked_at__isnull=True) | Q(return_checked_at__lt=now - RETURN_CHECK_EVERY)
    )
    rows = (
        Order.objects.filter(~Q(status__in=FINAL_STATUSES) | returnable)
        .values_list("kaspi_id", "pk", "code", "status")
        .order_by("created_at")
    )
    return [
        (pk, code, status == OrderStatus.COMPLETED) for kaspi_id, pk, code, status in rows if kaspi_id not in exclude
    ]


# --- for the admin ----------------------------------------------------------------------------
def order_list(queryset: QuerySet) -> QuerySet:
    """The admin's order list: entries (with products) prefetched for item counts and margins."""
    return queryset.prefetch_related(Prefetch("entries", queryset=OrderEntry.objects.select_related("product")))


def items_count(order: Order) -> Decimal | int:
    total = sum((e.quantity for e in order.entries.all()), Decimal(0))
    return int(total) if total == int(total) else total


def costs_at_order(product_ids) -> dict[int, tuple[int | None, Decimal]]:
    """{product id: (dealer price, commission percent)} now: stored on new entries as their cost."""
    ids = set(product_ids)
    percents = commission_percent_for_products(ids)
    prices = dict(Product.objects.filter(pk__in=ids).values_list("pk", "dealer_price")) if ids else {}
    return {pk: (prices.get(pk), percents.get(pk, Decimal(0))) for pk in ids}


def order_financials(order: Order) -> Financials:
    """The order page: each entry with its product, dealer cost, commission and margin."""
    entries = list(order.entries.select_related("product").order_by("entry_number"))
    percents = commission_percent_for_products({e.product_id for e in entries if e.product_id})
    return financials(order, entries, percents, paid_costs(e.pk for e in entries))


def margins_for_orders(orders) -> dict[int, Decimal | None]:
    """{order id: net margin} for a page of orders from `order_list` (one commission lookup)."""
    orders = list(orders)
    return _margins(orders, {o.pk: list(o.entries.all()) for o in orders})


def _margins(orders: list[Order], entries_of: dict[int, list[OrderEntry]]) -> dict[int, Decimal | None]:
    entries = [e for order_entries in entries_of.values() for e in order_entries]
    percents = commission_percent_for_products({e.product_id for e in entries if e.product_id})
    paid = paid_costs(e.pk for e in entries)
    return {o.pk: financials(o, entries_of.get(o.pk, []), percents, paid).margin for o in orders}


def order_timeline(order: Order) -> QuerySet:
    return OrderEvent.objects.filter(order=order).select_related("user").order_by("at", "pk")


# --- for the export -------------------------------------------------------------------------------
def export_rows(queryset: QuerySet, *, with_customer: bool):
    """One row per entry (an order without entries still gets a row), order columns repeated.
    The first row is the header. Customer columns only for users allowed to see them."""
    order_columns = [
        "code",
        "created_at",
        "state",
        "status",
        "total_price",
        "payment_mode",
        "delivery_mode",
        "is_kaspi_delivery",
        "city",
        "delivery_cost_for_seller",
    ]
    customer_columns = ["customer_name", "customer_phone", "delivery_address"] if with_customer else []
    entry_columns = [
        "sku",
        "product_article",
        "name",
        "quantity",
        "base_price",
        "entry_total",
        "dealer_cost",
        "commission",
        "line_margin",
    ]
    yield [*order_columns, *customer_columns, *entry_columns]
    orders = order_list(queryset.prefetch_related(None))
    for chunk in _chunks(orders.iterator(chunk_size=500), 500):
        percents = commission_percent_for_products(
            {e.product_id for o in chunk for e in o.entries.all() if e.product_id}
        )
        paid = paid_costs(e.pk for o in chunk for e in o.entries.all())
        for order in chunk:
            head = [getattr(order, c) for c in order_columns + customer_columns]
            lines = financials(order, list(order.entries.all()), percents, paid).lines
            if not lines:
                yield head + [""] * len(entry_columns)
            for line in lines:
                e = line.entry
                yield head + [
                    e.sku,
                    e.product.article if e.product else "",
                    e.name,
                    e.quantity,
                    e.base_price,
                    e.total_price,
                    line.dealer_cost,
                    line.commission,
                    line.margin,
                ]


def _chunks(iterable, size):
    chunk = []
    for item in iterable:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def dashboard_status() -> dict:
    """Orders at a glance: how many wait for acceptance, and the last pull."""
    return {
        "to_accept": Order.objects.filter(status=OrderStatus.APPROVED_BY_BANK).count(),
        "last_pull": PullRun.objects.order_by("-started_at", "-pk").first(),
        "autoaccept": autoaccept_status(),
    }


def autoaccept_check(order: Order):
    """Auto-accept's decision on the order (None: not decided), for the order page."""
    return AutoAcceptCheck.objects.filter(order=order).first()


def autoaccepted_today(now: datetime) -> int:
    """Orders auto-accept sent to Kaspi since midnight (Almaty): what the daily cap counts
    (accepted, being accepted, and unknown outcomes)."""
    midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return AutoAcceptCheck.objects.filter(checked_at__gte=midnight, outcome__in=AUTOACCEPT_COUNTED).count()


def autoaccept_status() -> dict:
    """The dashboard's auto-accept line: on or off, active rules, accepted today against the cap."""
    return {
        "settings": AutoAcceptSettings.load(),
        "rules": AutoAcceptRule.objects.filter(is_active=True).count(),
        "today": autoaccepted_today(timezone.now()),
    }


# --- the dashboard's 30 days -------------------------------------------------------------------
SALES_DAYS = 30
NOT_SALES = (OrderStatus.CANCELLED, OrderStatus.CANCELLING, OrderStatus.RETURNED)
# What daily_sales reads of an order and its entries (orders.financials uses no other field).
SALES_ORDER_FIELDS = ("created_at", "total_price", "status", "delivery_cost_for_seller")
SALES_ENTRY_FIELDS = (
    "order_id",
    "product_id",
    "quantity",
    "total_price",
    "dealer_price_at_order",
    "commission_percent_at_order",
    "product__dealer_price",
)


def daily_sales(now: datetime | None = None, days: int = SALES_DAYS) -> list[dict]:
    """One row per day (Almaty), oldest first, for the last `days` days including today:
    {"day": date, "orders": n, "revenue": Decimal, "margin": Decimal} of the orders created that
    day and not cancelled or returned (margins as on the order page; unknown costs count as 0)."""
    today = timezone.localdate(now or timezone.now())
    first = today - timedelta(days=days - 1)
    start = timezone.make_aware(datetime.combine(first, datetime.min.time()))
    sales = Order.objects.filter(created_at__gte=start).exclude(status__in=NOT_SALES)
    # A month of a busy shop is ~10,000 orders: only the fields the margin reads, and the entries
    # in one query grouped here (a prefetch builds a queryset per order), 2.3 -> 0.5 s CPU.
    orders = list(sales.only(*SALES_ORDER_FIELDS))
    entries_of: dict[int, list[OrderEntry]] = {}
    rows = OrderEntry.objects.filter(order__in=sales.values("pk")).select_related("product")
    for entry in rows.only(*SALES_ENTRY_FIELDS):
        entries_of.setdefault(entry.order_id, []).append(entry)
    margins = _margins(orders, entries_of)
    rows = {first + timedelta(days=i): {"orders": 0, "revenue": Decimal(0), "margin": Decimal(0)} for i in range(days)}
    for order in orders:
        row = rows.get(timezone.localtime(order.created_at).date())
        if row is not None:
            row["orders"] += 1
            row["revenue"] += order.total_price
            row["margin"] += margins[order.pk] or 0
    return [{"day": day, **row} for day, row in rows.items()]
