import csv
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from kaspisync.celery import app as celery_app
from orders.models import Order, PullRun
from orders.services import pull_orders
from tests.factories import make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def orders(kaspi, catalog_products):
    sandbox = kaspi()
    new = sandbox.add_order()
    accepted = sandbox.add_order(status="ACCEPTED_BY_MERCHANT", kaspi_delivery=True, mode="DELIVERY_LOCAL")
    pull_orders(days=1)
    sandbox.stored = {o.code: o for o in Order.objects.all()}
    sandbox.new, sandbox.accepted = new, accepted
    return sandbox


def test_order_list_shows_columns_and_hides_customer_data_without_permission(client, orders):
    order = orders.stored[orders.new["code"]]
    client.force_login(make_staff("viewer", "orders.view_order"))
    page = client.get(reverse("admin:orders_order_changelist")).content.decode()
    assert order.code in page
    assert order.city in page
    assert order.customer_phone not in page
    assert order.customer_name not in page
    detail = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert order.customer_phone not in detail
    assert order.customer_name not in detail
    assert orders.new["address"]["streetName"] not in detail
    sku = order.entries.first().sku
    by_sku = client.get(reverse("admin:orders_order_changelist"), {"q": sku}).content.decode()
    assert order.code in by_sku
    # searching by phone is not possible either
    found = client.get(reverse("admin:orders_order_changelist"), {"q": order.customer_phone}).content.decode()
    assert order.code not in found


def test_customer_data_is_visible_with_the_permission(client, orders):
    order = orders.stored[orders.new["code"]]
    client.force_login(make_staff("support", "orders.view_order", "orders.view_customer_data"))
    page = client.get(reverse("admin:orders_order_changelist"), {"q": order.customer_phone}).content.decode()
    assert order.code in page
    assert order.customer_name in page
    detail = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert order.customer_phone in detail


def test_order_page_shows_entries_margin_and_timeline(client, orders):
    order = orders.stored[orders.new["code"]]
    client.force_login(make_staff("viewer", "orders.view_order"))
    page = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    entry = order.entries.first()
    assert entry.sku in page
    assert "История" in page
    assert "впервые получен" in page
    assert reverse("admin:catalog_product_change", args=[entry.product_id]) in page
    accept_url = reverse("admin:orders_order_accept", args=[order.pk])
    assert accept_url not in page  # no permission, no button
    client.force_login(make_staff("manager", "orders.view_order", "orders.accept_order"))
    assert accept_url in client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()


def test_action_needs_permission_and_confirmation(client, orders):
    order = orders.stored[orders.new["code"]]
    url = reverse("admin:orders_order_accept", args=[order.pk])
    client.force_login(make_staff("viewer", "orders.view_order"))
    assert client.get(url).status_code == 403
    assert client.post(url).status_code == 403
    assert orders.new["status"] == "APPROVED_BY_BANK"

    manager = make_staff("manager", "orders.view_order", "orders.accept_order")
    client.force_login(manager)
    confirm = client.get(url)
    text = confirm.content.decode()
    assert confirm.status_code == 200
    assert "нельзя отменить" in text  # Russian is the default UI language
    assert orders.new["status"] == "APPROVED_BY_BANK"  # a GET changes nothing
    response = client.post(url)
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == "ACCEPTED_BY_MERCHANT"
    assert orders.new["status"] == "ACCEPTED_BY_MERCHANT"
    assert order.events.latest("at").user == manager


def test_refused_action_is_shown_in_words(client, orders):
    order = orders.stored[orders.new["code"]]
    orders.set_status(order.code, "CANCELLED")
    client.force_login(make_staff("manager", "orders.view_order", "orders.accept_order"))
    page = client.post(reverse("admin:orders_order_accept", args=[order.pk]))
    assert page.status_code == 200
    assert "CANCELLED" in page.content.decode()
    order.refresh_from_db()
    assert order.status == "APPROVED_BY_BANK"


def test_an_unknown_outcome_leaves_the_confirmation_page_with_a_warning(client, orders):
    order = orders.stored[orders.new["code"]]
    client.force_login(make_staff("manager", "orders.view_order", "orders.accept_order"))
    orders.inject("503", path="/orders", applied=True)  # made at Kaspi, the answer lost
    response = client.post(reverse("admin:orders_order_accept", args=[order.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:orders_order_change", args=[order.pk])
    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "may have made the change" in page
    assert "Kaspi has made the change" in page
    order.refresh_from_db()
    assert order.status == "ACCEPTED_BY_MERCHANT"
    assert orders.request_count("/orders", "POST") == 1


def test_cancel_page_takes_reason_and_comment(client, orders):
    order = orders.stored[orders.new["code"]]
    client.force_login(make_staff("manager", "orders.view_order", "orders.cancel_order"))
    url = reverse("admin:orders_order_cancel", args=[order.pk])
    client.post(url, {"reason": "BUYER_NOT_REACHABLE", "comment": "не отвечает"})
    order.refresh_from_db()
    assert order.status == "CANCELLED"
    assert order.cancellation_reason == "BUYER_NOT_REACHABLE"


def test_cancelling_cannot_happen_by_a_slip(client, orders):
    """Issue 13 item 5: the button says what it does, no reason is preselected, the way back says
    "Назад", and the timeline gives the reason in words."""
    order = orders.stored[orders.new["code"]]
    client.force_login(make_staff("manager", "orders.view_order", "orders.cancel_order", "orders.accept_order"))
    detail = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert "Отменить заказ" in detail
    assert 'class="ks-danger-action"' in detail
    url = reverse("admin:orders_order_cancel", args=[order.pk])
    page = client.get(url).content.decode()
    assert 'value="Отменить заказ"' in page, "the submit button must say it cancels the order"
    assert ">Назад</a>" in page
    assert "Нет, вернуться" not in page
    assert "Да, я уверен" not in page
    assert '<option value="" selected>' in page, "no cancellation reason may be preselected"
    refused = client.post(url, {"reason": "", "comment": ""})
    assert refused.status_code == 200
    assert "Выберите, почему заказ отменяется." in refused.content.decode()
    order.refresh_from_db()
    assert order.status == "APPROVED_BY_BANK"
    assert orders.request_count("/orders", "POST") == 0
    client.post(url, {"reason": "BUYER_CANCELLATION_BY_MERCHANT", "comment": ""})
    order.refresh_from_db()
    assert order.status == "CANCELLED"
    detail = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    timeline = detail[detail.index("ks-timeline") :]
    assert "BUYER_CANCELLATION_BY_MERCHANT" not in timeline
    assert "покупатель попросил отменить" in timeline


def test_complete_page_runs_the_two_steps(client, orders):
    order = orders.stored[orders.accepted["code"]]
    client.force_login(make_staff("manager", "orders.view_order", "orders.complete_order"))
    url = reverse("admin:orders_order_complete", args=[order.pk])
    assert client.post(url, {"send_code": "1", "code": ""}).status_code == 302
    code = orders.sent_codes[order.code]
    client.post(url, {"complete": "1", "code": code})
    order.refresh_from_db()
    assert order.status == "COMPLETED"


def test_assemble_page(client, orders):
    order = orders.stored[orders.accepted["code"]]
    client.force_login(make_staff("manager", "orders.view_order", "orders.assemble_order"))
    client.post(reverse("admin:orders_order_assemble", args=[order.pk]), {"number_of_space": "3"})
    order.refresh_from_db()
    assert order.number_of_space == 3


def test_bulk_accept_confirms_first(client, orders):
    order = orders.stored[orders.new["code"]]
    client.force_login(make_staff("manager", "orders.view_order", "orders.accept_order"))
    url = reverse("admin:orders_order_changelist")
    data = {"action": "accept_selected", "_selected_action": [order.pk]}
    page = client.post(url, data)
    assert page.status_code == 200
    assert order.code in page.content.decode()
    assert orders.new["status"] == "APPROVED_BY_BANK"
    client.post(url, {**data, "post": "yes"})
    order.refresh_from_db()
    assert order.status == "ACCEPTED_BY_MERCHANT"


def test_bulk_accept_skips_orders_not_waiting_for_acceptance_in_words(client, orders):
    new, accepted = orders.stored[orders.new["code"]], orders.stored[orders.accepted["code"]]
    client.force_login(make_staff("manager", "orders.view_order", "orders.accept_order"))
    data = {"action": "accept_selected", "_selected_action": [new.pk, accepted.pk], "post": "yes"}
    page = client.post(reverse("admin:orders_order_changelist"), data, follow=True).content.decode()
    assert f"Принято: {new.code}" in page
    assert "Не отправлены в Kaspi" in page
    assert f"{accepted.code} (принят продавцом)" in page
    assert orders.request_count("/orders", "POST") == 1


def test_export_csv_and_xlsx_of_the_filtered_list(client, orders):
    new = orders.stored[orders.new["code"]]
    client.force_login(make_staff("viewer", "orders.view_order"))
    response = client.get(reverse("admin:orders_order_export", args=["csv"]), {"status__exact": "APPROVED_BY_BANK"})
    assert response.content.startswith("\ufeff".encode()), "Excel needs the BOM to read UTF-8"
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert len(rows) == 1 + new.entries.count()
    assert {r[0] for r in rows[1:]} == {new.code}
    assert new.customer_phone not in response.content.decode("utf-8-sig")
    header, first = rows[0], rows[1]
    assert first[header.index("Статус")] == "ждёт принятия"
    assert "APPROVED_BY_BANK" not in response.content.decode("utf-8-sig"), "status codes must read in words"
    total = first[header.index("Сумма, ₸")]
    assert "," in total, f"Russian Excel needs a decimal comma, got {total!r}"
    assert "." not in total, f"Russian Excel needs a decimal comma, got {total!r}"

    client.force_login(make_staff("support", "orders.view_order", "orders.view_customer_data"))
    response = client.get(reverse("admin:orders_order_export", args=["xlsx"]))
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = list(sheet.values)
    codes = {row[0] for row in values[1:]}
    assert codes == set(orders.stored)
    assert new.customer_phone in {cell for row in values for cell in row}
    entry = new.entries.first()
    line = next(row for row in values[1:] if row[0] == new.code and entry.sku in row)
    assert entry.total_price in line


def test_pull_run_admin_is_read_only_and_pull_now_queues_on_commit(client, orders, django_capture_on_commit_callbacks):
    celery_app.conf.task_always_eager = True
    try:
        client.force_login(make_staff("ops", "orders.view_pullrun", "orders.pull_orders"))
        page = client.get(reverse("admin:orders_pullrun_changelist"))
        assert page.status_code == 200
        assert client.get(reverse("admin:orders_pullrun_add")).status_code == 403
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            client.post(reverse("admin:orders_order_pull_now"))
        assert len(callbacks) == 1
    finally:
        celery_app.conf.task_always_eager = False
    run = PullRun.objects.latest("started_at")
    assert run.trigger == "admin"
    assert run.triggered_by == "ops"
    assert run.status == "success"


def test_pull_now_needs_the_permission(client, orders):
    client.force_login(make_staff("viewer", "orders.view_order"))
    assert client.post(reverse("admin:orders_order_pull_now")).status_code == 403


def test_dashboard_counts_orders_to_accept_and_shows_the_last_pull(client, kaspi, catalog_products):
    client.force_login(make_staff("clerk", "orders.view_order", "orders.view_pullrun"))
    page = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Orders have not been pulled from Kaspi yet." in page
    sandbox = kaspi()
    sandbox.add_order(), sandbox.add_order(), sandbox.add_order(status="ACCEPTED_BY_MERCHANT")
    run = pull_orders(days=1)
    page = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "2 orders wait for acceptance" in page
    assert "?status__exact=APPROVED_BY_BANK" in page
    assert f"/admin/orders/pullrun/{run.pk}/change/" in page
    assert "2 заказа ждут принятия" in client.get("/admin/").content.decode()  # Russian by default

    client.force_login(make_staff("pricing-only"))
    assert "wait for acceptance" not in client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
