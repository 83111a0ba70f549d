"""Marking goods as bought from Al-Style, and unmarking them (every write of the purchase list).

    mark_entry_purchased(entry_id, quantity=2, unit_price=10500, document="АС-001", user=u)
    mark_article_purchased(20908, quantity=5, unit_price=10500, document="АС-001", user=u)
    unmark_purchase(purchase_id, user=u, reason="wrong order")

A mark records the units, Al-Style's document number and the price actually paid per unit (it
replaces the dealer price estimate in the order's margin). An article's units go to its open
entries earliest first (planned delivery, then creation), as the purchase list shows them. The
entries concerned are locked while their remaining need is read and written, so two staff
marking the same goods at once cannot buy more than was ordered. Every mark and unmark is a
line in the order's timeline with the user; an order whose every unit is bought gets a "goods
bought" line. Unmarking keeps the row (who, when, why): nothing is ever deleted.
"""

import logging
from dataclasses import dataclass, field
from functools import partial

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from catalog.reservations import reservations_changed
from kaspisync.display import money

from .. import purchase_list as selectors
from ..models import EventSource, Order, OrderEntry, OrderEvent, OrderStatus, Purchase

log = logging.getLogger(__name__)

MAX_DOCUMENT = 64
MAX_REASON = 500
MAX_UNIT_PRICE = 1_000_000_000
# A mark for one entry may also record goods bought for an order completed meanwhile.
ENTRY_MARK_STATUSES = (*selectors.NEED_STATUSES, OrderStatus.COMPLETED)


class PurchaseError(Exception):
    """Nothing was recorded; the message says why, for the user."""


@dataclass
class MarkResult:
    purchases: list[Purchase] = field(default_factory=list)
    bought_orders: list[Order] = field(default_factory=list)  # every unit of these is now bought

    @property
    def units(self) -> int:
        return sum(p.quantity for p in self.purchases)


def _check(quantity, unit_price, document: str) -> str:
    if not isinstance(quantity, int) or quantity < 1:
        raise PurchaseError(_("The quantity must be a whole number of at least 1."))
    if not isinstance(unit_price, int) or not 0 < unit_price < MAX_UNIT_PRICE:
        raise PurchaseError(_("The price paid must be a whole number of tenge above zero."))
    document = (document or "").strip()
    if not document:
        raise PurchaseError(_("Enter Al-Style's document number."))
    if len(document) > MAX_DOCUMENT:
        raise PurchaseError(_("Al-Style's document number is at most %(n)s characters.") % {"n": MAX_DOCUMENT})
    return document


def _locked_entries(**filters) -> list[OrderEntry]:
    """The entries, locked until the transaction ends (PostgreSQL: only the entry rows; SQLite's
    immediate transactions serialise writers anyway)."""
    of = ("self",) if connection.features.has_select_for_update_of else ()
    return list(OrderEntry.objects.filter(**filters).select_related("order", "product").select_for_update(of=of))


def mark_entry_purchased(entry_id: int, *, quantity: int, unit_price: int, document: str, user) -> MarkResult:
    """Mark `quantity` units of one order entry as bought."""
    document = _check(quantity, unit_price, document)
    with transaction.atomic():
        entries = _locked_entries(pk=entry_id)
        if not entries:
            raise PurchaseError(_("This order entry no longer exists (Kaspi no longer lists it)."))
        entry = entries[0]
        if entry.product_id is None:
            raise PurchaseError(
                _("Order %(code)s: this entry is not matched to a catalog product; it cannot be marked bought.")
                % {"code": entry.order.code}
            )
        if entry.order.status not in ENTRY_MARK_STATUSES:
            raise PurchaseError(
                _("Order %(code)s is %(status)s: nothing is bought for it.")
                % {"code": entry.order.code, "status": entry.order.get_status_display()}
            )
        left = selectors.units(entry.quantity) - selectors.purchased_units([entry.pk]).get(entry.pk, 0)
        if quantity > left:
            raise PurchaseError(_left_message(entry.order.code, left))
        return _record([(entry, quantity)], unit_price, document, user)


def mark_article_purchased(article: int, *, quantity: int, unit_price: int, document: str, user) -> MarkResult:
    """Mark `quantity` units of an Al-Style article as bought: they go to its open entries
    earliest first."""
    document = _check(quantity, unit_price, document)
    with transaction.atomic():
        entries = _locked_entries(product__article=article, order__status__in=selectors.NEED_STATUSES)
        bought = selectors.purchased_units([e.pk for e in entries])
        open_needs = []
        for e in entries:
            left = selectors.units(e.quantity) - bought.get(e.pk, 0)
            if left > 0:
                open_needs.append((e, left))
        open_needs.sort(
            key=lambda pair: (
                pair[0].order.planned_delivery_at or selectors.FAR_FUTURE,
                pair[0].order.created_at,
                pair[0].order.code,
                pair[0].pk,
            )
        )
        needed = sum(left for _e, left in open_needs)
        if needed == 0:
            raise PurchaseError(_("No open order needs article %(article)s.") % {"article": article})
        if quantity > needed:
            raise PurchaseError(
                ngettext(
                    "Open orders need %(n)s unit of article %(article)s: at most that can be marked bought.",
                    "Open orders need %(n)s units of article %(article)s: at most that many can be marked bought.",
                    needed,
                )
                % {"n": needed, "article": article}
            )
        parts, rest = [], quantity
        for entry, left in open_needs:
            if rest == 0:
                break
            take = min(rest, left)
            parts.append((entry, take))
            rest -= take
        return _record(parts, unit_price, document, user)


def _left_message(code: str, left: int) -> str:
    if left <= 0:
        return _("Order %(code)s: this entry is already bought in full.") % {"code": code}
    return ngettext(
        "Order %(code)s: %(n)s unit of this entry is left to buy.",
        "Order %(code)s: %(n)s units of this entry are left to buy.",
        left,
    ) % {"code": code, "n": left}


def _record(parts: list[tuple[OrderEntry, int]], unit_price: int, document: str, user) -> MarkResult:
    """Write the purchases and the timeline (inside the caller's transaction)."""
    now = timezone.now()
    result = MarkResult()
    orders = {}
    for entry, quantity in parts:
        purchase = Purchase.objects.create(
            order=entry.order,
            entry=entry,
            product=entry.product,
            article=entry.product.article,
            quantity=quantity,
            unit_price=unit_price,
            document=document,
            recorded_at=now,
            recorded_by=user,
        )
        result.purchases.append(purchase)
        orders[entry.order_id] = entry.order
        _event(
            entry.order,
            user,
            now,
            ngettext(
                "Bought from Al-Style: %(n)s unit of article %(article)s at %(price)s (document %(document)s).",
                "Bought from Al-Style: %(n)s units of article %(article)s at %(price)s (document %(document)s).",
                quantity,
            )
            % {"n": quantity, "article": purchase.article, "price": money(unit_price), "document": document},
        )
    reservations_may_have_changed("purchase")
    progress = selectors.purchase_progress(orders)
    for order_id, order in orders.items():
        if selectors.is_bought(progress.get(order_id)):
            result.bought_orders.append(order)
            _event(order, user, now, _("Goods bought: every unit of the order is bought from Al-Style."))
    log.info(
        "purchase marked by %s: %s unit(s), document %s, orders %s",
        getattr(user, "username", "?"),
        result.units,
        document,
        ",".join(o.code for o in orders.values()),
    )
    return result


def unmark_purchase(purchase_id: int, *, user, reason: str = "") -> Purchase:
    """Take back a mark: the units are needed again (and the estimate is back in the margin)."""
    reason = (reason or "").strip()[:MAX_REASON]
    with transaction.atomic():
        purchase = Purchase.objects.select_for_update().select_related("order").filter(pk=purchase_id).first()
        if purchase is None:
            raise PurchaseError(_("This purchase does not exist."))
        if purchase.unmarked_at is not None:
            raise PurchaseError(_("This purchase was already unmarked."))
        was_bought = selectors.is_bought(selectors.purchase_progress([purchase.order_id]).get(purchase.order_id))
        now = timezone.now()
        purchase.unmarked_at, purchase.unmarked_by, purchase.unmark_reason = now, user, reason
        purchase.save(update_fields=["unmarked_at", "unmarked_by", "unmark_reason"])
        note = ngettext(
            "Purchase unmarked: %(n)s unit of article %(article)s (document %(document)s).",
            "Purchase unmarked: %(n)s units of article %(article)s (document %(document)s).",
            purchase.quantity,
        ) % {"n": purchase.quantity, "article": purchase.article, "document": purchase.document}
        if reason:
            note = " ".join((note, _("Reason: %(reason)s") % {"reason": reason}))
        _event(purchase.order, user, now, note)
        if was_bought:
            _event(purchase.order, user, now, _("Goods no longer all bought."))
        reservations_may_have_changed("purchase")
    log.info("purchase #%s unmarked by %s", purchase.pk, getattr(user, "username", "?"))
    return purchase


def reservations_may_have_changed(reason: str) -> None:
    """Once the caller's transaction commits, tell whoever follows stock reservations (the price
    list: a debounced rebuild) that what orders hold may have changed. Outside a transaction: now."""
    transaction.on_commit(partial(reservations_changed.send, sender=Purchase, reason=reason), robust=True)


def _event(order: Order, user, at, note: str) -> None:
    OrderEvent.objects.create(order=order, at=at, source=EventSource.USER, user=user, note=note)
