"""Auto-accept: orders waiting for acceptance that a rule allows are accepted without a person.

Opt-in: off until staff turn it on (the switch on the dashboard, `AutoAcceptSettings`), and it
then applies to orders that arrive while it is on. Each waiting order is decided once, after the
order pull stored it (`auto_accept_waiting`, run by the pull task):

1. Conditions every rule shares: the order has entries, every entry is matched to a catalog
   product, and for each product its Al-Style stock as last imported, read as what can be
   promised (`catalog.normalize.promised_stock`: ">50" is 50, "<10" is 1), is at least the
   quantity ordered (entries of one product added up); a product Al-Style no longer lists has none.
2. The first active rule (by position) whose own conditions hold: order total not above its
   limit, delivery mode in its list, payment mode in its list.
3. The daily cap (Almaty day; accepted, being accepted and unknown outcomes count).

A matching order is accepted by the same service as the manual action (`accept_order`), with the
timeline note "accepted automatically by rule X" and the source "auto-accept", and announced in
the alerts. The decision row (`AutoAcceptCheck`, one per order) is written *before* Kaspi is
called: an acceptance is never sent twice for one order, even if this process dies half-way. An
unknown outcome at Kaspi is handled exactly like the manual action (read back, never repeated);
the order is then "accepted" if the read-back shows it, "outcome unknown" otherwise. An order that
fails a condition stays for staff, its failed conditions named on the order page.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from alerts.models import Kind
from alerts.services import alert_language, notify
from catalog.normalize import promised_stock
from kaspisync.display import money
from kaspisync.locks import job_lock

from .. import selectors
from ..kaspi import KaspiClient
from ..models import (
    AutoAcceptCheck,
    AutoAcceptOutcome,
    AutoAcceptRule,
    AutoAcceptSettings,
    DeliveryMode,
    EventSource,
    Order,
    OrderStatus,
    PaymentMode,
)
from .actions import ActionError, ActionUnconfirmed, accept_order
from .notices import order_lines, order_link, quantity

log = logging.getLogger(__name__)

LOCK_NAME = "orders.autoaccept"


@dataclass
class Decision:
    rule: AutoAcceptRule | None
    reasons: list[str] = field(default_factory=list)  # failed conditions, in words


@dataclass
class AutoAcceptReport:
    accepted: list[str] = field(default_factory=list)  # order codes
    held: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    skipped: str = ""  # why nothing was looked at (off, another run)


def _label(choices, value: str) -> str:
    return str(choices(value).label) if value in choices.values else value


def entry_conditions(order: Order) -> list[str]:
    """What every rule requires of the order's entries; the failed ones, in words."""
    entries = list(order.entries.select_related("product").order_by("entry_number"))
    if not entries:
        return [_("the order has no entries")]
    failed, ordered, products = [], defaultdict(Decimal), {}
    for entry in entries:
        if entry.product is None:
            failed.append(
                _("“%(name)s” (SKU %(sku)s) is not matched to a catalog product")
                % {"name": entry.name or entry.master_product_code, "sku": entry.sku or "—"}
            )
            continue
        ordered[entry.product_id] += entry.quantity
        products[entry.product_id] = entry.product
    for product_id, wanted in ordered.items():
        product = products[product_id]
        stock = promised_stock(product.stock, product.stock_qualifier) if product.is_active else 0
        if stock < wanted:
            failed.append(
                _("Al-Style stock of “%(name)s” is %(stock)s, %(qty)s ordered")
                % {
                    "name": product.name,
                    "stock": product.stock_display if product.is_active else 0,
                    "qty": quantity(wanted),
                }
            )
    return failed


def rule_conditions(order: Order, rule: AutoAcceptRule) -> list[str]:
    """The rule's own conditions that the order fails, in words."""
    failed = []
    if order.total_price > rule.max_total:
        failed.append(
            _("the total %(total)s is above the limit of %(limit)s")
            % {"total": money(order.total_price), "limit": money(rule.max_total)}
        )
    if order.delivery_mode not in rule.delivery_modes:
        failed.append(
            _("delivery “%(mode)s” is not in the rule's list")
            % {"mode": _label(DeliveryMode, order.delivery_mode) or "—"}
        )
    if order.payment_mode not in rule.payment_modes:
        failed.append(
            _("payment “%(mode)s” is not in the rule's list") % {"mode": _label(PaymentMode, order.payment_mode) or "—"}
        )
    return failed


def evaluate(order: Order, rules: list[AutoAcceptRule]) -> Decision:
    """The first rule that allows the order, or None with every failed condition."""
    if not rules:
        return Decision(None, [_("no active auto-accept rule")])
    shared = entry_conditions(order)
    reasons = list(shared)
    for rule in rules:
        own = rule_conditions(order, rule)
        if not shared and not own:
            return Decision(rule)
        reasons += [_("rule “%(rule)s”: %(condition)s") % {"rule": rule.name, "condition": c} for c in own]
    return Decision(None, reasons)


def switch(enabled: bool, user=None) -> AutoAcceptSettings:
    """The dashboard's switch. Turning it on needs an active rule; it applies from now on."""
    with transaction.atomic():
        AutoAcceptSettings.load()
        current = AutoAcceptSettings.objects.select_for_update().get(id=AutoAcceptSettings.SINGLETON_ID)
        if enabled and not AutoAcceptRule.objects.filter(is_active=True).exists():
            raise ValueError(_("Add an active auto-accept rule first: with none, no order could be accepted."))
        now = timezone.now()
        if enabled and not current.enabled:
            current.enabled_at = now
        current.enabled = enabled
        current.changed_by = user.get_username() if user is not None else ""
        current.changed_at = now
        current.save()
    return current


def waiting_orders(since: datetime):
    """Orders waiting for acceptance that arrived while auto-accept was on and are not decided."""
    return Order.objects.filter(
        status=OrderStatus.APPROVED_BY_BANK, autoaccept__isnull=True, first_seen_at__gte=since
    ).order_by("created_at", "pk")


def auto_accept_waiting(*, client: KaspiClient | None = None, now: datetime | None = None) -> AutoAcceptReport:
    """Decide every undecided waiting order (see the module docstring); one run at a time."""
    report = AutoAcceptReport()
    config = AutoAcceptSettings.load()
    if not config.enabled or config.enabled_at is None:
        report.skipped = "off"
        return report
    with job_lock(LOCK_NAME) as lock:
        if lock is None:
            report.skipped = "another run"
            return report
        client = client or KaspiClient()
        for order in waiting_orders(config.enabled_at):
            config.refresh_from_db()
            if not config.enabled:  # the kill switch takes effect between two orders
                report.skipped = "off"
                break
            _decide(order, config, client, now or timezone.now(), report)
            lock.refresh()
    return report


def _decide(order: Order, config: AutoAcceptSettings, client: KaspiClient, now: datetime, report) -> None:
    rules = list(AutoAcceptRule.objects.filter(is_active=True))
    with alert_language():
        decision = evaluate(order, rules)
        if decision.rule is None:
            _record(order, AutoAcceptOutcome.HELD, None, decision.reasons, now)
            report.held.append(order.code)
            return
        if selectors.autoaccepted_today(now) >= config.daily_cap:
            reason = ngettext(
                "the daily cap of auto-accept is reached: %(n)s order",
                "the daily cap of auto-accept is reached: %(n)s orders",
                config.daily_cap,
            ) % {"n": config.daily_cap}
            _record(order, AutoAcceptOutcome.CAPPED, decision.rule, [reason], now)
            report.held.append(order.code)
            return
        # Claimed before Kaspi is called: whatever happens next, this order is never sent twice.
        if not _record(order, AutoAcceptOutcome.SENDING, decision.rule, [], now):
            return
        note = _("accepted automatically by rule “%(rule)s”") % {"rule": decision.rule.name}
        try:
            accept_order(order, None, client=client, note=note, source=EventSource.AUTO)
        except ActionUnconfirmed as exc:
            order.refresh_from_db()
            confirmed = order.status == OrderStatus.ACCEPTED_BY_MERCHANT
            outcome = AutoAcceptOutcome.ACCEPTED if confirmed else AutoAcceptOutcome.UNKNOWN
            _finish(order, outcome, decision.rule, [str(exc)])
            (report.accepted if confirmed else report.unknown).append(order.code)
        except ActionError as exc:
            _finish(order, AutoAcceptOutcome.REFUSED, decision.rule, [str(exc)])
            report.refused.append(order.code)
        else:
            _finish(order, AutoAcceptOutcome.ACCEPTED, decision.rule, [])
            report.accepted.append(order.code)


def _record(order: Order, outcome: str, rule, reasons: list[str], now: datetime) -> bool:
    """Write the order's decision; False if it has one already (decided elsewhere meanwhile)."""
    try:
        with transaction.atomic():
            AutoAcceptCheck.objects.create(
                order=order,
                checked_at=now,
                outcome=outcome,
                rule=rule,
                rule_name=rule.name if rule else "",
                reasons=[str(r) for r in reasons],
            )
    except IntegrityError:
        return False
    return True


def _finish(order: Order, outcome: str, rule: AutoAcceptRule, reasons: list[str]) -> None:
    """The outcome after Kaspi answered, and its announcement, in one transaction."""
    with transaction.atomic():
        AutoAcceptCheck.objects.filter(order=order).update(outcome=outcome, reasons=[str(r) for r in reasons])
        if outcome == AutoAcceptOutcome.ACCEPTED:
            title = _("Order %(code)s was accepted automatically (rule “%(rule)s”)")
        elif outcome == AutoAcceptOutcome.UNKNOWN:
            title = _("Order %(code)s: auto-accept does not know whether Kaspi accepted it — check the order")
        else:
            title = _("Order %(code)s: Kaspi refused the automatic acceptance — the order waits for staff")
        notify(
            Kind.ORDER_AUTO_ACCEPTED,
            f"order:{order.pk}",
            title=title % {"code": order.code, "rule": rule.name},
            lines=[*order_lines(order), *reasons],
            link=order_link(order),
        )
