"""Order alerts: an order waiting for acceptance (announced by the pull, in its transaction, once),
the reminder, the daily summary — through the Kaspi emulator and the Telegram emulator."""

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import Alert, Kind
from alerts.services import send_pending
from catalog.sku import merchant_sku
from orders.models import Order, OrderStatus
from orders.services import accept_order, pull_orders
from orders.services import notices as notices_module
from orders.services.notices import daily_summary, remind_waiting
from tests.orders.conftest import ARTICLES

pytestmark = pytest.mark.django_db


@pytest.fixture
def sandbox(kaspi, catalog_products):
    return kaspi()


def waiting_alerts():
    return Alert.objects.filter(kind=Kind.ORDER_WAITING)


def test_a_pulled_order_waiting_for_acceptance_is_announced_once(sandbox, telegram):
    raw = sandbox.add_order(entries=[{"sku": merchant_sku(ARTICLES[0], "AS"), "qty": 2, "price": 150_000, "n": 0}])
    sandbox.add_order(status="ACCEPTED_BY_MERCHANT")  # not waiting: no alert
    pull_orders(days=1)
    order = Order.objects.get(code=raw["code"])
    [alert] = waiting_alerts()
    assert alert.key == f"order:{order.pk}"
    assert alert.link == f"/admin/orders/order/{order.pk}/change/"
    assert alert.title == f"Заказ {order.code} ждёт принятия — 300\xa0000\xa0₸"
    assert "Ноутбук 20901 × 2 — 300\xa0000\xa0₸" in alert.lines
    # no personal data in any alert
    text = " ".join([alert.title, *alert.lines])
    for private in (
        order.customer_name,
        order.customer_phone,
        raw["customer"]["cellPhone"],
        raw["address"]["streetName"],
    ):
        assert private
        assert private not in text
    # re-pulled, changed or not: never announced again
    pull_orders(days=1)
    sandbox.add_order(status="ACCEPTED_BY_MERCHANT")
    pull_orders(days=1)
    assert waiting_alerts().count() == 1
    send_pending()
    assert telegram.texts()[0].startswith(f"Заказ {order.code} ждёт принятия")


def test_the_alert_is_rolled_back_with_the_pull_that_failed_to_store_the_order(sandbox, monkeypatch):
    original = notices_module.announce_waiting

    def announce_then_fail(pks):
        original(pks)
        raise RuntimeError("the database went away after the alert was written")

    monkeypatch.setattr(notices_module, "announce_waiting", announce_then_fail)
    sandbox.add_order()
    with pytest.raises(RuntimeError):
        pull_orders(days=1)
    assert not Order.objects.exists()
    assert not Alert.objects.exists()
    monkeypatch.setattr(notices_module, "announce_waiting", original)
    pull_orders(days=1)  # the next pull stores the order and its alert, together
    assert Order.objects.count() == 1
    assert waiting_alerts().count() == 1


def test_an_order_that_starts_waiting_later_is_announced_then(sandbox):
    raw = sandbox.add_order(status="ACCEPTED_BY_MERCHANT")
    pull_orders(days=1)
    assert not waiting_alerts().exists()
    Order.objects.filter(code=raw["code"]).update(status=OrderStatus.CANCELLED)  # our copy moves on
    sandbox.set_status(raw["code"], "APPROVED_BY_BANK")
    pull_orders(days=1)
    assert waiting_alerts().count() == 1


def test_the_reminder_comes_once_after_the_configured_minutes(sandbox, settings):
    settings.ALERT_ORDER_REMINDER_MINUTES = 30
    raw = sandbox.add_order()
    pull_orders(days=1)
    order = Order.objects.get(code=raw["code"])
    seen = waiting_alerts().get().created_at  # when staff were told
    assert remind_waiting(seen + timedelta(minutes=29)) == 0
    assert remind_waiting(seen + timedelta(minutes=30, seconds=5)) == 1
    assert remind_waiting(seen + timedelta(minutes=45)) == 0  # once
    reminder = Alert.objects.get(kind=Kind.ORDER_REMINDER)
    assert reminder.title == f"Заказ {order.code} всё ещё ждёт принятия (30\xa0минут)"


def test_no_reminder_for_an_order_accepted_meanwhile(sandbox, settings):
    settings.ALERT_ORDER_REMINDER_MINUTES = 10
    raw = sandbox.add_order()
    pull_orders(days=1)
    order = Order.objects.get(code=raw["code"])
    accept_order(order, None)
    assert remind_waiting(timezone.now() + timedelta(minutes=11)) == 0


def test_the_daily_summary(sandbox, catalog_products):
    yesterday = timezone.localdate() - timedelta(days=1)
    noon = timezone.make_aware(timezone.datetime.combine(yesterday, timezone.datetime.min.time())) + timedelta(hours=12)
    sku = merchant_sku(ARTICLES[0], "AS")
    # still waiting (the summary reads it again from Kaspi), the seller pays no delivery
    sandbox.add_order(
        created=noon, entries=[{"sku": sku, "qty": 1, "price": 100_000, "n": 0}], delivery_cost_for_seller=0
    )
    sandbox.add_order(created=noon, status="CANCELLED", entries=[{"sku": sku, "qty": 1, "price": 50_000, "n": 0}])
    sandbox.add_order(entries=[{"sku": sku, "qty": 1, "price": 70_000, "n": 0}])  # today, waiting
    pull_orders(days=3)
    alert = daily_summary()
    assert alert.key == f"summary:{yesterday.isoformat()}"
    assert alert.lines[0] == "Заказов: 2 (1 отменён)"
    assert alert.lines[1] == "Выручка: 100\xa0000\xa0₸"
    # 100 000 − 80 000 dealer cost − 12 % commission
    assert alert.lines[2] == "Чистая маржа: 8\xa0000\xa0₸"
    assert "2 заказа ждут принятия" in alert.lines  # the kept one and today's
    assert alert.lines[-1].startswith("Отменённые заказы за 30 дней:")  # Kaspi's quality limit
    assert daily_summary() is None  # once per day
    assert Order.objects.filter(status=OrderStatus.APPROVED_BY_BANK).count() == 2
