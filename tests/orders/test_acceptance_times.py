"""Acceptance times stored on the order (Order.accepted_at, Order.acceptance_time) where the
acceptance happens — the pull, the manual accept, auto-accept, an unknown outcome read back —
never rewritten by later pulls; backfilled from the timeline by migration 0011; and the quality
figures read from them, per rolling window and per calendar month."""

import re
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone

from catalog.models import Product, StockQualifier
from catalog.sku import merchant_sku
from orders import quality
from orders.models import AutoAcceptRule, EventSource, Order, acceptance_values
from orders.services import ActionUnconfirmed, accept_order, cancel_order, pull_orders
from orders.services.autoaccept import auto_accept_waiting, switch
from tests.orders.conftest import ARTICLES

from .history import ALMATY, NOW, accepted, event, order

ACCEPTED, WAITING = "ACCEPTED_BY_MERCHANT", "APPROVED_BY_BANK"


@pytest.fixture
def manager(db):
    return get_user_model().objects.create_user("manager")


def pulled(sandbox, **kwargs) -> tuple[dict, Order]:
    raw = sandbox.add_order(**kwargs)
    pull_orders(days=1)
    return raw, Order.objects.get(code=raw["code"])


def assert_accepted_at_its_event(order_: Order, source: str) -> datetime:
    """The stored acceptance is the time of the order's acceptance event, measured from Kaspi's
    approval by the bank; returns it."""
    order_.refresh_from_db()
    acceptance = order_.events.get(from_status=WAITING, to_status=ACCEPTED)
    assert acceptance.source == source
    assert order_.accepted_at == acceptance.at
    assert order_.acceptance_time == acceptance.at - order_.approved_by_bank_at
    return order_.accepted_at


def later_pulls_keep(order_: Order, sandbox, raw: dict, accepted_at: datetime) -> None:
    """Kaspi changes the accepted order, then completes it: the pulls that store this do not
    touch its acceptance."""
    raw["planned_delivery"] += 3600 * 1000
    assert pull_orders(days=1).updated == 1
    sandbox.set_status(raw["code"], "COMPLETED")
    run = pull_orders(days=1)
    assert run.updated == 1
    assert run.events == 1
    order_.refresh_from_db()
    assert order_.status == "COMPLETED"
    assert order_.accepted_at == accepted_at
    assert order_.acceptance_time == accepted_at - order_.approved_by_bank_at


# --- where it happens ---------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_pull_that_sees_a_waiting_order_accepted_stores_when(kaspi):
    sandbox = kaspi()
    raw, waiting = pulled(sandbox)
    already = pulled(sandbox, status=ACCEPTED)[1]
    cancelled_waiting = pulled(sandbox)[0]
    assert waiting.accepted_at is None
    assert waiting.acceptance_time is None
    sandbox.set_status(raw["code"], ACCEPTED)  # accepted in the Kaspi cabinet
    sandbox.set_status(cancelled_waiting["code"], "CANCELLED")  # never accepted
    pull_orders(days=1)
    accepted_at = assert_accepted_at_its_event(waiting, EventSource.PULL)
    already.refresh_from_db()
    assert already.accepted_at is None
    assert already.acceptance_time is None  # first seen accepted: not measured
    assert Order.objects.get(code=cancelled_waiting["code"]).accepted_at is None
    later_pulls_keep(waiting, sandbox, raw, accepted_at)
    window = quality.acceptance(*quality.window(1))
    assert window.measured == 1
    assert window.median == timedelta(minutes=waiting.acceptance_time // timedelta(minutes=1))


@pytest.mark.django_db
def test_the_manual_accept_stores_when_and_pulls_keep_it(kaspi, manager):
    sandbox = kaspi()
    raw, order_ = pulled(sandbox)
    accept_order(order_, manager)
    assert order_.accepted_at is not None  # the object the admin holds is up to date too
    accepted_at = assert_accepted_at_its_event(order_, EventSource.USER)
    later_pulls_keep(order_, sandbox, raw, accepted_at)


@pytest.mark.django_db
def test_a_cancellation_by_staff_stores_no_acceptance(kaspi, manager):
    sandbox = kaspi()
    _raw, order_ = pulled(sandbox)
    cancel_order(order_, manager, "MERCHANT_OUT_OF_STOCK")
    order_.refresh_from_db()
    assert order_.status == "CANCELLED"
    assert order_.accepted_at is None
    assert order_.acceptance_time is None


@pytest.mark.django_db
def test_an_accept_whose_answer_was_lost_stores_the_time_read_back(kaspi, manager, settings):
    sandbox = kaspi()
    _raw, order_ = pulled(sandbox)
    settings.HTTP_READ_TIMEOUT = 0.3
    sandbox.inject("timeout", path="/orders", delay=0.6, applied=True)  # made at Kaspi, the answer lost
    with pytest.raises(ActionUnconfirmed):
        accept_order(order_, manager)
    assert_accepted_at_its_event(order_, EventSource.USER)


@pytest.mark.django_db
def test_auto_accept_stores_when(kaspi, catalog_products):
    Product.objects.update(stock=10, stock_qualifier=StockQualifier.EXACT)
    AutoAcceptRule.objects.create(
        name="Самовывоз", max_total=Decimal(500_000), delivery_modes=["DELIVERY_PICKUP"], payment_modes=["PREPAID"]
    )
    switch(True)
    sandbox = kaspi()
    entries = [{"sku": merchant_sku(ARTICLES[0], "AS"), "qty": 1, "price": 100_000, "n": 0}]
    raw, order_ = pulled(sandbox, entries=entries, mode="DELIVERY_PICKUP", payment="PREPAID", kaspi_delivery=False)
    assert auto_accept_waiting().accepted == [order_.code]
    accepted_at = assert_accepted_at_its_event(order_, EventSource.AUTO)
    later_pulls_keep(order_, sandbox, raw, accepted_at)


def test_an_acceptance_is_stored_once():
    at, since = NOW, NOW - timedelta(minutes=7)
    assert acceptance_values(WAITING, None, ACCEPTED, at, since) == {
        "accepted_at": at,
        "acceptance_time": timedelta(minutes=7),
    }
    assert acceptance_values(WAITING, NOW - timedelta(days=1), ACCEPTED, at, since) == {}  # never rewritten
    assert acceptance_values("", None, ACCEPTED, at, since) == {}  # first seen accepted
    assert acceptance_values(WAITING, None, "CANCELLED", at, since) == {}
    assert acceptance_values(ACCEPTED, None, "COMPLETED", at, since) == {}


# --- the backfill ----------------------------------------------------------------------------------
BEFORE, BACKFILL = ("orders", "0010_order_accepted_at"), ("orders", "0011_backfill_acceptance")


@pytest.mark.django_db(transaction=True)
def test_migration_backfills_acceptances_from_the_timeline():
    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE])
    try:
        old = executor.loader.project_state([BEFORE]).apps
        OldOrder, OldEvent = old.get_model("orders", "Order"), old.get_model("orders", "OrderEvent")
        created = datetime(2026, 11, 3, 10, 0, tzinfo=ALMATY)

        def make(code, approved=True):
            return OldOrder.objects.create(
                kaspi_id=f"m-{code}",
                code=code,
                state="ARCHIVE",
                status="COMPLETED",
                total_price=1000,
                created_at=created,
                approved_by_bank_at=created + timedelta(seconds=40) if approved else None,
                attributes_hash="x",
            )

        def timeline(o, *steps):
            for minutes, from_status, to_status, source in steps:
                OldEvent.objects.create(
                    order=o,
                    at=created + timedelta(minutes=minutes),
                    source=source,
                    from_status=from_status,
                    to_status=to_status,
                )

        by_staff, by_pull, unapproved, first_seen, never = (
            make("1"),
            make("2"),
            make("3", approved=False),
            make("4"),
            make("5"),
        )
        timeline(
            by_staff, (1, "", WAITING, "pull"), (12, WAITING, ACCEPTED, "user"), (90, ACCEPTED, "COMPLETED", "pull")
        )
        # two acceptance events (a read-back and a pull): the first one counts
        timeline(by_pull, (1, "", WAITING, "pull"), (30, WAITING, ACCEPTED, "pull"), (45, WAITING, ACCEPTED, "pull"))
        timeline(unapproved, (1, "", WAITING, "pull"), (5, WAITING, ACCEPTED, "auto"))
        timeline(first_seen, (1, "", ACCEPTED, "pull"))
        timeline(never, (1, "", WAITING, "pull"), (9, WAITING, "CANCELLED", "pull"))

        executor.loader.build_graph()
        executor.migrate([BACKFILL])
        stored = {
            o.code: (o.accepted_at, o.acceptance_time)
            for o in executor.loader.project_state([BACKFILL]).apps.get_model("orders", "Order").objects.all()
        }
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    approved = created + timedelta(seconds=40)
    assert stored == {
        "1": (created + timedelta(minutes=12), created + timedelta(minutes=12) - approved),
        "2": (created + timedelta(minutes=30), created + timedelta(minutes=30) - approved),
        "3": (created + timedelta(minutes=5), timedelta(minutes=5)),  # no approval date: since created
        "4": (None, None),
        "5": (None, None),
    }


# --- the figures per calendar month -----------------------------------------------------------------
@pytest.mark.django_db
def test_acceptance_times_per_calendar_month_follow_almaty_midnight():
    def measured(created, *waits_minutes):
        for minutes in waits_minutes:
            accepted(order(created, approved_after=timedelta(seconds=10)), timedelta(minutes=minutes, seconds=20))

    measured(datetime(2026, 11, 30, 23, 30, tzinfo=ALMATY), 2, 4, 6, 8, 100)  # November, just
    measured(datetime(2026, 12, 1, 0, 10, tzinfo=ALMATY), 1, 3)  # December, just
    measured(NOW - timedelta(days=1), 30)  # December, in the watched window
    measured(datetime(2026, 9, 15, 12, 0, tzinfo=ALMATY), 7)  # outside both windows
    waiting = order(datetime(2026, 12, 2, 9, 0, tzinfo=ALMATY), "APPROVED_BY_BANK")
    first_seen = order(datetime(2026, 11, 10, 9, 0, tzinfo=ALMATY), ACCEPTED)
    event(first_seen, first_seen.created_at, "", ACCEPTED)  # not measured

    result = quality.page(NOW)
    months = {m.start.strftime("%Y-%m"): (m, a) for m, a in result.month_rows}
    assert len(result.month_rows) == 12
    assert [m for m, _a in result.month_rows] == result.overview.months[::-1]
    november, december, september, october = (months[k][1] for k in ("2026-11", "2026-12", "2026-09", "2026-10"))
    assert (november.measured, november.median, november.p90) == (5, timedelta(minutes=6), timedelta(minutes=100))
    assert (december.measured, december.median, december.p90) == (3, timedelta(minutes=3), timedelta(minutes=30))
    assert (september.measured, september.median) == (1, timedelta(minutes=7))
    assert (october.measured, october.median, october.p90) == (0, None, None)
    assert december.waiting_now == 1
    assert december.oldest_waiting == NOW - waiting.created_at
    assert november.waiting_now == 0
    assert november.slowest == []
    assert (december.start, december.end) == (months["2026-12"][0].start, months["2026-12"][0].end)
    # the rolling windows, from the same pieces of time
    watched, ninety = result.acceptance[30], result.acceptance[90]
    assert (watched.measured, watched.median, watched.p90) == (8, timedelta(minutes=4), timedelta(minutes=100))
    slowest = [s.waited for s in watched.slowest][:2]
    assert slowest == [timedelta(minutes=100, seconds=20), timedelta(minutes=30, seconds=20)]
    assert ninety.measured == 8
    assert ninety.slowest == []  # 15 September is before its start


@pytest.mark.django_db
def test_the_quality_page_shows_acceptance_per_month_and_the_order_page_its_own(admin_client):
    measured = order(timezone.now() - timedelta(minutes=1), approved_after=timedelta(0))
    accepted(measured, timedelta(hours=2, minutes=5))
    html = admin_client.get(reverse("admin:orders_qualityreport_changelist")).content.decode()
    assert "Время до принятия: медиана" in html
    # the order's page says when it was accepted and how long it waited
    page = admin_client.get(reverse("admin:orders_order_change", args=[measured.pk])).content.decode()
    assert "Принят:" in page
    assert "Ждал принятия:" in page
    assert "2 ч 05 мин" in page
    # the month's median links to the orders measured; its 90th percentile beside it
    assert re.search(r'title="измерен 1 заказ">2 ч 05 мин</a></td>\s*<td>2 ч 05 мин</td>', html)


@pytest.mark.django_db
def test_whole_minutes_are_rounded_down_for_waits_kaspi_dates_before_its_approval():
    """Kaspi's approval time and our clock may disagree by seconds: a wait of −30 s is minute −1
    (rounded down, as every other wait), 59.999999 s is minute 0, 60 s minute 1."""
    waits = [timedelta(seconds=-30), timedelta(seconds=60) - timedelta(microseconds=1), timedelta(seconds=60)]
    days = []
    for i, wait in enumerate(waits):
        created = NOW - timedelta(days=i + 1)
        accepted(order(created), wait)
        days.append((created - timedelta(hours=1), created + timedelta(hours=1)))
    result = quality.acceptance_periods(days, now=NOW)
    assert [(a.measured, a.median, a.p90) for a in result] == [
        (1, timedelta(minutes=-1), timedelta(minutes=-1)),
        (1, timedelta(0), timedelta(0)),
        (1, timedelta(minutes=1), timedelta(minutes=1)),
    ]
    assert result[0].slowest[0].waited == timedelta(seconds=-30)
