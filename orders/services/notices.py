"""What the orders app tells staff through the alerts (`alerts.services.notify`).

- `announce_waiting(order_pks)`: an order waits for acceptance (APPROVED_BY_BANK) — called by
  the pull inside the transaction that stores it, once per order (the key is the order: a
  re-pulled order is never announced again);
- `remind_waiting(now)`: an order still waiting ALERT_ORDER_REMINDER_MINUTES after staff were
  told (its "waits for acceptance" alert), once;
- `daily_summary(day)`: yesterday's orders, revenue and net margin, what waits now, and the
  30-day share of cancelled orders (Kaspi's quality limit), at ALERT_DAILY_SUMMARY_AT (beat),
  once per day.

"Waiting" here is our copy of the order, which may be minutes old: staff accept and buyers cancel
in the Kaspi cabinet too. So the reminder and the summary first read the orders waiting here again
from Kaspi, one call each (`pull.refresh_by_code`, stored as the pull stores them); an order Kaspi
cannot be asked about counts as stored here (the failure is logged, never raised).

An order in an alert is its number, total, items, delivery and payment modes and a link to its
admin page: never the customer's name, phone or address.
"""

import logging
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from alerts.models import Alert, Kind
from alerts.services import alert_language, notify
from kaspisync.display import group, money
from kaspisync.locks import job_lock
from kaspisync.secrets import mask

from .. import selectors
from ..kaspi import KaspiClient
from ..models import AutoAcceptCheck, AutoAcceptOutcome, DeliveryMode, Order, OrderStatus, PaymentMode
from .quality import summary_line as quality_summary_line

log = logging.getLogger(__name__)

REMIND_LOCK = "orders.remind"
NOT_SOLD = (OrderStatus.CANCELLED, OrderStatus.CANCELLING, OrderStatus.RETURNED)


def quantity(value: Decimal) -> str:
    return str(int(value)) if value == int(value) else formats.number_format(value.normalize(), use_l10n=True)


def _label(choices, value: str) -> str:
    return str(choices(value).label) if value in choices.values else value


def order_link(order: Order) -> str:
    return reverse("admin:orders_order_change", args=[order.pk])


def order_lines(order: Order) -> list[str]:
    """An order in an alert: total, items, delivery and payment (no customer data)."""
    lines = [_("Total: %(total)s") % {"total": money(order.total_price)}]
    for entry in order.entries.all():
        lines.append(
            _("%(name)s × %(qty)s — %(sum)s")
            % {"name": entry.name or entry.sku, "qty": quantity(entry.quantity), "sum": money(entry.total_price)}
        )
    if order.delivery_mode:
        lines.append(_("Delivery: %(mode)s") % {"mode": _label(DeliveryMode, order.delivery_mode)})
    if order.payment_mode:
        lines.append(_("Payment: %(mode)s") % {"mode": _label(PaymentMode, order.payment_mode)})
    return lines


def _orders(pks) -> list[Order]:
    return list(Order.objects.filter(pk__in=pks).prefetch_related("entries").order_by("created_at", "pk"))


def announce_waiting(order_pks) -> int:
    """Orders that just started waiting for acceptance; call inside the transaction that stored
    them. Returns how many were announced (an order announced before is not, again)."""
    announced = 0
    with alert_language():
        for order in _orders(order_pks):
            if order.status != OrderStatus.APPROVED_BY_BANK:
                continue
            alert = notify(
                Kind.ORDER_WAITING,
                f"order:{order.pk}",
                title=_("Order %(code)s waits for acceptance — %(total)s")
                % {"code": order.code, "total": money(order.total_price)},
                lines=order_lines(order),
                link=order_link(order),
            )
            announced += alert is not None
    return announced


def remind_waiting(now: datetime | None = None, *, client: KaspiClient | None = None) -> int:
    """One reminder per order still waiting ALERT_ORDER_REMINDER_MINUTES after staff were told
    (its "waits for acceptance" alert was written). Our copy may be minutes old (staff accept and
    buyers cancel in the Kaspi cabinet too), so the orders due are first read again from Kaspi and
    stored as the pull stores them (one call each): only those Kaspi still shows waiting are
    reminded. If Kaspi cannot be asked, the failure is logged and they are reminded all the same
    (better a superfluous reminder than a missed order). One run at a time."""
    now = now or timezone.now()
    with job_lock(REMIND_LOCK) as lock:
        if lock is None:  # another run is asking Kaspi about the same orders
            return 0
        due = _due_for_reminder(now)
        if not due:
            return 0
        # Oldest first (Kaspi cancels those first), on every database alike: a Kaspi that fails
        # half-way has been asked about the most urgent ones.
        codes = Order.objects.filter(pk__in=list(due)).order_by("created_at", "pk").values_list("pk", "code")
        kaspi_says = _ask_kaspi(list(codes), client, "order reminder")
        reminded = 0
        with alert_language(), transaction.atomic():
            for order in _orders(due):
                if order.status != OrderStatus.APPROVED_BY_BANK:
                    continue
                if kaspi_says.get(order.pk, OrderStatus.APPROVED_BY_BANK) != OrderStatus.APPROVED_BY_BANK:
                    continue  # handled at Kaspi; our row was written meanwhile, so it could not be stored
                alert = notify(
                    Kind.ORDER_REMINDER,
                    f"order:{order.pk}",
                    title=_("Order %(code)s still waits for acceptance (%(time)s)")
                    % {"code": order.code, "time": timesince(due[order.pk], now, depth=1)},
                    lines=[
                        _("Kaspi cancels orders that are not accepted in time, and counts it against the shop."),
                        *order_lines(order),
                    ],
                    link=order_link(order),
                )
                reminded += alert is not None
    return reminded


def _due_for_reminder(now: datetime) -> dict[int, datetime]:
    """{pk: when staff were told} of the orders waiting here that are due for their
    reminder and have not had it."""
    after = timedelta(minutes=settings.ALERT_ORDER_REMINDER_MINUTES)
    waiting = {
        f"order:{pk}": pk
        for pk in Order.objects.filter(status=OrderStatus.APPROVED_BY_BANK).values_list("pk", flat=True)
    }
    told = dict(
        Alert.objects.filter(kind=Kind.ORDER_WAITING, key__in=list(waiting), created_at__lte=now - after).values_list(
            "key", "created_at"
        )
    )
    reminded = set(Alert.objects.filter(kind=Kind.ORDER_REMINDER, key__in=list(told)).values_list("key", flat=True))
    return {waiting[key]: at for key, at in told.items() if key not in reminded}


def _ask_kaspi(orders: list[tuple[int, str]], client: KaspiClient | None, purpose: str) -> dict[int, str]:
    """{pk: the status Kaspi shows now} of these orders, each stored as the pull stores it; the
    orders Kaspi could not be asked about are left out, the failure logged (masked), never raised."""
    if not orders:
        return {}
    from .pull import refresh_by_code  # the pull imports this module (announce_waiting)

    try:
        statuses, failures = refresh_by_code(orders, client or KaspiClient())
    except Exception as exc:  # never raised into the task: the reminders still go out
        log.exception("%s: reading the orders from Kaspi failed: %s", purpose, mask(exc))
        return {}
    for code, exc in failures:
        log.warning(
            "%s: order %s could not be read from Kaspi (%d of %d orders not read, taken as stored here): %s",
            purpose,
            code,
            len(orders) - len(statuses),
            len(orders),
            mask(exc),
        )
    return statuses


def daily_summary(day: date | None = None, now: datetime | None = None, *, client: KaspiClient | None = None):
    """The summary of `day` (default: yesterday, Almaty) and of what waits now; once per day.
    The orders waiting here are first read again from Kaspi (as for the reminder), so that the
    count of what waits leaves out those handled in the Kaspi cabinet since the last pull."""
    now = now or timezone.now()
    day = day or (timezone.localdate(now) - timedelta(days=1))
    key = f"summary:{day.isoformat()}"
    if not Alert.objects.filter(kind=Kind.DAILY_SUMMARY, key=key).exists():
        waiting_here = (
            Order.objects.filter(status=OrderStatus.APPROVED_BY_BANK)
            .order_by("created_at", "pk")
            .values_list("pk", "code")
        )
        _ask_kaspi(list(waiting_here), client, "daily summary")
    start = timezone.make_aware(datetime.combine(day, datetime.min.time()))
    orders = Order.objects.filter(created_at__gte=start, created_at__lt=start + timedelta(days=1))
    sold = orders.exclude(status__in=NOT_SOLD)
    revenue = sold.aggregate(total=Sum("total_price"))["total"] or Decimal(0)
    margins = selectors.margins_for_orders(selectors.order_list(sold))
    known = [m for m in margins.values() if m is not None]
    waiting = Order.objects.filter(status=OrderStatus.APPROVED_BY_BANK).count()
    to_ship = Order.objects.filter(status=OrderStatus.ACCEPTED_BY_MERCHANT).count()
    held = AutoAcceptCheck.objects.filter(
        Q(outcome__in=[AutoAcceptOutcome.HELD, AutoAcceptOutcome.CAPPED, AutoAcceptOutcome.UNKNOWN]),
        order__status=OrderStatus.APPROVED_BY_BANK,
    ).count()
    with alert_language():
        count, cancelled = orders.count(), orders.filter(status__in=NOT_SOLD).count()
        lines = [
            ngettext("Orders: %(n)s", "Orders: %(n)s", count) % {"n": group(count)}
            + (
                ngettext(" (%(n)s cancelled)", " (%(n)s cancelled)", cancelled) % {"n": group(cancelled)}
                if cancelled
                else ""
            ),
            _("Revenue: %(sum)s") % {"sum": money(revenue)},
        ]
        if known:
            margin = _("Net margin: %(sum)s") % {"sum": money(sum(known))}
            if len(known) < len(margins):
                unknown = len(margins) - len(known)
                margin += ngettext(
                    " (without %(n)s order whose cost is unknown)",
                    " (without %(n)s orders whose cost is unknown)",
                    unknown,
                ) % {"n": group(unknown)}
            lines.append(margin)
        lines += [
            "",
            _("Now:"),
            ngettext("%(n)s order waits for acceptance", "%(n)s orders wait for acceptance", waiting)
            % {"n": group(waiting)},
            ngettext(
                "%(n)s accepted order waits to be handed over", "%(n)s accepted orders wait to be handed over", to_ship
            )
            % {"n": group(to_ship)},
        ]
        if held:
            lines.append(
                ngettext(
                    "%(n)s of them left for staff by auto-accept",
                    "%(n)s of them left for staff by auto-accept",
                    held,
                )
                % {"n": group(held)}
            )
        lines += ["", quality_summary_line(now)]
        return notify(
            Kind.DAILY_SUMMARY,
            key,
            title=_("kaspisync: summary of %(day)s") % {"day": formats.date_format(day, "DATE_FORMAT")},
            lines=lines,
            link=reverse("admin:orders_order_changelist"),
        )
