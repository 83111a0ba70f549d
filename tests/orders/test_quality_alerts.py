"""Kaspi quality alerts: the 30-day share crossing 3 % and 4 % is alerted once per crossing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import Alert, Kind
from alerts.services import send_pending
from kaspisync.celery import app as celery_app
from kaspisync.schedule import beat_schedule
from orders.models import Order, QualityWatch
from orders.services.quality import check_cancellation_share, summary_line, watched_level
from orders.tasks import check_quality_task

from .history import completed

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)


def share_of(cancelled: int, orders: int) -> None:
    """Make the last 30 days hold `orders` orders of which `cancelled` are cancelled (out of stock)."""
    now = timezone.now()
    have = Order.objects.count()
    if orders > have:
        completed(now - DAY, orders - have)
    assert Order.objects.count() == orders, "the history only grows"
    keep = Order.objects.order_by("pk").values_list("pk", flat=True)[:cancelled]
    Order.objects.filter(pk__in=list(keep)).update(status="CANCELLED", cancellation_reason="MERCHANT_OUT_OF_STOCK")
    Order.objects.exclude(pk__in=list(keep)).update(status="COMPLETED", cancellation_reason="")


def alerts() -> list[str]:
    titles = Alert.objects.filter(kind=Kind.CANCELLATION_SHARE).order_by("pk").values_list("title", flat=True)
    return [title.replace("\u00a0", " ") for title in titles]


def test_each_crossing_is_alerted_once_up_and_back_down():
    share_of(2, 100)  # 2 %: nothing to say
    assert check_cancellation_share().level == "green"
    assert alerts() == []
    share_of(3, 100)  # 3 %: amber
    for _ in range(3):  # however often the check runs
        assert check_cancellation_share().level == "amber"
    assert alerts() == ["Отменённые заказы за 30 дней: 3,00 %, выше 3 %"]
    share_of(4, 100)  # 4 %: red
    check_cancellation_share()
    check_cancellation_share()
    assert len(alerts()) == 2
    assert alerts()[1] == "Отменённые заказы за 30 дней: 4,00 %, выше 4 %"
    share_of(4, 105)  # 3.81 %: within half a point of 4 %, still red (no alert at every wobble)
    assert check_cancellation_share().level == "red"
    assert len(alerts()) == 2
    share_of(4, 115)  # 3.48 %: back below 4 %
    assert check_cancellation_share().level == "amber"
    assert alerts()[2] == "Отменённые заказы за 30 дней: снова 3,48 %, ниже 4 %"
    share_of(4, 150)  # 2.67 %: within half a point of 3 %, still amber
    assert check_cancellation_share().level == "amber"
    assert len(alerts()) == 3
    share_of(4, 200)  # 2 %
    assert check_cancellation_share().level == "green"
    assert len(alerts()) == 4
    share_of(6, 200)  # 3 % again: a new crossing, a new alert
    check_cancellation_share()
    assert len(alerts()) == 5
    assert QualityWatch.objects.get().crossings == 5


def test_the_alert_says_what_and_links_to_the_quality_page():
    share_of(5, 100)  # straight to red from a first check
    check_cancellation_share()
    alert = Alert.objects.get(kind=Kind.CANCELLATION_SHARE)
    assert alert.title.endswith("выше 4 %")
    assert alert.link == "/admin/orders/qualityreport/"
    assert (
        alert.lines[0]
        == "Отменено 5 из 100 заказов, созданных за последние 30 дней; по причинам продавца — 5,00\u00a0%."
    )
    assert "нет в наличии — 5" in alert.lines[2]
    assert alert.permission == "orders.view_order"
    for order in Order.objects.all():
        assert order.customer_phone not in " ".join(alert.lines)
        assert order.customer_name not in " ".join(alert.lines)


def test_the_crossing_reaches_telegram(telegram):
    share_of(3, 100)
    check_cancellation_share()
    assert send_pending().sent == 1
    [message] = telegram.messages
    plain = message["plain"].replace("\u00a0", " ")
    assert plain.startswith("Отменённые заказы за 30 дней: 3,00 %, выше 3 %")
    assert "Отменено 3 из 100 заказов" in plain


def test_hysteresis_only_delays_going_down():
    assert watched_level(3, 100, "green") == "amber"  # up at once
    assert watched_level(4, 100, "green") == "red"
    assert watched_level(36, 1000, "red") == "red"  # 3.6 %: held
    assert watched_level(34, 1000, "red") == "amber"
    assert watched_level(24, 1000, "red") == "green"
    assert watched_level(26, 1000, "red") == "amber"
    assert watched_level(0, 0, "red") == "green"  # no orders at all


def test_beat_runs_the_check_and_the_daily_summary_line_has_the_share():
    entry = beat_schedule()["orders-quality-check"]
    assert entry["task"] == "orders.tasks.check_quality"
    assert entry["task"] in celery_app.tasks
    share_of(1, 50)
    assert check_quality_task() == "green"
    line = summary_line()
    assert line.startswith("Отменённые заказы за 30 дней: 2,00\u00a0% (1 из 50;")
    assert "5 %" in line
