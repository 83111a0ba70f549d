"""The purchase list in the admin: page, permissions, exports, marking and unmarking, the order
list and page ("goods bought"), the dashboard panel; and needs pulled from the Kaspi emulator."""

import csv
import io
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse
from openpyxl import load_workbook

from kaspisync import registry
from orders.models import Order, Purchase
from orders.services import pull_orders
from orders.services.purchases import mark_article_purchased
from tests.factories import make_staff

from .purchase_helpers import days, order, product

pytestmark = pytest.mark.django_db

LIST = "admin:orders_purchaselist_changelist"
CUSTOMER = "Айгерим Садыкова"


@pytest.fixture
def needs():
    """Two lines: one Al-Style has enough of (two warehouses), one it is short of."""
    plenty = product(name="Колонки Mi Speaker", stock=50, qualifier=">", warehouses={"panfilov": 4, "karaganda": 30})
    plenty.weight = Decimal("0.750")
    plenty.save(update_fields=["weight"])
    scarce = product(name="Ноутбук Lenovo", dealer_price=200_000, stock=1, warehouses={"panfilov": 1})
    first = order((plenty, 2, 13_990), (scarce, 1, 249_990), planned=days(1), customer=CUSTOMER)
    second = order((scarce, 1, 249_990), planned=days(2), mode="DELIVERY_PICKUP", customer="Берик Ахметов")
    return {"plenty": plenty, "scarce": scarce, "first": first, "second": second}


def test_the_list_needs_its_permission_and_shows_no_customer_data_without_that_one(client, needs):
    url = reverse(LIST)
    client.force_login(make_staff("clerk", "orders.view_order"))
    assert client.get(url).status_code == 403
    client.force_login(make_staff("viewer", "orders.view_purchase_list"))
    page = client.get(url).content.decode()
    assert str(needs["plenty"].article) in page
    assert str(needs["scarce"].article) in page
    assert needs["first"].code in page
    assert "под угрозой" in page
    second = needs["second"]
    link = f'<a href="{reverse("admin:orders_order_change", args=[second.pk])}">{second.code}</a>'
    assert f"Нужно 2, у Al-Style есть 1: под угрозой заказы {link}." in page  # the order at risk, linked
    assert CUSTOMER not in page
    assert "Берик" not in page
    assert reverse("admin:orders_purchaselist_mark") not in page  # viewers do not mark
    index = client.get(reverse("admin:index")).content.decode()
    assert "Список закупки" in index
    assert "Закупить сегодня" in index
    client.force_login(
        make_staff("manager", "orders.view_purchase_list", "orders.view_customer_data", "orders.mark_purchased")
    )
    page = client.get(url).content.decode()
    assert CUSTOMER in page
    assert reverse("admin:orders_purchaselist_mark") in page


@pytest.mark.parametrize(
    "role, sees_customers, marks",
    [(registry.VIEWERS, False, False), (registry.PRICE_MANAGERS, False, False), (registry.ORDER_MANAGERS, True, True)],
)
def test_each_role_sees_the_list_and_its_exports_customer_names_and_marking_only_for_order_managers(
    client, needs, role, sees_customers, marks
):
    """The roles staff are given (kaspisync.roles): everyone sees the list, the exports and the
    panel; only order managers see customer names and mark goods bought."""
    user = get_user_model().objects.create_user("someone", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client.force_login(user)
    page = client.get(reverse(LIST)).content.decode()
    assert needs["scarce"].name in page
    assert (CUSTOMER in page) is sees_customers
    assert (reverse("admin:orders_purchaselist_mark") in page) is marks
    for fmt in ("csv", "xlsx"):
        assert client.get(reverse("admin:orders_purchaselist_export", args=[fmt])).status_code == 200
    assert "Закупить сегодня" in client.get(reverse("admin:index")).content.decode()
    mark = client.post(
        reverse("admin:orders_purchaselist_mark"),
        {"article": needs["plenty"].article, "quantity": 1, "unit_price": 10_000, "document": "АС-9"},
    )
    assert mark.status_code == (302 if marks else 403)
    assert Purchase.objects.filter(document="АС-9").exists() is marks


def test_the_page_filters_by_delivery_mode_warehouse_and_warnings(client, needs):
    client.force_login(make_staff("viewer", "orders.view_purchase_list"))
    url = reverse(LIST)
    pickup = client.get(url, {"delivery_mode": "DELIVERY_PICKUP"}).content.decode()
    assert needs["second"].code in pickup
    assert needs["first"].code not in pickup
    karaganda = client.get(url, {"warehouse": "karaganda"}).content.decode()
    assert str(needs["plenty"].article) in karaganda
    assert needs["scarce"].name not in karaganda
    # warehouses in words, never Al-Style's codes: the filter, the stock and where to take from
    assert '<option value="karaganda" selected>Караганда</option>' in karaganda
    assert '<option value="panfilov">Алматы, ул. Панфилова</option>' in karaganda
    assert "Караганда: 30<" in karaganda
    assert "Алматы, ул. Панфилова: 4<" in karaganda
    assert "Караганда: 2<" in karaganda
    assert ">karaganda" not in karaganda
    assert ">panfilov" not in karaganda
    warned = client.get(url, {"warnings_only": "on"}).content.decode()
    assert needs["scarce"].name in warned
    assert needs["plenty"].name not in warned
    bad = client.get(url, {"until": "not-a-date"})
    assert bad.status_code == 200
    assert needs["plenty"].name in bad.content.decode()  # ignored, said on the form


def test_a_long_list_is_shown_a_page_of_lines_at_a_time_with_totals_of_the_whole(client, needs, monkeypatch):
    """Thousands of lines would make a page of megabytes: the page shows `lines_per_page` lines,
    the totals and the exports cover the whole (filtered) list."""
    from orders.purchase_admin import PurchaseListAdmin

    monkeypatch.setattr(PurchaseListAdmin, "lines_per_page", 1)
    client.force_login(make_staff("viewer", "orders.view_purchase_list"))
    first = client.get(reverse(LIST), {"delivery_mode": ""}).content.decode()
    plenty, scarce = needs["plenty"], needs["scarce"]
    assert plenty.name in first  # lines by article: plenty first
    assert scarce.name not in first
    assert "2 строки" in first
    assert "Строки 1–1 из 2" in first
    assert 'href="?delivery_mode=&amp;p=2"' in first  # the next page keeps the filters
    export = first.split("export/csv/")[1].split('"')[0]
    assert export == "?delivery_mode="  # the export: the whole filtered list, not the page
    second = client.get(reverse(LIST), {"delivery_mode": "", "p": "2"}).content.decode()
    assert scarce.name in second
    assert plenty.name not in second
    assert "Строки 2–2 из 2" in second
    assert 'href="?delivery_mode=&amp;p=1"' in second
    beyond = client.get(reverse(LIST), {"p": "99"})
    assert beyond.status_code == 200
    assert scarce.name in beyond.content.decode()  # the last page


def test_csv_export_opens_in_russian_excel_grouped_by_warehouse(client, needs):
    client.force_login(make_staff("manager", "orders.view_purchase_list", "orders.view_customer_data"))
    response = client.get(reverse("admin:orders_purchaselist_export", args=["csv"]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    body = response.content
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    header, *data = rows
    assert header[:8] == [
        "Склад",
        "Артикул",
        "Код производителя",
        "Товар",
        "Бренд",
        "Купить, шт.",
        "Дилерская цена, ₸",
        "Сумма, ₸",
    ]
    assert [(r[0], r[1], r[5], r[7]) for r in data] == [
        ("Алматы, ул. Панфилова", str(needs["scarce"].article), "1", "200000"),
        ("Караганда", str(needs["plenty"].article), "2", "20000"),
        ("Нет у Al-Style", str(needs["scarce"].article), "1", "200000"),
    ]  # warehouses in words, by name; then what Al-Style does not have
    assert data[1][8] == "1,500"  # 2 × 0.750 kg, decimal comma
    assert "под угрозой" in data[0][11]  # the supplier-facing notes
    text = body.decode("utf-8-sig")
    assert CUSTOMER not in text
    assert "Берик" not in text  # never in a file for the supplier


def test_xlsx_export_has_a_sheet_per_warehouse_with_totals(client, needs):
    client.force_login(make_staff("viewer", "orders.view_purchase_list"))
    response = client.get(reverse("admin:orders_purchaselist_export", args=["xlsx"]))
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["Алматы, ул. Панфилова", "Караганда", "Нет у Al-Style"]
    rows = list(book["Караганда"].iter_rows(values_only=True))
    assert rows[0][0] == "Склад"
    assert rows[1][1] == needs["plenty"].article
    assert rows[1][5] == 2
    assert rows[-1][0] == "Итого"
    assert rows[-1][5] == 2
    assert rows[-1][7] == 20_000
    assert rows[-1][8] == 1.5
    sheet = book["Караганда"]
    assert sheet["A1"].font.bold  # the header and the totals in bold
    assert sheet.cell(row=sheet.max_row, column=1).font.bold
    assert sheet["K2"].value == days(1).replace(tzinfo=None)  # Almaty time, as a date Excel reads
    assert sheet["K2"].number_format == "DD.MM.YYYY HH:MM"
    assert sheet.freeze_panes == "A2"
    unweighed = list(book["Алматы, ул. Панфилова"].iter_rows(values_only=True))
    assert unweighed[-1][0] == "Итого"
    assert unweighed[-1][8] is None  # no weight known: no total, not "0 kg"
    empty = client.get(
        reverse("admin:orders_purchaselist_export", args=["xlsx"]), {"delivery_mode": "DELIVERY_REGIONAL_PICKUP"}
    )
    assert load_workbook(io.BytesIO(empty.content)).sheetnames == ["Список закупки"]
    assert client.get(reverse("admin:orders_purchaselist_export", args=["pdf"])).status_code == 404


def test_marking_from_the_page_needs_its_permission_and_records_the_purchase(client, needs):
    url = reverse("admin:orders_purchaselist_mark")
    article = needs["plenty"].article
    client.force_login(make_staff("viewer", "orders.view_purchase_list"))
    assert client.get(url, {"article": article}).status_code == 403
    assert (
        client.post(url, {"article": article, "quantity": 2, "unit_price": 9_900, "document": "D"}).status_code == 403
    )
    buyer = make_staff("buyer", "orders.view_purchase_list", "orders.mark_purchased")
    client.force_login(buyer)
    form = client.get(url, {"article": article}).content.decode()
    assert 'value="2"' in form
    assert 'value="10000"' in form  # defaults: what is needed, at today's dealer price
    refused = client.post(url, {"article": article, "quantity": 5, "unit_price": 9_900, "document": "АС-11"})
    assert refused.status_code == 200
    assert "больше отметить нельзя" in refused.content.decode()
    done = client.post(url, {"article": article, "quantity": 2, "unit_price": 9_900, "document": "АС-11"}, follow=True)
    assert "Отмечено как закупленное" in done.content.decode()
    (purchase,) = Purchase.objects.all()
    assert (purchase.quantity, purchase.unit_price, purchase.document, purchase.recorded_by) == (
        2,
        9_900,
        "АС-11",
        buyer,
    )
    assert needs["plenty"].name not in client.get(reverse(LIST)).content.decode()
    # one entry of an order: the scarce laptop of the second order
    entry = needs["second"].entries.get()
    client.post(url, {"entry": entry.pk, "quantity": 1, "unit_price": 199_000, "document": "АС-12"})
    assert Purchase.objects.get(entry=entry).unit_price == 199_000


def test_goods_bought_shows_in_the_order_list_page_and_timeline_and_unmarking_is_audited(client, needs):
    buyer = make_staff("buyer", "orders.view_order", "orders.view_purchase", "orders.mark_purchased")
    first = needs["first"]
    mark_article_purchased(needs["plenty"].article, quantity=2, unit_price=9_900, document="АС-1", user=buyer)
    client.force_login(buyer)
    listing = client.get(reverse("admin:orders_order_changelist")).content.decode()
    assert "2 из 3 шт." in listing
    mark_article_purchased(needs["scarce"].article, quantity=1, unit_price=199_000, document="АС-2", user=buyer)
    listing = client.get(reverse("admin:orders_order_changelist")).content.decode()
    assert "товар закуплен" in listing
    page = client.get(reverse("admin:orders_order_change", args=[first.pk])).content.decode()
    assert "Закуплено у Al-Style — товар закуплен" in page
    assert "АС-2" in page
    assert "Товар закуплен: весь товар заказа куплен у Al-Style." in page
    purchase = Purchase.objects.get(document="АС-2")
    unmark = reverse("admin:orders_purchase_unmark", args=[purchase.pk])
    assert unmark in page
    client.force_login(make_staff("viewer", "orders.view_order", "orders.view_purchase"))
    assert client.post(unmark, {"reason": "x"}).status_code == 403
    client.force_login(buyer)
    client.post(unmark, {"reason": "ошибся заказом"})
    purchase.refresh_from_db()
    assert purchase.unmarked_by == buyer
    assert purchase.unmark_reason == "ошибся заказом"
    history = client.get(reverse("admin:orders_purchase_changelist")).content.decode()
    assert "отметка снята" in history
    assert "АС-1" in history
    assert "199\xa0000\xa0₸" in history  # the price paid, as money
    assert "9\xa0900\xa0₸" in history
    page = client.get(reverse("admin:orders_order_change", args=[first.pk])).content.decode()
    assert "Товар больше не закуплен полностью." in page
    assert "ошибся заказом" in page


def test_dashboard_panel_to_buy_today(client, needs):
    client.force_login(make_staff("viewer", "orders.view_purchase_list"))
    panel = client.get(reverse("admin:index")).content.decode()
    assert "Закупить сегодня" in panel
    assert "2 строки" in panel
    assert "4 штуки" in panel
    assert "420\xa0000\xa0₸" in panel  # the one money formatter (kaspisync.display)
    assert "1 предупреждение" in panel
    client.force_login(make_staff("clerk", "orders.view_order"))
    assert "Закупить сегодня" not in client.get(reverse("admin:index")).content.decode()


def test_needs_of_orders_pulled_from_kaspi(kaspi, catalog_products):
    sandbox = kaspi()
    waiting = sandbox.add_order()
    accepted = sandbox.add_order(status="ACCEPTED_BY_MERCHANT")
    cancelled = sandbox.add_order(status="CANCELLED")
    pull_orders(days=1)
    from orders import purchase_list

    result = purchase_list.purchase_list()
    codes = {o.code for line in result.lines for o in line.orders} | {u.code for u in result.unmatched}
    assert codes == {waiting["code"], accepted["code"]}
    assert cancelled["code"] not in codes
    stored = Order.objects.get(code=accepted["code"])
    needed = sum(int(e.quantity) for e in stored.entries.filter(product__isnull=False))
    assert sum(o.needed for line in result.lines for o in line.orders if o.code == stored.code) == needed
