"""Reads of orders used by the pull, the admin and the export.

The margins are computed by `orders.financials` from what is read here (entries with their
products, and the commission percent of those products); the dashboard's 30 days apply the same
formula in the database (`daily_sales`), a month of orders never read into Python.
"""

from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    F,
    Func,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Greatest
from django.utils import timezone

from catalog.models import Product
from catalog.selectors import commission_percent_by_category, commission_percent_for_products
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
    Purchase,
)
from .purchase_list import paid_costs
from .quality import local_midnight, period_bucket

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


def daily_sales(now: datetime | None = None, days: int = SALES_DAYS) -> list[dict]:
    """One row per day (Almaty), oldest first, for the last `days` days including today:
    {"day": date, "orders": n, "revenue": Decimal, "margin": Decimal} of the orders created that
    day and not cancelled or returned (margins as on the order page; unknown costs count as 0).

    One grouped query, whatever the number of orders: each order's margin is worked out in the
    database by `_order_margin` (orders.financials' formula, in whole tenths of a tiyn), so no
    order or entry is read into Python (10,000 orders a month: 1 s of CPU per dashboard before)."""
    today = timezone.localdate(now or timezone.now())
    first = today - timedelta(days=days - 1)
    bounds = [local_midnight(first + timedelta(days=i)) for i in range(days + 1)]
    sales = Order.objects.filter(created_at__gte=bounds[0], created_at__lt=bounds[-1]).exclude(status__in=NOT_SALES)
    margin = _order_margin(OuterRef("pk")) - _Scaled("delivery_cost_for_seller", MILLI)
    groups = (
        sales.annotate(day=period_bucket(bounds), order_margin=margin)
        .values("day")
        .annotate(
            orders=Count("pk"),
            revenue=Sum(_Scaled("total_price", CENTS)),
            margin=Sum(Coalesce("order_margin", 0)),  # unknown: 0
        )
        .order_by()
    )
    rows = [
        {"day": first + timedelta(days=i), "orders": 0, "revenue": Decimal(0), "margin": Decimal(0)}
        for i in range(days)
    ]
    with _without_jit():
        groups = list(groups)
    for group in groups:
        row = rows[group["day"]]
        row["orders"] = group["orders"]
        row["revenue"] = Decimal(group["revenue"]).scaleb(-2)
        row["margin"] = Decimal(group["margin"]).scaleb(-3)
    return rows


@contextmanager
def _without_jit():
    """PostgreSQL compiles a query it estimates costly to machine code first (JIT): 0.6 s for a
    month of 10,000 orders, which then runs in 0.1 s. Off for the queries inside (SET LOCAL: to
    the end of their transaction); nothing to do on SQLite."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        yield


# Money in the database as whole numbers: SQLite keeps a decimal column as a floating-point number,
# so sums and the commission's rounding are done on integers, exact in both databases.
CENTS, MILLI = 100, 1000  # tiyn; tenths of a tiyn (quantities have 3 decimals, dealer prices 0)


class _Scaled(Func):
    """round(value × factor) as a whole number (`value` holds at most log10(factor) decimals)."""

    output_field = BigIntegerField()
    template = "CAST(ROUND(%(expressions)s * %(factor)s) AS BIGINT)"

    def __init__(self, expression, factor: int):
        super().__init__(expression, factor=int(factor))


class _DivideHalfEven(Func):
    """numerator / divisor (even) rounded half to even, Decimal.quantize's default rounding, for
    whole numbers: |n| + divisor / 2 divided by the divisor, less one on a tie to an odd quotient
    (both databases' integer division truncates towards zero; `%%` is the modulo operator in a
    query with parameters)."""

    output_field = BigIntegerField()

    def __init__(self, numerator, divisor: int):
        super().__init__(numerator)
        self.divisor = int(divisor)

    def as_sql(self, compiler, connection, **extra):
        numerator, params = compiler.compile(self.source_expressions[0])
        d = self.divisor
        up = f"(ABS({{n}}) + {d // 2})"
        template = f"(CASE WHEN {{n}} < 0 THEN -1 ELSE 1 END * ({up} / {d} - CASE WHEN {up} %% {2 * d} = {d} THEN 1 ELSE 0 END))"
        return template.replace("{n}", f"({numerator})"), tuple(params) * template.count("{n}")


def _commission_percent_today(default: Decimal, rates: dict[int, Decimal], scale: int):
    """The entry's product's commission percent today × `scale` (catalog.selectors'
    commission_percent_for_products; no product: 0), for entries stored without one."""
    by_rate: dict[Decimal, list[int]] = {}
    for category_id, rate in rates.items():
        by_rate.setdefault(rate, []).append(category_id)
    return Case(
        When(product__isnull=True, then=Value(0)),
        *[
            When(product__category_id__in=sorted(ids), then=Value(int(rate * scale)))
            for rate, ids in sorted(by_rate.items())
        ],
        default=Value(int(default * scale)),
        output_field=BigIntegerField(),
    )


def _percent_scale(default: Decimal, rates: dict[int, Decimal]) -> int:
    """10^decimals of the commission percents (2 as stored; the default from the settings may
    have more)."""
    decimals = max([2] + [-r.as_tuple().exponent for r in [default, *rates.values()]])
    return 10**decimals


def _order_margin(order):
    """The net margin before delivery of `order` (an OuterRef to an order) in tenths of a tiyn, as
    `orders.financials.financials` computes it line by line: None when a line's is unknown or
    the order has no lines."""
    default, rates = commission_percent_by_category()
    scale = _percent_scale(default, rates)
    bought = Purchase.objects.filter(entry=OuterRef("pk"), unmarked_at__isnull=True).values("entry")
    lines = (
        OrderEntry.objects.filter(order=order)
        .annotate(
            total=_Scaled("total_price", CENTS),
            bought=Coalesce(Subquery(bought.annotate(n=Sum("quantity")).values("n")), 0),
            paid=Coalesce(
                Subquery(bought.annotate(c=Sum(Cast("quantity", BigIntegerField()) * F("unit_price"))).values("c")), 0
            ),
            rest=Greatest(_Scaled("quantity", MILLI) - F("bought") * MILLI, Value(0)),
            dealer_price=Coalesce("dealer_price_at_order", "product__dealer_price"),
            percent=Coalesce(
                _Scaled("commission_percent_at_order", scale), _commission_percent_today(default, rates, scale)
            ),
            commission=_DivideHalfEven(F("total") * F("percent"), 100 * scale),
            # a line without a dealer price is known only when every unit of it was bought
            known=Coalesce("dealer_price", Case(When(rest=0, then=Value(0)))),
            line_margin=F("total") * (MILLI // CENTS)
            - F("paid") * MILLI
            - Coalesce("dealer_price", Value(0)) * F("rest")
            - F("commission") * (MILLI // CENTS),
        )
        .order_by()  # (the entries' default order, by order, would join the orders table)
        .values("order")
        .annotate(known_lines=Count("known"), lines=Count("pk"), total_margin=Sum("line_margin"))
        .annotate(margin=Case(When(known_lines=F("lines"), then=F("total_margin")), output_field=BigIntegerField()))
        .values("margin")
    )
    return Subquery(lines, output_field=BigIntegerField())
