"""The reminder "order X still waits for acceptance" asks Kaspi first: an order staff accepted
(or the buyer cancelled) in the Kaspi cabinet since our last pull is updated here, as the pull
would, and not reminded; when Kaspi cannot be asked the reminder goes out all the same. Through
the Kaspi emulator over a socket, on the real database."""

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import Alert, Kind
from kaspisync.locks import job_lock
from orders.models import EventSource, Order, OrderStatus
from orders.services import pull_orders
from orders.services.notices import REMIND_LOCK, daily_summary, remind_waiting
from orders.tasks import remind_waiting_orders_task
from tests.orders.conftest import TOKEN

pytestmark = pytest.mark.django_db

MINUTES = 30


@pytest.fixture
def sandbox(kaspi, catalog_products, settings):
    settings.ALERT_ORDER_REMINDER_MINUTES = MINUTES
    return kaspi()


def pulled_waiting(sandbox, n=1):
    """`n` orders waiting for acceptance, pulled and announced; returns (raw orders, orders)."""
    raws = [sandbox.add_order() for _ in range(n)]
    pull_orders(days=1)
    orders = [Order.objects.get(code=raw["code"]) for raw in raws]
    for order in orders:
        assert order.status == OrderStatus.APPROVED_BY_BANK
    assert Alert.objects.filter(kind=Kind.ORDER_WAITING).count() == n
    sandbox.clear_log()
    return raws, orders


def due() -> timezone.datetime:
    """A moment when every announced order is due for its reminder."""
    return timezone.now() + timedelta(minutes=MINUTES + 1)


def told_long_ago() -> None:
    """Staff were told about every waiting order more than the reminder's minutes ago (for the task,
    which reminds as of now)."""
    Alert.objects.filter(kind=Kind.ORDER_WAITING).update(created_at=timezone.now() - timedelta(minutes=MINUTES + 1))


def reminders():
    return Alert.objects.filter(kind=Kind.ORDER_REMINDER)


def code_lookups(sandbox) -> list[str]:
    return [q.get("filter[orders][code]") for m, p, q in sandbox.log if m == "GET" and p.endswith("/orders")]


@pytest.mark.parametrize("kaspi_status", ["ACCEPTED_BY_MERCHANT", "CANCELLED"])
def test_an_order_handled_in_the_kaspi_cabinet_is_updated_and_not_reminded(sandbox, kaspi_status):
    [raw], [order] = pulled_waiting(sandbox)
    sandbox.set_status(raw["code"], kaspi_status)  # staff accepted it / the buyer cancelled it at Kaspi

    assert remind_waiting(due()) == 0

    assert not reminders().exists()
    order.refresh_from_db()
    assert order.status == kaspi_status
    assert order.state == raw["state"]
    event = order.events.latest("at")
    assert (event.source, event.user) == (EventSource.PULL, None)
    assert (event.from_status, event.to_status) == (OrderStatus.APPROVED_BY_BANK, kaspi_status)
    if kaspi_status == OrderStatus.ACCEPTED_BY_MERCHANT:
        assert order.accepted_at is not None  # the acceptance time, as a pull records it
    assert code_lookups(sandbox) == [raw["code"]]  # one call for the one order due
    assert pull_orders(days=1).unchanged == 1  # stored as the pull stores Kaspi's order


def test_only_the_orders_kaspi_still_shows_waiting_are_reminded(sandbox):
    raws, orders = pulled_waiting(sandbox, 3)
    sandbox.set_status(raws[1]["code"], "ACCEPTED_BY_MERCHANT")

    assert remind_waiting(due()) == 2

    for order in (orders[0], orders[2]):  # unchanged at Kaspi: not written (its last change stays)
        stored = Order.objects.get(pk=order.pk)
        assert (stored.version, stored.changed_at) == (order.version, order.changed_at)

    assert sorted(reminders().values_list("key", flat=True)) == sorted(
        [f"order:{orders[0].pk}", f"order:{orders[2].pk}"]
    )
    assert sorted(code_lookups(sandbox)) == sorted(raw["code"] for raw in raws)  # one call per order
    # reminded once: the next runs ask Kaspi nothing more about them
    sandbox.clear_log()
    assert remind_waiting(due() + timedelta(minutes=5)) == 0
    assert sandbox.request_count() == 0


def test_orders_not_due_yet_are_not_asked_about(sandbox):
    pulled_waiting(sandbox)
    assert remind_waiting(timezone.now() + timedelta(minutes=MINUTES - 1)) == 0
    assert sandbox.request_count() == 0


def test_an_order_kaspi_does_not_find_is_still_reminded(sandbox):
    [raw], [order] = pulled_waiting(sandbox)
    del sandbox.by_code[raw["code"]]  # Kaspi's answer lists no order with this number
    assert remind_waiting(due()) == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.APPROVED_BY_BANK


@pytest.mark.parametrize("fault", ["503", "timeout", "bad token"])
def test_when_kaspi_cannot_be_asked_the_reminders_still_go_out(sandbox, settings, caplog, english, fault):
    raws, orders = pulled_waiting(sandbox, 2)
    sandbox.set_status(raws[0]["code"], "ACCEPTED_BY_MERCHANT")  # unknown to us: Kaspi cannot say
    settings.HTTP_READ_TIMEOUT = 0.3
    if fault == "bad token":
        settings.KASPI_TOKEN = "wrong-" + TOKEN
    else:
        sandbox.inject(fault, times=100, delay=0.6)
    told_long_ago()

    with caplog.at_level(logging.WARNING):
        assert remind_waiting_orders_task() == 2  # the task neither raises nor leaves an order out

    assert reminders().count() == 2
    for order in orders:
        order.refresh_from_db()
        assert order.status == OrderStatus.APPROVED_BY_BANK
    # the retry policy is kept for the first order; once Kaspi failed, the others are not asked
    attempts = 1 if fault == "bad token" else settings.KASPI_MAX_ATTEMPTS
    assert sandbox.request_count() == attempts
    logged = [r.getMessage() for r in caplog.records if r.name == "orders.services.notices"]
    assert len(logged) == 1
    assert "order reminder" in logged[0]
    assert "2 of 2 orders not read, taken as stored here" in logged[0]
    assert {"503": "HTTP 503", "timeout": "timed out", "bad token": "HTTP 401"}[fault] in logged[0]
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
        assert settings.KASPI_TOKEN not in record.getMessage()


def test_a_refusal_about_one_order_does_not_stop_the_others(sandbox):
    raws, orders = pulled_waiting(sandbox, 2)
    sandbox.set_status(raws[1]["code"], "ACCEPTED_BY_MERCHANT")
    sandbox.inject("400", times=1)  # Kaspi refuses the first look-up, whichever order it is about

    assert remind_waiting(due()) == 1

    assert sandbox.request_count() == 2  # a 400 is not retried, and the next order is asked
    [reminder] = reminders()
    first_asked = code_lookups(sandbox)[0]
    assert first_asked == raws[0]["code"]
    assert reminder.key == f"order:{orders[0].pk}"
    orders[1].refresh_from_db()
    assert orders[1].status == OrderStatus.ACCEPTED_BY_MERCHANT


def test_a_run_that_finds_another_run_asking_kaspi_does_nothing(sandbox):
    pulled_waiting(sandbox)
    with job_lock(REMIND_LOCK) as lock:
        assert lock is not None
        assert remind_waiting(due()) == 0
    assert sandbox.request_count() == 0
    assert not reminders().exists()
    assert remind_waiting(due()) == 1  # the next run, once the lock is free


def test_the_daily_summary_counts_only_what_kaspi_still_shows_waiting(sandbox):
    raws, orders = pulled_waiting(sandbox, 3)
    sandbox.set_status(raws[0]["code"], "ACCEPTED_BY_MERCHANT")
    sandbox.set_status(raws[1]["code"], "CANCELLED")

    alert = daily_summary()

    assert "1 заказ ждёт принятия" in alert.lines
    assert "1 принятый заказ ждёт передачи" in alert.lines
    assert sorted(code_lookups(sandbox)) == sorted(raw["code"] for raw in raws)
    statuses = {o.pk: o.status for o in Order.objects.all()}
    assert statuses == {
        orders[0].pk: OrderStatus.ACCEPTED_BY_MERCHANT,
        orders[1].pk: OrderStatus.CANCELLED,
        orders[2].pk: OrderStatus.APPROVED_BY_BANK,
    }
    sandbox.clear_log()
    assert daily_summary() is None  # once per day, and Kaspi is not asked again for it
    assert sandbox.request_count() == 0


def test_the_daily_summary_goes_out_from_our_copy_when_kaspi_is_down(sandbox, caplog):
    raws, _orders = pulled_waiting(sandbox, 2)
    sandbox.set_status(raws[0]["code"], "ACCEPTED_BY_MERCHANT")
    sandbox.inject("502", times=100)
    with caplog.at_level(logging.WARNING):
        alert = daily_summary()
    assert "2 заказа ждут принятия" in alert.lines
    assert any(r.name == "orders.services.notices" and "daily summary" in r.getMessage() for r in caplog.records)
