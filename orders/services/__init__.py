"""Every write and external call of the orders app."""

from .actions import (
    ActionError,
    ActionUnconfirmed,
    accept_order,
    accept_orders,
    assemble_order,
    cancel_order,
    complete_order,
    send_completion_code,
)
from .pull import pull_orders, queue_pull

__all__ = [
    "ActionError",
    "ActionUnconfirmed",
    "accept_order",
    "accept_orders",
    "assemble_order",
    "cancel_order",
    "complete_order",
    "pull_orders",
    "queue_pull",
    "send_completion_code",
]
