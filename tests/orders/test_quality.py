"""Kaspi quality figures (orders/quality.py) over hand-made order histories."""

import json
from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone, translation

from orders import quality
from orders.models import Order
from orders.services import cancel_order, pull_orders

from .history import ALMATY, NOW, accepted, cancelled, completed, event, order

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)


@pytest.fixture
def manager():
    return get_user_model().objects.create_user("manager")


def test_no_orders_gives_zeros_not_errors():
    figures = quality.rolling(30, NOW)
    assert (figures.orders, figures.cancelled, figures.returns) == (0, 0, 0)
    assert figures.cancelled_share == 0.0
    assert figures.merchant_share == 0.0
    assert figures.level == quality.Level.GREEN
    assert figures.by_reason == {}
    assert figures.reasons == []
    assert figures.by_actor == {"staff": 0, "auto": 0, "kaspi": 0}
    overview = quality.overview(NOW)
    assert [m.orders for m in overview.months] == [0] * 12
    assert overview.watched.orders == 0
    assert all(p.orders == 0 and p.cancelled_share == 0 for p in quality.trend(now=NOW))
    acceptance = quality.acceptance(figures.start, figures.end, now=NOW)
    assert acceptance.measured == 0
    assert acceptance.median is None
    assert acceptance.p90 is None
    assert acceptance.slowest == []
    assert acceptance.waiting_now == 0


def test_all_cancelled_is_a_share_of_one_and_red(manager):
    for reason in ("MERCHANT_OUT_OF_STOCK", "BUYER_NOT_REACHABLE", "TIMEOUT_BUYER_PICKUP"):
        cancelled(NOW - 2 * DAY, reason)
    figures = quality.rolling(30, NOW)
    assert (figures.orders, figures.cancelled) == (3, 3)
    assert figures.cancelled_share == 1.0
    assert figures.level == quality.Level.RED
    assert figures.merchant_cancelled == 2
    assert figures.merchant_share == pytest.approx(2 / 3)


def test_reasons_merchant_kaspi_and_unknown_are_kept_as_they_came():
    completed(NOW - DAY, 20)
    cancelled(NOW - DAY, "MERCHANT_OUT_OF_STOCK")
    cancelled(NOW - DAY, "MERCHANT_OUT_OF_STOCK")
    cancelled(NOW - DAY, "BUYER_CANCELLATION_BY_MERCHANT")
    cancelled(NOW - DAY, "TIMEOUT_BUYER_PICKUP")
    cancelled(NOW - DAY, "SOMETHING_KASPI_INVENTED")
    cancelled(NOW - DAY, "")  # Kaspi gave no reason
    figures = quality.rolling(30, NOW)
    assert figures.orders == 26
    assert figures.cancelled == 6
    assert figures.by_reason == {
        "MERCHANT_OUT_OF_STOCK": 2,
        "BUYER_CANCELLATION_BY_MERCHANT": 1,
        "TIMEOUT_BUYER_PICKUP": 1,
        "SOMETHING_KASPI_INVENTED": 1,
        "": 1,
    }
    assert figures.merchant_cancelled == 3
    assert figures.merchant_share == pytest.approx(3 / 26)
    rows = {row.code: row for row in figures.reasons}
    assert [row.code for row in figures.reasons][:2] == ["MERCHANT_OUT_OF_STOCK", "BUYER_CANCELLATION_BY_MERCHANT"]
    assert rows["MERCHANT_OUT_OF_STOCK"].side == "merchant"
    assert rows["TIMEOUT_BUYER_PICKUP"].side == "kaspi"
    assert rows["SOMETHING_KASPI_INVENTED"].side == "unknown"
    assert rows[""].side == "unknown"
    assert rows["SOMETHING_KASPI_INVENTED"].share == pytest.approx(1 / 26)


def test_an_order_counts_once_by_its_current_status_whatever_it_went_through():
    moved = order(NOW - 3 * DAY, "CANCELLED", "BUYER_NOT_REACHABLE")
    accepted(moved, timedelta(minutes=3))
    event(moved, NOW - 2 * DAY, "ACCEPTED_BY_MERCHANT", "CANCELLING")
    event(moved, NOW - DAY, "CANCELLING", "CANCELLED")
    cancelling = order(NOW - 3 * DAY, "CANCELLING", "MERCHANT_OUT_OF_STOCK")  # being cancelled counts
    returned = order(NOW - 3 * DAY, "RETURNED")
    event(returned, NOW - 2 * DAY, "COMPLETED", "RETURNED")
    order(NOW - 3 * DAY, "KASPI_DELIVERY_RETURN_REQUESTED")
    order(NOW - 3 * DAY, "ACCEPTED_BY_MERCHANT", "MERCHANT_OUT_OF_STOCK")  # a stale reason, not cancelled
    order(NOW - 3 * DAY, "SOME_NEW_STATUS")  # unknown statuses are orders, not errors
    figures = quality.rolling(30, NOW)
    assert figures.orders == 6
    assert figures.cancelled == 2
    assert figures.by_reason == {"BUYER_NOT_REACHABLE": 1, "MERCHANT_OUT_OF_STOCK": 1}
    assert figures.returns == 2
    assert figures.returns_share == pytest.approx(2 / 6)
    assert cancelling.pk in _behind("cancelled")
    assert moved.pk in _behind("cancelled")
    assert _behind("returned") == set(
        Order.objects.filter(status__in=quality.RETURN_STATUSES).values_list("pk", flat=True)
    )


def test_levels_at_exactly_three_and_four_percent():
    assert quality.level_for(2, 100) == "green"
    assert quality.level_for(3, 100) == "amber"  # from 3 %: amber
    assert quality.level_for(29, 1000) == "green"
    assert quality.level_for(4, 100) == "red"
    assert quality.level_for(39, 1000) == "amber"
    assert quality.level_for(0, 0) == "green"
    completed(NOW - DAY, 97)
    for _ in range(3):
        cancelled(NOW - DAY, "MERCHANT_OUT_OF_STOCK")
    assert quality.rolling(30, NOW).level == "amber"


def test_windows_count_orders_by_creation_time_with_inclusive_start():
    inside = order(NOW - timedelta(days=30), "CANCELLED", "MERCHANT_OUT_OF_STOCK")  # exactly 30 days ago
    order(NOW - timedelta(days=30, seconds=1), "CANCELLED", "MERCHANT_OUT_OF_STOCK")  # just before
    order(NOW - timedelta(days=89))
    order(NOW, "COMPLETED")  # now itself counts
    order(NOW + timedelta(seconds=1))  # not yet
    overview = quality.overview(NOW)
    assert (overview.windows[30].orders, overview.windows[30].cancelled) == (2, 1)
    assert (overview.windows[90].orders, overview.windows[90].cancelled) == (4, 2)
    assert quality.rolling(30, NOW).orders == 2
    assert inside.pk in _behind("merchant")


def test_calendar_months_and_trend_days_follow_almaty_midnight():
    # 23:30 on 30 November in Almaty is still November, 00:10 on 1 December is December
    late_november = order(datetime(2026, 11, 30, 23, 30, tzinfo=ALMATY), "CANCELLED", "BUYER_NOT_REACHABLE")
    order(datetime(2026, 12, 1, 0, 10, tzinfo=ALMATY))
    order(datetime(2026, 10, 31, 23, 59, 59, tzinfo=ALMATY))
    order(datetime(2025, 12, 31, 12, 0, tzinfo=ALMATY))  # 12 months back starts on 1 January 2026
    months = quality.overview(NOW).months
    assert [m.start.date().isoformat() for m in months][:2] == ["2026-01-01", "2026-02-01"]
    by_month = {m.start.strftime("%Y-%m"): m for m in months}
    assert by_month["2026-11"].orders == 1
    assert by_month["2026-11"].cancelled == 1
    assert by_month["2026-12"].orders == 1
    assert by_month["2026-12"].cancelled == 0
    assert by_month["2026-10"].orders == 1
    assert sum(m.orders for m in months) == 3
    assert by_month["2026-12"].end > NOW  # the current month runs to now
    points = {p.day.isoformat(): p for p in quality.trend(now=NOW)}
    assert len(points) == 90
    assert max(points) == "2026-12-15"
    # the 30 days ending on 30 November are 1–30 November: the late November order only
    assert (points["2026-11-30"].orders, points["2026-11-30"].cancelled) == (1, 1)
    # the 30 days ending on 1 December also hold the December order
    assert (points["2026-12-01"].orders, points["2026-12-01"].cancelled) == (2, 1)
    # the 30 days ending on 29 November are 31 October – 29 November: the October order only
    assert (points["2026-11-29"].orders, points["2026-11-29"].cancelled) == (1, 0)
    assert (points["2026-12-15"].orders, points["2026-12-15"].cancelled) == (2, 1)
    assert late_november.pk in _behind("cancelled")


def test_who_cancelled_comes_from_the_timeline(manager):
    completed(NOW - DAY, 6)
    by_staff = cancelled(NOW - DAY, "MERCHANT_OUT_OF_STOCK", user=manager)
    by_kaspi = cancelled(NOW - DAY, "TIMEOUT_BUYER_PICKUP")
    first_seen_cancelled = order(NOW - DAY, "CANCELLED", "BUYER_CANCELLATION")
    event(first_seen_cancelled, NOW - DAY, "", "CANCELLED")
    # auto-accept took the order, staff then had to cancel it: the rule let it through
    auto_then_staff = order(NOW - DAY, "CANCELLED", "MERCHANT_OUT_OF_STOCK")
    event(auto_then_staff, NOW - DAY, "APPROVED_BY_BANK", "ACCEPTED_BY_MERCHANT", source=quality.AUTO_SOURCE)
    event(auto_then_staff, NOW - DAY + timedelta(hours=1), "ACCEPTED_BY_MERCHANT", "CANCELLED", user=manager)
    auto_accepted_kept = order(NOW - DAY, "COMPLETED")  # auto-accepted and fine: not a cancellation
    event(auto_accepted_kept, NOW - DAY, "APPROVED_BY_BANK", "ACCEPTED_BY_MERCHANT", source=quality.AUTO_SOURCE)
    figures = quality.rolling(30, NOW)
    assert figures.cancelled == 4
    assert figures.by_actor == {"staff": 1, "auto": 1, "kaspi": 2}
    assert _behind("staff") == {by_staff.pk}
    assert _behind("auto") == {auto_then_staff.pk}
    assert _behind("kaspi") == {by_kaspi.pk, first_seen_cancelled.pk}


def test_acceptance_times_median_p90_slowest_and_waiting(manager):
    waits = [1, 2, 3, 4, 5, 6, 7, 8, 9, 120]  # minutes
    orders = []
    for i, minutes in enumerate(waits):
        o = order(NOW - DAY - i * timedelta(minutes=1), approved_after=timedelta(seconds=20))
        accepted(o, timedelta(minutes=minutes, seconds=30), user=manager if i % 2 else None)
        orders.append(o)
    order(NOW - DAY, "ACCEPTED_BY_MERCHANT")  # first seen already accepted: not measured
    event(Order.objects.latest("pk"), NOW - DAY, "", "ACCEPTED_BY_MERCHANT")
    waiting = order(NOW - timedelta(hours=3), "APPROVED_BY_BANK")
    old = order(NOW - timedelta(days=60), approved_after=timedelta(0))
    accepted(old, timedelta(hours=50))  # outside the 30-day window
    start, end = quality.window(30, NOW)
    result = quality.acceptance(start, end, slowest=3, now=NOW)
    assert result.measured == 10
    assert result.median == timedelta(minutes=5)  # nearest rank: the 5th of 10, to the minute
    assert result.p90 == timedelta(minutes=9)  # the 9th of 10
    assert [s.code for s in result.slowest] == [orders[9].code, orders[8].code, orders[7].code]
    assert result.slowest[0].waited == timedelta(minutes=120, seconds=30)
    assert result.waiting_now == 1
    assert result.oldest_waiting == NOW - waiting.created_at
    both = quality.acceptance_windows([start, NOW - timedelta(days=90)], end, now=NOW)
    assert both[1].measured == 11
    assert both[1].p90 == timedelta(minutes=120)
    assert both[1].slowest == []
    assert both[0].median == result.median
    assert _behind("accepted") == {o.pk for o in [*orders, old]}


def test_cancel_preview_adds_the_order_when_it_is_in_the_window():
    completed(NOW - DAY, 49)
    cancelled(NOW - DAY, "MERCHANT_OUT_OF_STOCK")
    fresh = order(NOW - DAY, "ACCEPTED_BY_MERCHANT")  # 51 orders, 1 cancelled
    preview = quality.cancel_preview(fresh, NOW)
    assert preview.counted
    assert preview.figures.orders == 51
    assert preview.figures.cancelled == 1
    assert preview.share_after == pytest.approx(2 / 51)
    assert preview.merchant_share_after == pytest.approx(2 / 51)
    assert preview.figures.level == "green"
    assert preview.level_after == "amber"  # 1.96 % -> 3.92 %
    older = order(NOW - 40 * DAY, "ACCEPTED_BY_MERCHANT")
    preview = quality.cancel_preview(older, NOW)
    assert not preview.counted
    assert preview.share_after == preview.figures.cancelled_share


def test_pulled_and_staff_cancellations_through_the_real_services(kaspi, catalog_products, manager):
    """The timeline the pull and the cancel action really write tells who cancelled."""
    sandbox = kaspi()
    mine = sandbox.add_order()
    theirs = sandbox.add_order(status="ACCEPTED_BY_MERCHANT")
    sandbox.add_order(status="COMPLETED")
    pull_orders(days=1)
    cancel_order(Order.objects.get(code=mine["code"]), manager, "MERCHANT_OUT_OF_STOCK")
    sandbox.set_status(theirs["code"], "CANCELLED")
    theirs["cancellation_reason"] = "TIMEOUT_BUYER_PICKUP"
    pull_orders(days=1)
    figures = quality.rolling(30)
    assert (figures.orders, figures.cancelled, figures.merchant_cancelled) == (3, 2, 1)
    assert figures.by_reason == {"MERCHANT_OUT_OF_STOCK": 1, "TIMEOUT_BUYER_PICKUP": 1}
    assert figures.by_actor == {"staff": 1, "auto": 0, "kaspi": 1}


# --- quality_report ---------------------------------------------------------------------------
def _report(*args) -> tuple[str, dict]:
    out = StringIO()
    call_command("quality_report", *args, stdout=out)
    text = out.getvalue()
    return text, json.loads(text.strip().splitlines()[-1])


def test_quality_report_json_is_the_last_line_with_the_stable_keys():
    now = timezone.now()
    completed(now - DAY, 8)
    cancelled(now - 2 * DAY, "MERCHANT_OUT_OF_STOCK")
    cancelled(now - 3 * DAY, "SOMETHING_NEW")
    cancelled(now - 20 * DAY, "BUYER_NOT_REACHABLE")  # in 30 days, not in 7
    completed(now - 45 * DAY, 5)  # before the default window
    _text, data = _report("--json")
    assert data["orders"] == 11
    assert data["cancelled"] == 3
    assert data["cancelled_share"] == pytest.approx(3 / 11, abs=1e-6)
    assert 0 <= data["cancelled_share"] <= 1
    assert data["by_reason"] == {"MERCHANT_OUT_OF_STOCK": 1, "SOMETHING_NEW": 1, "BUYER_NOT_REACHABLE": 1}
    assert data["days"] == 30
    assert data["merchant_cancelled"] == 2
    assert data["level"] == "red"
    _text, week = _report("--json", "--days", "7")
    assert (week["orders"], week["cancelled"], week["by_reason"]) == (
        10,
        2,
        {"MERCHANT_OUT_OF_STOCK": 1, "SOMETHING_NEW": 1},
    )
    _text, empty = _report("--days", "1", "--json")
    assert (empty["orders"], empty["cancelled"], empty["cancelled_share"], empty["by_reason"]) == (0, 0, 0, {})


def test_quality_report_text_and_bad_days():
    cancelled(timezone.now() - DAY, "MERCHANT_OUT_OF_STOCK")
    out = StringIO()
    with translation.override("ru"):
        call_command("quality_report", stdout=out)
    text = out.getvalue()
    assert "MERCHANT_OUT_OF_STOCK" in text
    assert "Отменено: 1 (100,00\u00a0%" in text
    assert "за последние 30 дней" in text
    with pytest.raises(CommandError):
        call_command("quality_report", "--days", "0")


def _behind(kind: str) -> set[int]:
    return set(Order.objects.filter(quality.orders_behind(kind)).values_list("pk", flat=True))
