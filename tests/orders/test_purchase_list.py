"""The purchase list (orders.purchase_list): needs, aggregation, stock, warnings, filters, margins,
and marking / unmarking purchases (orders.services.purchases)."""

import json
import threading
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from catalog.models import PriceRule
from kaspisync.display import NBSP
from orders import purchase_list as pl
from orders.models import OrderEvent, Purchase
from orders.selectors import order_financials
from orders.services.purchases import (
    PurchaseError,
    mark_article_purchased,
    mark_entry_purchased,
    unmark_purchase,
)
from tests.factories import make_staff

from .purchase_helpers import days, order, product

pytestmark = pytest.mark.django_db


def line_of(result, article):
    return next(line for line in result.lines if line.article == article)


def kinds(line):
    return [w.kind for w in line.warnings]


# --- what is needed ------------------------------------------------------------------------------
def test_only_waiting_and_accepted_orders_are_needs_aggregated_per_article():
    a, b = product(stock=100), product(stock=100)
    waiting = order((a, 2, 13_990), status="APPROVED_BY_BANK", created=days(0))
    accepted = order((a, 1, 13_990), (b, 3, 13_990), status="ACCEPTED_BY_MERCHANT", created=days(1))
    for status in ("COMPLETED", "CANCELLED", "RETURNED", "CANCELLING", "KASPI_DELIVERY_RETURN_REQUESTED"):
        order((a, 5, 13_990), (b, 7, 13_990), status=status)
    result = pl.purchase_list()
    assert [line.article for line in result.lines] == sorted([a.article, b.article])
    line_a, line_b = line_of(result, a.article), line_of(result, b.article)
    assert line_a.needed == 3
    assert [o.code for o in line_a.orders] == [waiting.code, accepted.code]
    assert line_b.needed == 3
    assert [o.code for o in line_b.orders] == [accepted.code]
    assert line_a.cost == 3 * 10_000
    assert result.units == 6
    assert result.cost == 60_000


def test_orders_of_a_line_are_earliest_first_by_planned_delivery_then_creation():
    a = product(stock=100)
    no_date = order((a, 1, 13_990), created=days(-5))
    later = order((a, 1, 13_990), planned=days(3), created=days(-4))
    sooner = order((a, 1, 13_990), planned=days(1), created=days(0))
    same_day_older = order((a, 1, 13_990), planned=days(1), created=days(-1))
    codes = [o.code for o in line_of(pl.purchase_list(), a.article).orders]
    assert codes == [same_day_older.code, sooner.code, later.code, no_date.code]


def test_measured_quantities_need_whole_units():
    a = product(stock=100)
    order((a, "2.500", 500))
    assert line_of(pl.purchase_list(), a.article).needed == 3


def test_stock_is_read_as_the_price_list_promises_it_and_taken_from_the_largest_warehouse_first():
    more = product(stock=50, qualifier=">", warehouses={"panfilov": 3, "karaganda": 40})
    few = product(stock=10, qualifier="<")
    order((more, 5, 13_990), (few, 1, 13_990))
    result = pl.purchase_list()
    line = line_of(result, more.article)
    assert (line.stock, line.stock_display, line.warehouses) == (50, ">50", {"panfilov": 3, "karaganda": 40})
    assert line.allocation == {"karaganda": 5}
    assert line.short == 0
    assert line.warnings == []
    few_line = line_of(result, few.article)
    assert few_line.stock == 1
    assert few_line.stock_display == "<10"
    assert few_line.allocation == {pl.NOT_STATED: 1}


# --- warnings ----------------------------------------------------------------------------------------
def test_more_needed_than_al_style_has_names_the_orders_at_risk():
    a = product(stock=3, warehouses={"panfilov": 3})
    first = order((a, 2, 13_990), planned=days(1))
    second = order((a, 2, 13_990), planned=days(2))
    third = order((a, 1, 13_990), planned=days(3))
    line = line_of(pl.purchase_list(), a.article)
    assert line.short == 2
    assert line.allocation == {"panfilov": 3}
    assert [o.at_risk for o in line.orders] == [False, True, True]
    (short,) = [w for w in line.warnings if w.kind == pl.SHORT]
    assert [code for _pk, code in short.orders] == [second.code, third.code]
    assert first.code not in short.text
    assert "5" in short.text
    assert "3" in short.text


def test_a_risen_dealer_price_warns_when_an_order_now_sells_below_cost_or_below_the_margin_floor():
    PriceRule.objects.create(name="Всё", markup_percent=20, min_margin=1_000)
    a = product(dealer_price=12_000, stock=100)
    # unit 13 990, commission 12 %: net 12 311.20 per unit
    below_cost = order((a, 1, 13_990, 11_000))  # then 11 000, now 12 000: margin 311 > 0, below floor 1 000
    unchanged = order((a, 1, 13_990, 12_000))  # no rise: no warning although below the floor
    b = product(dealer_price=12_500, stock=100)
    loss = order((b, 2, 13_990, 11_000))  # now 12 500 > net 12 311.20: below cost
    result = pl.purchase_list()
    line_a, line_b = line_of(result, a.article), line_of(result, b.article)
    assert kinds(line_a) == [pl.BELOW_FLOOR]
    assert line_a.warnings[0].orders == [(below_cost.pk, below_cost.code)]
    assert unchanged.code not in line_a.warnings[0].text
    assert kinds(line_b) == [pl.BELOW_COST]
    assert loss.code in line_b.warnings[0].text
    # amounts read as everywhere in the portal (kaspisync.display.money): "11 000 ₸", not "11000 ₸"
    assert f"с 11{NBSP}000{NBSP}₸ до 12{NBSP}000{NBSP}₸" in line_a.warnings[0].text
    assert f"с 11{NBSP}000{NBSP}₸ до 12{NBSP}500{NBSP}₸" in line_b.warnings[0].text
    # margins then and now: (net − dealer) × units
    (o,) = line_b.orders
    assert o.margin_then == (Decimal("12311.20") - 11_000) * 2
    assert o.margin_now == (Decimal("12311.20") - 12_500) * 2
    assert line_b.margin_now == o.margin_now


def test_products_al_style_no_longer_sells_and_entries_not_in_the_catalog_are_warned_about():
    gone = product(is_active=False)
    on_request = product(dealer_price=None, unsellable_reason="price_on_request")
    with_foreign = order((gone, 1, 13_990), (on_request, 1, 13_990), (None, 2, 5_000))
    result = pl.purchase_list()
    assert kinds(line_of(result, gone.article)) == [pl.DISCONTINUED]
    line = line_of(result, on_request.article)
    assert kinds(line) == [pl.DISCONTINUED]
    assert line.cost is None
    assert "цена по запросу" in line.warnings[0].text
    (unmatched,) = result.unmatched
    assert (unmatched.code, unmatched.needed, unmatched.sku) == (with_foreign.code, 2, "FOREIGN77")
    assert unmatched.warning.orders == [(with_foreign.pk, with_foreign.code)]
    assert "нет в каталоге" in unmatched.warning.text
    assert result.warning_count == 3
    assert result.cost_unknown == 1


def test_a_product_gone_from_al_styles_catalog_has_nothing_to_take_and_its_orders_are_at_risk():
    """Its last stock figure (kept by the import that deactivated it) is no stock to buy from."""
    gone = product(is_active=False, stock=20, warehouses={"panfilov": 20})
    o = order((gone, 3, 13_990))
    line = line_of(pl.purchase_list(), gone.article)
    assert (line.available, line.allocation, line.short, line.stock, line.warehouses) == (0, {}, 3, 0, {})
    assert line.orders[0].at_risk
    (warning,) = line.warnings  # one warning, naming the order at risk (not also "Al-Style has 20")
    assert warning.kind == pl.DISCONTINUED
    assert warning.orders == [(o.pk, o.code)]
    assert warning.text == (
        f"Al-Style больше не продаёт этот товар (его нет в каталоге поставщика): под угрозой заказы {o.code}."
    )


# --- filters -------------------------------------------------------------------------------------------
def test_filters_by_date_delivery_mode_warehouse_and_warnings():
    a = product(stock=2, warehouses={"panfilov": 2})
    b = product(stock=100, warehouses={"karaganda": 100})
    today = order((a, 1, 13_990), planned=days(0), mode="DELIVERY_PICKUP")
    later = order((a, 2, 13_990), (b, 1, 13_990), planned=days(5), mode="DELIVERY_LOCAL")
    undated = order((b, 1, 13_990), mode="DELIVERY_LOCAL")

    until = pl.purchase_list(pl.Filters(until=days(1).date()))
    assert {(line.article, line.needed) for line in until.lines} == {(a.article, 1), (b.article, 1)}
    assert [o.code for o in line_of(until, b.article).orders] == [undated.code]
    assert [line.article for line in pl.purchase_list(pl.Filters(delivery_mode="DELIVERY_PICKUP")).lines] == [a.article]
    by_warehouse = pl.purchase_list(pl.Filters(warehouse="karaganda"))
    assert [line.article for line in by_warehouse.lines] == [b.article]
    assert by_warehouse.warehouses == ["karaganda", "panfilov"]
    warned = pl.purchase_list(pl.Filters(warnings_only=True))
    assert [line.article for line in warned.lines] == [a.article]  # 3 needed, 2 in stock
    assert [o.code for o in warned.lines[0].orders if o.at_risk] == [later.code]
    assert today.code not in warned.lines[0].warnings[0].text


# --- marking purchases -----------------------------------------------------------------------------------
def test_partial_purchase_of_an_entry_leaves_the_rest_needed_and_the_paid_price_goes_into_the_margin():
    user = make_staff("buyer", "orders.mark_purchased")
    a = product(dealer_price=10_000, stock=100)
    o = order((a, 3, 13_990, 10_000, 12))
    entry = o.entries.get()
    done = mark_entry_purchased(entry.pk, quantity=1, unit_price=9_500, document="АС-0001", user=user)
    assert done.units == 1
    assert done.bought_orders == []
    line = line_of(pl.purchase_list(), a.article)
    assert line.needed == 2
    assert line.orders[0].purchased == 1
    fin = order_financials(o)
    assert fin.lines[0].dealer_cost == 9_500 + 2 * 10_000
    assert fin.lines[0].purchased == 1
    done = mark_entry_purchased(entry.pk, quantity=2, unit_price=10_200, document="АС-0002", user=user)
    assert done.bought_orders == [o]
    assert pl.purchase_list().lines == []
    fin = order_financials(o)
    assert fin.dealer_cost == 9_500 + 2 * 10_200
    assert fin.margin == Decimal(3 * 13_990) - fin.dealer_cost - fin.commission
    notes = list(OrderEvent.objects.filter(order=o).values_list("note", flat=True))
    assert any("АС-0001" in n for n in notes)
    assert notes[-1].startswith("Товар закуплен")
    assert f"по 9{NBSP}500{NBSP}₸ (документ АС-0001)" in notes[0]
    with pytest.raises(PurchaseError, match="уже закуплена полностью"):
        mark_entry_purchased(entry.pk, quantity=1, unit_price=10_000, document="АС-0003", user=user)


def test_an_article_purchase_goes_to_its_orders_earliest_first():
    user = make_staff("buyer", "orders.mark_purchased")
    a = product(stock=100)
    late = order((a, 2, 13_990), planned=days(4))
    early = order((a, 2, 13_990), planned=days(1))
    done = mark_article_purchased(a.article, quantity=3, unit_price=10_000, document="АС-7", user=user)
    assert [(p.order_id, p.quantity) for p in done.purchases] == [(early.pk, 2), (late.pk, 1)]
    assert done.bought_orders == [early]
    (line,) = pl.purchase_list().lines
    assert line.needed == 1
    assert [o.code for o in line.orders] == [late.code]
    with pytest.raises(PurchaseError, match="1"):
        mark_article_purchased(a.article, quantity=2, unit_price=10_000, document="АС-8", user=user)
    assert Purchase.objects.count() == 2


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"quantity": 0}, "не меньше 1"),
        ({"unit_price": 0}, "выше нуля"),
        ({"document": "  "}, "номер документа"),
        ({"document": "x" * 65}, "не длиннее"),
    ],
)
def test_a_mark_with_bad_values_is_refused_in_words_and_records_nothing(kwargs, message):
    a = product()
    entry = order((a, 1, 13_990)).entries.get()
    values = {"quantity": 1, "unit_price": 10_000, "document": "АС-1", **kwargs}
    with pytest.raises(PurchaseError, match=message):
        mark_entry_purchased(entry.pk, user=make_staff("buyer"), **values)
    assert not Purchase.objects.exists()


def test_entries_of_cancelled_orders_and_unmatched_entries_cannot_be_marked():
    a = product()
    cancelled = order((a, 1, 13_990), status="CANCELLED").entries.get()
    foreign = order((None, 1, 5_000)).entries.get()
    with pytest.raises(PurchaseError, match="отменён"):
        mark_entry_purchased(cancelled.pk, quantity=1, unit_price=1, document="D", user=None)
    with pytest.raises(PurchaseError, match="не сопоставлена"):
        mark_entry_purchased(foreign.pk, quantity=1, unit_price=1, document="D", user=None)
    with pytest.raises(PurchaseError, match="Ни одному"):
        mark_article_purchased(a.article, quantity=1, unit_price=1, document="D", user=None)


def test_unmarking_brings_the_need_back_and_is_audited():
    buyer, boss = make_staff("buyer", "orders.mark_purchased"), make_staff("boss", "orders.mark_purchased")
    a = product(dealer_price=10_000, stock=100)
    o = order((a, 2, 13_990, 10_000, 12))
    done = mark_article_purchased(a.article, quantity=2, unit_price=9_000, document="АС-5", user=buyer)
    assert pl.is_bought(pl.purchase_progress([o.pk])[o.pk])
    purchase = unmark_purchase(done.purchases[0].pk, user=boss, reason="не тот заказ")
    purchase.refresh_from_db()
    assert purchase.unmarked_by == boss
    assert purchase.unmarked_at is not None
    assert purchase.unmark_reason == "не тот заказ"
    assert purchase.recorded_by == buyer
    assert Purchase.objects.count() == 1  # kept, never deleted
    assert line_of(pl.purchase_list(), a.article).needed == 2
    assert order_financials(o).dealer_cost == 2 * 10_000  # the estimate is back
    notes = list(OrderEvent.objects.filter(order=o, user=boss).values_list("note", flat=True))
    assert any(n.endswith(" Причина: не тот заказ") for n in notes)
    assert "Товар больше не закуплен полностью." in notes
    with pytest.raises(PurchaseError, match="уже"):
        unmark_purchase(purchase.pk, user=boss)


def test_an_entry_kaspi_drops_keeps_its_purchase_record():
    a = product()
    o = order((a, 1, 13_990))
    done = mark_entry_purchased(o.entries.get().pk, quantity=1, unit_price=10_000, document="D1", user=None)
    o.entries.all().delete()  # the pull deletes entries Kaspi no longer lists
    purchase = Purchase.objects.get(pk=done.purchases[0].pk)
    assert purchase.entry is None
    assert purchase.order == o
    assert purchase.article == a.article


@pytest.mark.django_db(transaction=True)
def test_two_buyers_marking_the_same_entry_at_once_never_buy_more_than_ordered():
    a = product()
    entry = order((a, 3, 13_990)).entries.get()
    results, barrier = [], threading.Barrier(2)

    def mark():
        try:
            barrier.wait()
            mark_entry_purchased(entry.pk, quantity=2, unit_price=10_000, document="D", user=None)
            results.append("ok")
        except PurchaseError:
            results.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=mark) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["ok", "refused"]
    assert sum(Purchase.objects.values_list("quantity", flat=True)) == 2


# --- goods bought ---------------------------------------------------------------------------------------
def test_purchase_progress_counts_whole_units_and_goods_bought_needs_every_entry():
    a, b = product(), product()
    o = order((a, 1, 13_990), (b, 2, 13_990))
    mark_entry_purchased(o.entries.get(product=a).pk, quantity=1, unit_price=1, document="D", user=None)
    assert pl.purchase_progress([o.pk])[o.pk] == (3, 1)
    assert not pl.is_bought((3, 1))
    mark_article_purchased(b.article, quantity=2, unit_price=1, document="D", user=None)
    assert pl.is_bought(pl.purchase_progress([o.pk])[o.pk])
    assert not pl.is_bought(pl.purchase_progress([order().pk]).get(order().pk))  # no entries: nothing bought


# --- the command ----------------------------------------------------------------------------------------
def test_command_json_last_line_is_the_stable_object():
    a = product(stock=1, warehouses={"panfilov": 1})
    o = order((a, 2, 13_990), planned=days(1))
    order((None, 1, 5_000))
    out = StringIO()
    call_command("purchase_list", "--json", stdout=out)
    data = json.loads(out.getvalue().strip().splitlines()[-1])
    (line,) = data["lines"]
    assert line["article"] == a.article
    assert line["needed"] == 2
    assert isinstance(line["needed"], int)
    assert line["allocation"] == {"panfilov": 1}
    assert line["short"] == 1
    assert line["cost"] == 20_000
    assert line["orders"][0]["code"] == o.code
    assert line["orders"][0]["at_risk"] is True
    assert [w["kind"] for w in line["warnings"]] == ["short"]
    assert data["unmatched"][0]["sku"] == "FOREIGN77"
    assert data["totals"] == {"lines": 1, "units": 2, "cost": 20_000, "lines_without_price": 0, "warnings": 2}
    assert "Айгерим" not in out.getvalue()  # no customer data


def test_command_prints_a_readable_list_and_takes_filters():
    a = product(stock=5)
    order((a, 2, 13_990), mode="DELIVERY_PICKUP")
    out = StringIO()
    call_command("purchase_list", stdout=out)
    first, last = out.getvalue().splitlines()
    assert first.startswith(f"{a.article}\t2\t")
    assert "остаток 5" in first
    assert "склад не указан 2" in first
    assert f"\tсумма 20{NBSP}000{NBSP}₸\t" in first
    assert last == f"Строк: 1, штук: 2, сумма 20{NBSP}000{NBSP}₸, предупреждений: 0."
    out = StringIO()
    call_command("purchase_list", "--json", "--delivery-mode", "DELIVERY_LOCAL", stdout=out)
    assert json.loads(out.getvalue().splitlines()[-1])["lines"] == []
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="ГГГГ-ММ-ДД"):
        call_command("purchase_list", "--until", "tomorrow")
    b = product(stock=9, warehouses={"karaganda": 9})
    order((b, 1, 13_990))
    out = StringIO()
    call_command("purchase_list", stdout=out)
    assert "\tвзять: Караганда 1\t" in out.getvalue()  # the warehouse in words


def test_units_we_bought_since_the_last_import_are_not_counted_again_as_al_styles_stock():
    from datetime import timedelta

    from django.utils import timezone

    from catalog.models import ImportRun, Product

    a = product(stock=3, warehouses={"panfilov": 3})
    first = order((a, 2, 13_990), planned=days(1))
    second = order((a, 2, 13_990), planned=days(2))
    mark_entry_purchased(first.entries.get().pk, quantity=2, unit_price=10_000, document="АС-1", user=None)
    line = line_of(pl.purchase_list(), a.article)
    assert (line.stock, line.bought_pending, line.available, line.needed) == (3, 2, 1, 2)
    assert line.allocation == {"panfilov": 1}
    assert line.short == 1
    assert line.orders[0].at_risk
    (short,) = line.warnings
    assert short.text == (
        f"Нужно 2, у Al-Style осталось для нас 1 (его остаток 3 ещё учитывает купленные нами 2): "
        f"под угрозой заказы {second.code}."
    )
    # an import that started after the purchase reads Al-Style's new figure: nothing is pending
    ImportRun.objects.create(kind="quick", status="success", started_at=timezone.now() + timedelta(seconds=1))
    Product.objects.filter(pk=a.pk).update(stock=1, warehouse_stock={"panfilov": 1})
    line = line_of(pl.purchase_list(), a.article)
    assert (line.stock, line.bought_pending, line.available) == (1, 0, 1)
    assert [w.text for w in line.warnings] == [f"Нужно 2, у Al-Style есть 1: под угрозой заказы {second.code}."]
