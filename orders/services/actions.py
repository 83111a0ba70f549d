"""Acting on orders at Kaspi: accept, cancel, complete (two-step buyer code), assemble.

Every change at Kaspi is irreversible and visible to the buyer. Kaspi is the authority on what
is allowed (our copy may be minutes old), so a refused change comes back as `ActionError` with
the reason in words and nothing changes here. On success the echoed order is checked, stored,
and the change is recorded in the timeline with the user.
"""

from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from kaspisync.http import ExternalServiceError

from ..kaspi import KaspiClient, KaspiOrder
from ..models import CancellationReason, EventSource, Order, OrderEvent, OrderStatus
from .pull import order_values

MAX_COMMENT = 1000


class ActionError(Exception):
    """The action did not happen; the message says why, for the user."""


@dataclass
class BulkResult:
    done: list[Order] = field(default_factory=list)
    failed: list[tuple[Order, str]] = field(default_factory=list)


def _change(
    order: Order,
    user,
    status: str,
    *,
    expected: str,
    note: str = "",
    extra: dict | None = None,
    headers: dict | None = None,
    client: KaspiClient | None = None,
    local: dict | None = None,
) -> Order:
    client = client or KaspiClient()
    try:
        echoed = client.set_status(order.kaspi_id, order.code, status, extra=extra, headers=headers)
    except ExternalServiceError as exc:
        raise ActionError(_("Kaspi refused: %(error)s. Nothing was changed.") % {"error": exc}) from exc
    if echoed.status != expected:
        raise ActionError(
            _(
                "Kaspi answered with status %(got)s instead of %(expected)s. Nothing was changed here; "
                "the next pull will show the order as Kaspi has it."
            )
            % {"got": echoed.status or "—", "expected": expected}
        )
    _store(order, echoed, user, note, local or {})
    return order


def _store(order: Order, echoed: KaspiOrder, user, note: str, local: dict) -> None:
    before = (order.state, order.status)
    values = {**order_values(echoed), **local, "changed_at": timezone.now()}
    with transaction.atomic():
        Order.objects.filter(pk=order.pk).update(**values, version=F("version") + 1)
        OrderEvent.objects.create(
            order=order,
            at=values["changed_at"],
            source=EventSource.USER,
            user=user,
            from_state=before[0],
            to_state=echoed.state,
            from_status=before[1],
            to_status=echoed.status,
            note=note,
        )
    for name, value in values.items():
        setattr(order, name, value)


def accept_order(order: Order, user, *, client: KaspiClient | None = None) -> Order:
    """APPROVED_BY_BANK → ACCEPTED_BY_MERCHANT."""
    return _change(
        order,
        user,
        OrderStatus.ACCEPTED_BY_MERCHANT,
        expected=OrderStatus.ACCEPTED_BY_MERCHANT,
        note=_("accepted"),
        client=client,
    )


def accept_orders(orders, user, *, client: KaspiClient | None = None) -> BulkResult:
    """Accept several orders; each succeeds or fails on its own."""
    client = client or KaspiClient()
    result = BulkResult()
    for order in orders:
        try:
            result.done.append(accept_order(order, user, client=client))
        except ActionError as exc:
            result.failed.append((order, str(exc)))
    return result


def cancel_order(order: Order, user, reason: str, comment: str = "", *, client: KaspiClient | None = None) -> Order:
    if reason not in CancellationReason.values:
        raise ActionError(_("Choose a cancellation reason."))
    if len(comment) > MAX_COMMENT:
        raise ActionError(_("The comment must not exceed %(n)s characters.") % {"n": MAX_COMMENT})
    extra = {"cancellationReason": reason}
    if comment:
        extra["cancellationComment"] = comment
    return _change(
        order,
        user,
        OrderStatus.CANCELLED,
        expected=OrderStatus.CANCELLED,
        extra=extra,
        note=_("cancelled: %(reason)s %(comment)s") % {"reason": reason, "comment": comment},
        client=client,
        local={"cancellation_reason": reason, "cancellation_comment": comment},
    )


def send_completion_code(order: Order, user, *, client: KaspiClient | None = None) -> Order:
    """Step 1 of completing: Kaspi texts the buyer a code (the status does not change yet)."""
    return _change(
        order,
        user,
        OrderStatus.COMPLETED,
        expected=OrderStatus.ACCEPTED_BY_MERCHANT,
        headers={"X-Send-Code": "true", "X-Security-Code": ""},
        note=_("completion code sent to the buyer"),
        client=client,
    )


def complete_order(order: Order, user, security_code: str, *, client: KaspiClient | None = None) -> Order:
    """Step 2: the code the buyer tells the merchant completes the order."""
    security_code = (security_code or "").strip()
    if not security_code:
        raise ActionError(_("Enter the code the buyer received."))
    return _change(
        order,
        user,
        OrderStatus.COMPLETED,
        expected=OrderStatus.COMPLETED,
        headers={"X-Security-Code": security_code},
        note=_("completed with the buyer's code"),
        client=client,
    )


def assemble_order(order: Order, user, number_of_space: int, *, client: KaspiClient | None = None) -> Order:
    """Kaspi Delivery: the order is packed in `number_of_space` parcels, ready for the courier."""
    if not order.is_kaspi_delivery:
        raise ActionError(_("Only Kaspi Delivery orders are assembled."))
    if not isinstance(number_of_space, int) or number_of_space < 1:
        raise ActionError(_("The number of parcels must be at least 1."))
    return _change(
        order,
        user,
        "ASSEMBLE",
        expected=OrderStatus.ACCEPTED_BY_MERCHANT,
        extra={"numberOfSpace": number_of_space},
        note=_("assembled: %(n)s parcel(s)") % {"n": number_of_space},
        client=client,
        local={"number_of_space": number_of_space},
    )
