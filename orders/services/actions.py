"""Acting on orders at Kaspi: accept, cancel, complete (two-step buyer code), assemble.

Every change at Kaspi is irreversible and visible to the buyer. Kaspi is the authority on what
is allowed (our copy may be minutes old). Three outcomes:

- Kaspi refuses (4xx): `ActionError` with the reason in words; nothing changes anywhere.
- Kaspi accepts: the echoed status is checked and stored with the state when the echo carries it
  (the echo may hold only some attributes; the next pull brings the rest), and the change is
  recorded in the timeline with the user. If storing it here fails, `ActionUnconfirmed` says
  that the change was made at Kaspi.
- The outcome is unknown (timeout, dropped connection, 5xx, an answer without a status): the
  change may have happened at Kaspi, so the request is not repeated; the order is read back by
  its code, what Kaspi says is stored, and `ActionUnconfirmed` tells the user what was found.
"""

import logging
from dataclasses import dataclass, field, replace

from django.db import DatabaseError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from kaspisync.http import ExternalServiceError

from .. import selectors
from ..kaspi import KaspiClient, StatusEcho, refused
from ..models import (
    CancellationReason,
    EventSource,
    Order,
    OrderAction,
    OrderEvent,
    OrderStatus,
    acceptance_values,
    cancellation_reason_label,
    status_label,
)
from .pull import store_read_order
from .purchases import reservations_may_have_changed

log = logging.getLogger(__name__)

MAX_COMMENT = 1000


class ActionError(Exception):
    """The action did not happen at Kaspi; the message says why, for the user."""


class ActionUnconfirmed(ActionError):
    """Kaspi made the change, or may have made it, but it could not be confirmed or stored here;
    the message says which. The action must not be repeated blindly."""


@dataclass
class BulkResult:
    done: list[Order] = field(default_factory=list)
    failed: list[tuple[Order, str]] = field(default_factory=list)
    skipped: list[Order] = field(default_factory=list)  # not sent: not waiting for acceptance here


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
    source: str = EventSource.USER,
    confirmed_by: tuple[str, ...] = (),
) -> Order:
    """Ask Kaspi for `status`; `expected` is the status the order has once Kaspi made the change
    (`confirmed_by`: other statuses an answer may show to say it did, the order keeping `expected`)."""
    client = client or KaspiClient()
    try:
        echo = client.set_status(order.kaspi_id, order.code, status, extra=extra, headers=headers)
    except ExternalServiceError as exc:
        if refused(exc):
            raise ActionError(_("Kaspi refused: %(error)s. Nothing was changed.") % {"error": exc}) from exc
        lead = _(
            "The result is unknown (%(error)s): Kaspi may have made the change. Do not repeat it blindly: "
            "the order was read back from Kaspi."
        ) % {"error": exc.args[0]}
        raise ActionUnconfirmed(f"{lead} {_read_back(order, user, note, expected, local, client, source)}") from exc
    if echo.status in confirmed_by:  # Kaspi's word for "done"; the order's status is still `expected`
        echo = replace(echo, status=expected)
    if not echo.status:
        lead = _("Kaspi took the request but its answer does not show the new status: the order was read back.")
        raise ActionUnconfirmed(f"{lead} {_read_back(order, user, note, expected, local, client, source)}")
    if echo.status != expected:
        raise ActionError(
            _(
                "Kaspi answered with status %(got)s instead of %(expected)s. Nothing was changed here; "
                "the next pull will show the order as Kaspi has it."
            )
            % {"got": status_label(echo.status), "expected": status_label(expected)}
        )
    try:
        _store(order, echo, user, note, local or {}, source)
    except DatabaseError as exc:
        log.exception("order %s: changed at Kaspi to %s, but not stored", order.code, echo.status)
        raise ActionUnconfirmed(
            _(
                "The change was made at Kaspi (status %(status)s), but storing it here failed (%(error)s). "
                "Do not repeat it: the next pull brings the order up to date."
            )
            % {"status": status_label(echo.status), "error": type(exc).__name__}
        ) from exc
    return order


def _store(order: Order, echo: StatusEcho, user, note: str, local: dict, source: str = EventSource.USER) -> None:
    """Store the status Kaspi confirmed (and the state if the echo has it), with a timeline event."""
    values = {"status": echo.status, **({"state": echo.state} if echo.state else {}), **local}
    values["changed_at"] = timezone.now()
    with transaction.atomic():
        before = (
            Order.objects.select_for_update()
            .values("state", "status", "accepted_at", "approved_by_bank_at", "created_at")
            .get(pk=order.pk)
        )
        values |= acceptance_values(
            before["status"],
            before["accepted_at"],
            echo.status,
            values["changed_at"],
            before["approved_by_bank_at"] or before["created_at"],
        )
        # the version moves: a pull that read the order before this change will not overwrite it
        Order.objects.filter(pk=order.pk).update(**values, version=F("version") + 1)
        OrderEvent.objects.create(
            order=order,
            at=values["changed_at"],
            source=source,
            user=user,
            from_state=before["state"],
            to_state=values.get("state", before["state"]),
            from_status=before["status"],
            to_status=echo.status,
            note=note,
        )
        reservations_may_have_changed("order action")
    for name, value in values.items():
        setattr(order, name, value)


def _read_back(
    order: Order,
    user,
    note: str,
    expected: str,
    local: dict | None,
    client: KaspiClient,
    source: str = EventSource.USER,
) -> str:
    """After an unknown outcome: read the order by its code, store what Kaspi says (a changed
    status becomes a timeline event, and the action's own values are kept, if it is the one
    asked for: the user's change) and say what it is."""
    try:
        found = client.order_by_code(order.code)
    except ExternalServiceError as exc:
        return _(
            "Reading it back failed too (%(error)s): check the order in the Kaspi merchant cabinet before "
            "trying again; the next pull will also bring it."
        ) % {"error": exc.args[0]}
    if found is None:
        return _("Kaspi did not find the order by its number: check it in the Kaspi merchant cabinet.")
    before = selectors.order_fingerprint(order.pk)
    now = timezone.now()
    mine = found.status == expected
    event = {
        "source": source,
        "user": user,
        "note": _("%(note)s (confirmed by reading the order back)") % {"note": note},
    }
    try:
        with transaction.atomic():
            if store_read_order(before, found, now, **(event if mine else {})):
                if mine and local:
                    Order.objects.filter(pk=order.pk).update(**local)
                reservations_may_have_changed("order action")
    except DatabaseError:
        log.exception("order %s: read back from Kaspi, but not stored", order.code)
    order.refresh_from_db()
    if before["status"] == expected:  # sending the buyer a code, assembling: not seen in the status
        return _(
            "Kaspi shows status %(status)s, which this action does not change: check the order in the Kaspi "
            "merchant cabinet before repeating it."
        ) % {"status": status_label(found.status)}
    if found.status == expected:
        return _("Kaspi has made the change: the order's status is now %(status)s.") % {
            "status": status_label(found.status)
        }
    return _(
        "Kaspi shows status %(status)s: the change has probably not been made. Check the order again in a "
        "few minutes before repeating it."
    ) % {"status": status_label(found.status)}


def accept_order(
    order: Order, user, *, client: KaspiClient | None = None, note: str = "", source: str = EventSource.USER
) -> Order:
    """APPROVED_BY_BANK → ACCEPTED_BY_MERCHANT. Auto-accept calls this too, with its own note
    ("accepted automatically by rule X") and source, and user None."""
    return _change(
        order,
        user,
        OrderStatus.ACCEPTED_BY_MERCHANT,
        expected=OrderStatus.ACCEPTED_BY_MERCHANT,
        note=note or _("accepted"),
        client=client,
        source=source,
    )


def accept_orders(orders, user, *, client: KaspiClient | None = None) -> BulkResult:
    """Accept several orders; each succeeds or fails on its own. Only orders whose status here is
    APPROVED_BY_BANK are sent to Kaspi; the others are skipped."""
    client = client or KaspiClient()
    result = BulkResult()
    for order in orders:
        if OrderAction.ACCEPT not in order.allowed_actions:
            result.skipped.append(order)
            continue
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
        note=_("cancelled: %(reason)s %(comment)s") % {"reason": cancellation_reason_label(reason), "comment": comment},
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
        confirmed_by=("ASSEMBLED",),  # the reference: ASSEMBLE answers ASSEMBLED
        extra={"numberOfSpace": number_of_space},
        note=_("assembled: %(n)s parcel(s)") % {"n": number_of_space},
        client=client,
        local={"number_of_space": number_of_space},
    )
