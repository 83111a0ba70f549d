"""Hand-made order histories for the quality tests: orders with a creation time, a status, a
cancellation reason and the timeline events the pull and the actions would have written (with
the acceptance times they store on the order)."""

import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from orders.models import EventSource, Order, OrderEvent, acceptance_values

ALMATY = ZoneInfo("Asia/Almaty")
NOW = datetime(2026, 12, 15, 12, 0, tzinfo=ALMATY)  # a fixed "now" for the figures
_codes = itertools.count(700_000_001)


def order(created: datetime, status: str = "COMPLETED", reason: str = "", *, approved_after=timedelta(0), **fields):
    """An order as the pull stores it, first seen waiting for acceptance."""
    code = str(next(_codes))
    return Order.objects.create(
        kaspi_id=f"q-{code}",
        code=code,
        state=fields.pop("state", "ARCHIVE"),
        status=status,
        total_price=fields.pop("total_price", 10_000),
        created_at=created,
        approved_by_bank_at=created + approved_after,
        cancellation_reason=reason,
        attributes_hash="x",
        customer_name=fields.pop("customer_name", "Айгерим Покупатель"),
        customer_phone=fields.pop("customer_phone", "7771234567"),
        **fields,
    )


def event(order_: Order, at: datetime, from_status: str, to_status: str, *, user=None, source=None) -> OrderEvent:
    """A timeline event, with what the pull and the actions store on the order with it (an
    acceptance's time: `acceptance_values`)."""
    stored = acceptance_values(
        from_status, order_.accepted_at, to_status, at, order_.approved_by_bank_at or order_.created_at
    )
    if stored:
        Order.objects.filter(pk=order_.pk).update(**stored)
        for name, value in stored.items():
            setattr(order_, name, value)
    return OrderEvent.objects.create(
        order=order_,
        at=at,
        source=source or (EventSource.USER if user else EventSource.PULL),
        user=user,
        from_status=from_status,
        to_status=to_status,
    )


def accepted(order_: Order, after: timedelta, *, user=None) -> OrderEvent:
    """The order was seen waiting, then accepted `after` its approval by the bank."""
    event(order_, order_.created_at, "", "APPROVED_BY_BANK")
    return event(order_, order_.approved_by_bank_at + after, "APPROVED_BY_BANK", "ACCEPTED_BY_MERCHANT", user=user)


def cancelled(created: datetime, reason: str, *, user=None, status: str = "CANCELLED") -> Order:
    """An order accepted, then cancelled (by `user` in kaspisync, else seen by a pull)."""
    o = order(created, status, reason)
    accepted(o, timedelta(minutes=5))
    event(o, created + timedelta(hours=2), "ACCEPTED_BY_MERCHANT", status, user=user)
    return o


def completed(created: datetime, n: int = 1) -> list[Order]:
    return [order(created) for _ in range(n)]
