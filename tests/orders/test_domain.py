"""The orders domain's own rules: which actions each status allows, and an order's money."""

from decimal import Decimal

from kaspisync.sandbox.kaspi import MERCHANT_CHANGES
from orders.financials import financials
from orders.models import ACTIONS_BY_STATUS, Order, OrderAction, OrderEntry, OrderStatus

KASPI_STATUS_OF_ACTION = {
    OrderAction.ACCEPT: "ACCEPTED_BY_MERCHANT",
    OrderAction.CANCEL: "CANCELLED",
    OrderAction.COMPLETE: "COMPLETED",
    OrderAction.ASSEMBLE: "ASSEMBLE",
}


def test_each_status_allows_the_actions_kaspi_allows_from_it():
    for action, kaspi_status in KASPI_STATUS_OF_ACTION.items():
        ours = {status for status, actions in ACTIONS_BY_STATUS.items() if action in actions}
        assert ours == set(MERCHANT_CHANGES[kaspi_status].allowed_from), action


def test_assembling_is_for_kaspi_delivery_orders_and_final_orders_allow_nothing():
    accepted = Order(status=OrderStatus.ACCEPTED_BY_MERCHANT, is_kaspi_delivery=False)
    assert accepted.allowed_actions == [OrderAction.CANCEL, OrderAction.COMPLETE]
    accepted.is_kaspi_delivery = True
    assert OrderAction.ASSEMBLE in accepted.allowed_actions
    for status in (OrderStatus.COMPLETED, OrderStatus.CANCELLED, OrderStatus.RETURNED, "SOMETHING_NEW"):
        assert Order(status=status, is_kaspi_delivery=True).allowed_actions == []
    assert OrderAction.COMPLETE.permission == "orders.complete_order"


def test_an_orders_margin_is_its_lines_less_what_kaspi_charges():
    order = Order(status=OrderStatus.COMPLETED, delivery_cost_for_seller=Decimal("990"))
    entry = OrderEntry(
        quantity=Decimal(2),
        total_price=Decimal("20000"),
        dealer_price_at_order=7000,
        commission_percent_at_order=Decimal("12.5"),
    )
    money = financials(order, [entry], {})
    assert (money.dealer_cost, money.commission, money.lines[0].margin) == (14000, Decimal("2500.00"), 3500)
    assert money.margin == 3500 - 990
    assert money.revenue == 20000
    order.status = OrderStatus.CANCELLED
    assert financials(order, [entry], {}).margin is None
    unknown = OrderEntry(quantity=Decimal(1), total_price=Decimal("5000"))  # no product, no dealer price
    assert financials(order, [entry, unknown], {}).dealer_cost is None
