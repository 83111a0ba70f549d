import pytest
from django.contrib.auth import get_user_model

from orders.models import EventSource, Order, OrderEvent
from orders.services import (
    ActionError,
    accept_order,
    accept_orders,
    assemble_order,
    cancel_order,
    complete_order,
    pull_orders,
    send_completion_code,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


@pytest.fixture
def manager():
    return get_user_model().objects.create_user("manager")


@pytest.fixture
def sandbox(kaspi):
    return kaspi()


def pulled(sandbox, **kwargs):
    raw = sandbox.add_order(**kwargs)
    pull_orders(days=1)
    return raw, Order.objects.get(code=raw["code"])


def test_accept_changes_kaspi_and_records_the_user(sandbox, manager):
    raw, order = pulled(sandbox)
    accept_order(order, manager)
    assert raw["status"] == "ACCEPTED_BY_MERCHANT"
    order.refresh_from_db()
    assert order.status == "ACCEPTED_BY_MERCHANT" and order.state != "NEW"
    event = order.events.latest("at")
    assert event.source == EventSource.USER and event.user == manager
    assert (event.from_status, event.to_status) == ("APPROVED_BY_BANK", "ACCEPTED_BY_MERCHANT")
    # the next pull sees nothing new
    run = pull_orders(days=1)
    assert run.unchanged == 1 and run.events == 0


def test_accepting_an_order_the_buyer_cancelled_is_refused_and_changes_nothing(sandbox, manager):
    raw, order = pulled(sandbox)
    sandbox.set_status(raw["code"], "CANCELLED")  # our copy is stale
    events = OrderEvent.objects.count()
    with pytest.raises(ActionError) as exc:
        accept_order(order, manager)
    assert "CANCELLED" in str(exc.value) and "not allowed" in str(exc.value)
    order.refresh_from_db()
    assert order.status == "APPROVED_BY_BANK" and OrderEvent.objects.count() == events


def test_bulk_accept_reports_each_order(sandbox, manager):
    good = [sandbox.add_order() for _ in range(2)]
    bad = sandbox.add_order(status="CANCELLED")
    pull_orders(days=1)
    orders = Order.objects.filter(code__in=[o["code"] for o in good] + [bad["code"]])
    Order.objects.filter(code=bad["code"]).update(status="APPROVED_BY_BANK")  # stale copy
    result = accept_orders(orders, manager)
    assert sorted(o.code for o in result.done) == sorted(o["code"] for o in good)
    assert [o.code for o, _msg in result.failed] == [bad["code"]]


def test_cancel_needs_a_valid_reason_and_a_short_comment(sandbox, manager):
    raw, order = pulled(sandbox)
    with pytest.raises(ActionError):
        cancel_order(order, manager, "BECAUSE")
    with pytest.raises(ActionError):
        cancel_order(order, manager, "MERCHANT_OUT_OF_STOCK", "x" * 1001)
    assert sandbox.request_count("/orders", "POST") == 0
    cancel_order(order, manager, "MERCHANT_OUT_OF_STOCK", "нет на складе")
    assert raw["status"] == "CANCELLED" and raw["cancellation_reason"] == "MERCHANT_OUT_OF_STOCK"
    order.refresh_from_db()
    assert (order.status, order.state) == ("CANCELLED", "ARCHIVE")
    assert order.cancellation_comment == "нет на складе"


def test_complete_takes_the_code_the_buyer_received(sandbox, manager):
    raw, order = pulled(sandbox, status="ACCEPTED_BY_MERCHANT")
    send_completion_code(order, manager)
    code = sandbox.sent_codes[raw["code"]]
    assert raw["status"] == "ACCEPTED_BY_MERCHANT"
    with pytest.raises(ActionError) as exc:
        complete_order(order, manager, "000000" if code != "000000" else "111111")
    assert "wrong" in str(exc.value)
    order.refresh_from_db()
    assert order.status == "ACCEPTED_BY_MERCHANT"
    complete_order(order, manager, code)
    order.refresh_from_db()
    assert (order.status, order.state) == ("COMPLETED", "ARCHIVE")
    notes = list(order.events.filter(source=EventSource.USER).values_list("to_status", flat=True))
    assert notes == ["ACCEPTED_BY_MERCHANT", "COMPLETED"]


def test_complete_without_requesting_a_code_is_refused(sandbox, manager):
    _raw, order = pulled(sandbox, status="ACCEPTED_BY_MERCHANT")
    with pytest.raises(ActionError) as exc:
        complete_order(order, manager, "123456")
    assert "X-Send-Code" in str(exc.value)


def test_assemble_kaspi_delivery_order(sandbox, manager):
    raw, order = pulled(sandbox, status="ACCEPTED_BY_MERCHANT", kaspi_delivery=True, mode="DELIVERY_LOCAL")
    assemble_order(order, manager, 2)
    order.refresh_from_db()
    assert order.number_of_space == 2 and order.waybill and raw["number_of_space"] == 2
    assert order.events.latest("at").user == manager


def test_assemble_is_only_for_kaspi_delivery(sandbox, manager):
    _raw, order = pulled(sandbox, status="ACCEPTED_BY_MERCHANT", kaspi_delivery=False, mode="DELIVERY_PICKUP")
    with pytest.raises(ActionError):
        assemble_order(order, manager, 1)
    Order.objects.filter(pk=order.pk).update(is_kaspi_delivery=True)  # a stale copy: Kaspi refuses
    order.refresh_from_db()
    with pytest.raises(ActionError):
        assemble_order(order, manager, 1)
    order.refresh_from_db()
    assert order.number_of_space is None
