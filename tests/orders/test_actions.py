import pytest
from django.contrib.auth import get_user_model
from django.db import OperationalError, connection

from orders.models import EventSource, Order, OrderEvent
from orders.services import (
    ActionError,
    ActionUnconfirmed,
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
    assert order.status == "ACCEPTED_BY_MERCHANT"
    assert order.state != "NEW"
    event = order.events.latest("at")
    assert event.source == EventSource.USER
    assert event.user == manager
    assert (event.from_status, event.to_status) == ("APPROVED_BY_BANK", "ACCEPTED_BY_MERCHANT")
    # the next pull brings the rest of the order as Kaspi has it now, with no second event
    run = pull_orders(days=1)
    assert run.updated == 1
    assert run.events == 0
    assert pull_orders(days=1).unchanged == 1


def test_accepting_an_order_the_buyer_cancelled_is_refused_and_changes_nothing(sandbox, manager):
    raw, order = pulled(sandbox)
    sandbox.set_status(raw["code"], "CANCELLED")  # our copy is stale
    events = OrderEvent.objects.count()
    with pytest.raises(ActionError) as exc:
        accept_order(order, manager)
    assert "CANCELLED" in str(exc.value)
    assert "not allowed" in str(exc.value)
    assert "Nothing was changed" in str(exc.value)
    assert not isinstance(exc.value, ActionUnconfirmed)
    order.refresh_from_db()
    assert order.status == "APPROVED_BY_BANK"
    assert OrderEvent.objects.count() == events


def test_bulk_accept_reports_each_order(sandbox, manager):
    good = [sandbox.add_order() for _ in range(2)]
    bad = sandbox.add_order(status="CANCELLED")
    pull_orders(days=1)
    orders = Order.objects.filter(code__in=[o["code"] for o in good] + [bad["code"]])
    Order.objects.filter(code=bad["code"]).update(status="APPROVED_BY_BANK")  # stale copy
    result = accept_orders(orders, manager)
    assert sorted(o.code for o in result.done) == sorted(o["code"] for o in good)
    assert [o.code for o, _msg in result.failed] == [bad["code"]]


def test_bulk_accept_sends_only_orders_waiting_for_acceptance_here(sandbox, manager):
    waiting = sandbox.add_order()
    accepted = sandbox.add_order(status="ACCEPTED_BY_MERCHANT")
    cancelled = sandbox.add_order(status="CANCELLED")
    pull_orders(days=1)
    sandbox.set_status(accepted["code"], "APPROVED_BY_BANK")  # even if Kaspi would take it
    sandbox.clear_log()
    orders = Order.objects.filter(code__in=[waiting["code"], accepted["code"], cancelled["code"]])
    result = accept_orders(orders, manager)
    assert [o.code for o in result.done] == [waiting["code"]]
    assert result.failed == []
    assert sorted(o.code for o in result.skipped) == sorted([accepted["code"], cancelled["code"]])
    assert sandbox.request_count("/orders", "POST") == 1
    assert accepted["status"] == "APPROVED_BY_BANK"


def test_cancel_needs_a_valid_reason_and_a_short_comment(sandbox, manager):
    raw, order = pulled(sandbox)
    with pytest.raises(ActionError):
        cancel_order(order, manager, "BECAUSE")
    with pytest.raises(ActionError):
        cancel_order(order, manager, "MERCHANT_OUT_OF_STOCK", "x" * 1001)
    assert sandbox.request_count("/orders", "POST") == 0
    cancel_order(order, manager, "MERCHANT_OUT_OF_STOCK", "нет на складе")
    assert raw["status"] == "CANCELLED"
    assert raw["cancellation_reason"] == "MERCHANT_OUT_OF_STOCK"
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


@pytest.mark.parametrize("echo", [None, ("code", "status")])
def test_assemble_kaspi_delivery_order(kaspi, manager, echo):
    sandbox = kaspi(echo_attributes=echo)  # Kaspi answers status ASSEMBLED (the reference)
    raw, order = pulled(sandbox, status="ACCEPTED_BY_MERCHANT", kaspi_delivery=True, mode="DELIVERY_LOCAL")
    assemble_order(order, manager, 2)
    order.refresh_from_db()
    assert order.number_of_space == 2
    assert raw["number_of_space"] == 2
    assert order.status == "ACCEPTED_BY_MERCHANT"
    assert sandbox.request_count("/orders", "POST") == 1
    assert order.events.latest("at").user == manager
    pull_orders(days=1)  # the waybill Kaspi made comes with the next pull
    order.refresh_from_db()
    assert order.waybill
    assert order.number_of_space == 2


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


def test_a_partial_echo_stores_the_status_and_the_next_pull_the_rest(kaspi, manager):
    sandbox = kaspi(echo_attributes=("code", "status"))
    raw, order = pulled(sandbox)
    created, total = order.created_at, order.total_price
    accept_order(order, manager)
    order.refresh_from_db()
    assert order.status == "ACCEPTED_BY_MERCHANT"
    assert order.state == "NEW"  # the echo has no state
    assert (order.created_at, order.total_price) == (created, total)  # nothing else taken from the echo
    assert order.events.latest("at").to_status == "ACCEPTED_BY_MERCHANT"
    run = pull_orders(days=1)
    order.refresh_from_db()
    assert order.state == raw["state"] != "NEW"
    event = order.events.latest("at")  # only the state moved: the status change is not repeated
    assert run.events == 1
    assert (event.from_status, event.to_status) == ("ACCEPTED_BY_MERCHANT",) * 2


def test_an_answer_without_the_status_is_read_back(kaspi, manager):
    sandbox = kaspi(echo_attributes=("code",))
    raw, order = pulled(sandbox)
    with pytest.raises(ActionUnconfirmed) as exc:
        accept_order(order, manager)
    assert "does not show the new status" in str(exc.value)
    assert "Kaspi has made the change" in str(exc.value)
    order.refresh_from_db()
    assert (order.status, order.state) == ("ACCEPTED_BY_MERCHANT", raw["state"])
    assert order.events.latest("at").user == manager


def test_a_change_made_at_kaspi_but_not_stored_here_is_reported_as_made(sandbox, manager):
    raw, order = pulled(sandbox)

    def locked(execute, sql, params, many, context):
        if sql.startswith('UPDATE "orders_order"'):
            raise OperationalError("database is locked")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(locked), pytest.raises(ActionUnconfirmed) as exc:
        accept_order(order, manager)
    assert raw["status"] == "ACCEPTED_BY_MERCHANT"
    assert "made at Kaspi" in str(exc.value)
    assert "(status accepted by merchant)" in str(exc.value)  # the status in words
    assert "Do not repeat" in str(exc.value)
    order.refresh_from_db()
    assert order.status == "APPROVED_BY_BANK"
    assert not order.events.filter(source=EventSource.USER).exists()
    pull_orders(days=1)  # the next pull catches up
    order.refresh_from_db()
    assert order.status == "ACCEPTED_BY_MERCHANT"


def test_a_timeout_after_kaspi_made_the_change_is_read_back_not_repeated(kaspi, manager, settings):
    sandbox = kaspi()
    raw, order = pulled(sandbox)
    settings.HTTP_READ_TIMEOUT = 0.3
    sandbox.inject("timeout", path="/orders", delay=0.6, applied=True)  # made at Kaspi, the answer lost
    sandbox.clear_log()
    with pytest.raises(ActionUnconfirmed) as exc:
        accept_order(order, manager)
    message = str(exc.value)
    assert "result is unknown" in message
    assert "may have made the change" in message
    assert "Kaspi has made the change" in message
    assert "refused" not in message
    assert sandbox.request_count("/orders", "POST") == 1  # not repeated
    assert [q.get("filter[orders][code]") for m, p, q in sandbox.log if m == "GET"] == [raw["code"]]
    order.refresh_from_db()
    assert (order.status, order.state) == ("ACCEPTED_BY_MERCHANT", raw["state"])
    event = order.events.latest("at")
    assert (event.from_status, event.to_status, event.user) == ("APPROVED_BY_BANK", "ACCEPTED_BY_MERCHANT", manager)
    assert pull_orders(days=1).unchanged == 1  # the read-back stored Kaspi's whole order


def test_a_cancellation_whose_answer_was_lost_keeps_the_reason_and_comment(kaspi, manager):
    sandbox = kaspi()
    raw, order = pulled(sandbox)
    sandbox.inject("502", path="/orders", applied=True)
    with pytest.raises(ActionUnconfirmed):
        cancel_order(order, manager, "MERCHANT_OUT_OF_STOCK", "нет на складе")
    order.refresh_from_db()
    assert (order.status, order.cancellation_reason, order.cancellation_comment) == (
        "CANCELLED",
        "MERCHANT_OUT_OF_STOCK",
        "нет на складе",
    )
    assert order.events.latest("at").user == manager
    assert raw["status"] == "CANCELLED"


@pytest.mark.parametrize("kind", ["500", "503"])
def test_a_server_error_leaves_the_result_unknown_and_the_read_back_tells(kaspi, manager, kind):
    sandbox = kaspi()
    raw, order = pulled(sandbox)
    events = OrderEvent.objects.count()
    sandbox.inject(kind, path="/orders")  # failed before the change
    with pytest.raises(ActionUnconfirmed) as exc:
        accept_order(order, manager)
    assert "result is unknown" in str(exc.value)
    assert "probably not been made" in str(exc.value)
    assert sandbox.request_count("/orders", "POST") == 1
    assert raw["status"] == "APPROVED_BY_BANK"
    order.refresh_from_db()
    assert order.status == "APPROVED_BY_BANK"
    assert OrderEvent.objects.count() == events
    # the buyer cancelled meanwhile: the read-back records it as Kaspi's change, not the user's
    sandbox.set_status(raw["code"], "CANCELLED")
    sandbox.inject(kind, path="/orders")
    with pytest.raises(ActionUnconfirmed):
        accept_order(order, manager)
    order.refresh_from_db()
    event = order.events.latest("at")
    assert order.status == "CANCELLED"
    assert (event.source, event.user) == (EventSource.PULL, None)


def test_when_the_read_back_fails_too_the_user_is_sent_to_the_cabinet(sandbox, manager):
    _raw, order = pulled(sandbox)
    sandbox.inject("502", times=10, path="/orders")
    with pytest.raises(ActionUnconfirmed) as exc:
        accept_order(order, manager)
    assert "Reading it back failed too" in str(exc.value)
    assert "cabinet" in str(exc.value)
    assert sandbox.request_count("/orders", "POST") == 1
