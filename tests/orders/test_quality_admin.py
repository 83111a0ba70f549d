"""The Kaspi quality page, the dashboard panel, the order-list links behind each number, and the
out-of-stock confirmation on the cancel page."""

import re
from datetime import timedelta
from html import unescape

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from orders.models import Order
from orders.services import pull_orders
from tests.factories import make_staff

from .history import accepted, cancelled, completed, order

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)
PAGE = "admin:orders_qualityreport_changelist"


@pytest.fixture
def history(db):
    """28 orders in the last 30 days: 2 out of stock, 1 Kaspi timeout, 1 without a reason, 1 return."""
    now = timezone.now()
    manager = get_user_model().objects.create_user("manager-q")
    completed(now - DAY, 22)
    stock = [cancelled(now - 2 * DAY, "MERCHANT_OUT_OF_STOCK", user=manager) for _ in range(2)]
    timeout = cancelled(now - 3 * DAY, "TIMEOUT_BUYER_PICKUP")
    silent = cancelled(now - 3 * DAY, "")
    returned = order(now - 4 * DAY, "RETURNED")
    slow = order(now - 5 * DAY, "COMPLETED")
    accepted(slow, timedelta(hours=7, minutes=5))
    old = cancelled(now - 60 * DAY, "BUYER_NOT_REACHABLE")  # in 90 days only
    return {"stock": stock, "timeout": timeout, "silent": silent, "returned": returned, "slow": slow, "old": old}


def links(html: str, text_pattern: str) -> list[str]:
    """hrefs of the links whose text matches."""
    return [
        unescape(href)
        for href, text in re.findall(r'<a href="([^"]+)">([^<]*)</a>', html)
        if re.fullmatch(text_pattern, text.strip())
    ]


def codes_listed(client, url: str) -> set[str]:
    page = client.get(url).content.decode()
    return {code for code in Order.objects.values_list("code", flat=True) if f">{code}<" in page}


def test_viewer_sees_figures_without_customer_data(client, history):
    client.force_login(make_staff("viewer", "orders.view_order"))
    response = client.get(reverse(PAGE))
    page = response.content.decode()
    assert response.status_code == 200
    assert "28" in page
    assert "14,29" in page  # 4 of 28 cancelled
    assert "MERCHANT_OUT_OF_STOCK" in page
    assert "TIMEOUT_BUYER_PICKUP" in page
    assert "<svg" in page
    assert "Kaspi не публикует" in page  # the help text says which count is unknown (Russian UI)
    assert history["slow"].code in page
    assert "7 ч 05 мин" in page
    for o in Order.objects.all():
        assert o.customer_name not in page
        assert o.customer_phone not in page


def test_without_view_permission_there_is_no_page_and_no_panel(client, history):
    client.force_login(make_staff("nobody"))
    assert client.get(reverse(PAGE)).status_code == 403
    assert "kaspi-quality" not in client.get(reverse("admin:index")).content.decode()
    client.logout()
    assert client.get(reverse(PAGE)).status_code == 302  # to the login page


def test_dashboard_panel_shows_gauge_trend_reasons_and_slowest(client, history):
    client.force_login(make_staff("viewer", "orders.view_order"))
    page = client.get(reverse("admin:index")).content.decode()
    panel = page[page.index('id="kaspi-quality"') :]
    assert "kaspi-quality-gauge" in panel
    assert "kaspi-quality-trend" in panel
    assert "<polyline" in panel
    assert "14,29" in panel
    assert history["slow"].code in panel
    assert reverse(PAGE) in panel
    assert "#c62828" in panel  # 14 % is red


def test_links_lead_to_exactly_the_orders_behind_each_number(client, history):
    client.force_login(make_staff("viewer", "orders.view_order"))
    page = client.get(reverse(PAGE)).content.decode()
    stock = {o.code for o in history["stock"]}
    thirty_days = {o.code for o in Order.objects.filter(created_at__gte=timezone.now() - 30 * DAY)}
    # the rolling windows table: 30 days first, then 90
    (orders_30, orders_90) = links(page, r"28|29")[:2]
    assert codes_listed(client, orders_30) == thirty_days
    assert codes_listed(client, orders_90) == thirty_days | {history["old"].code}
    merchant_30 = links(page, r"2")[0]  # merchant-side cancellations in 30 days
    assert "quality=merchant" in merchant_30
    assert codes_listed(client, merchant_30) == stock
    by_reason = [
        url
        for url in links(page, r"\d+")
        if "cancellation_reason__exact=&" in url or url.endswith("cancellation_reason__exact=")
    ]
    assert by_reason
    assert codes_listed(client, by_reason[0]) == {history["silent"].code}
    staff_30 = [url for url in links(page, r"\d+") if "quality=staff" in url][0]
    assert codes_listed(client, staff_30) == stock
    kaspi_30 = [url for url in links(page, r"\d+") if "quality=kaspi" in url][0]
    assert codes_listed(client, kaspi_30) == {history["timeout"].code, history["silent"].code}
    returned = [url for url in links(page, r"\d+") if "quality=returned" in url][0]
    assert codes_listed(client, returned) == {history["returned"].code}


# --- the out-of-stock confirmation on the cancel page -------------------------------------------
@pytest.fixture
def sandbox_order(kaspi, catalog_products):
    sandbox = kaspi()
    raw = sandbox.add_order()
    pull_orders(days=1)
    now = timezone.now()
    completed(now - DAY, 48)
    cancelled(now - DAY, "BUYER_NOT_REACHABLE")  # 50 orders with ours, 1 cancelled: 2 %
    return sandbox, raw, Order.objects.get(code=raw["code"])


def test_out_of_stock_cancel_shows_the_share_after_and_needs_confirmation(client, sandbox_order):
    sandbox, raw, o = sandbox_order
    client.force_login(make_staff("manager", "orders.view_order", "orders.cancel_order"))
    url = reverse("admin:orders_order_cancel", args=[o.pk])
    page = client.get(url).content.decode()
    assert "kaspi-quality-cancel" in page
    assert "2,00\u00a0%" in page
    assert "4,00\u00a0%" in page  # 1 → 2 of 50
    assert "confirm_out_of_stock" in page
    response = client.post(url, {"reason": "MERCHANT_OUT_OF_STOCK", "comment": ""})
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert raw["status"] == "APPROVED_BY_BANK"
    assert sandbox.request_count("/orders", "POST") == 0
    o.refresh_from_db()
    assert o.status == "APPROVED_BY_BANK"
    response = client.post(url, {"reason": "MERCHANT_OUT_OF_STOCK", "comment": "", "confirm_out_of_stock": "on"})
    assert response.status_code == 302
    o.refresh_from_db()
    assert o.status == "CANCELLED"
    assert o.cancellation_reason == "MERCHANT_OUT_OF_STOCK"
    assert raw["status"] == "CANCELLED"


def test_other_reasons_need_no_extra_confirmation(client, sandbox_order):
    sandbox, raw, o = sandbox_order
    client.force_login(make_staff("manager", "orders.view_order", "orders.cancel_order"))
    response = client.post(reverse("admin:orders_order_cancel", args=[o.pk]), {"reason": "BUYER_NOT_REACHABLE"})
    assert response.status_code == 302
    o.refresh_from_db()
    assert o.status == "CANCELLED"
    assert raw["status"] == "CANCELLED"


def test_an_old_order_does_not_move_the_thirty_day_share(client, sandbox_order):
    _sandbox, _raw, o = sandbox_order
    Order.objects.filter(pk=o.pk).update(created_at=timezone.now() - 45 * DAY)
    client.force_login(make_staff("manager", "orders.view_order", "orders.cancel_order"))
    page = client.get(reverse("admin:orders_order_cancel", args=[o.pk]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "more than 30 days ago" in page or "более 30 дней назад" in page
