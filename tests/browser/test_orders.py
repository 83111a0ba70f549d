"""Orders in a real browser against the Kaspi sandbox: accept, cancel (no slip possible), export
XLSX and open it."""

import time

from django.urls import reverse
from openpyxl import load_workbook
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from orders.models import Order

from .pages import wait_css


def test_accept_then_cancel_an_order_in_the_sandbox(logged_in, shop, shot):
    browser = logged_in
    order = shop.stored[shop.waiting["code"]]
    browser.go(reverse("admin:orders_order_change", args=[order.pk]))
    shot(browser, "order-page")
    browser.find_element(By.LINK_TEXT, "ПРИНЯТЬ ЗАКАЗ").click()
    wait_css(browser, "#content-main form input.default").click()
    assert f"Заказ {order.code} принят" in wait_css(browser, "ul.messagelist li").text
    order.refresh_from_db()
    assert order.status == "ACCEPTED_BY_MERCHANT"
    assert shop.by_code[order.code]["status"] == "ACCEPTED_BY_MERCHANT"

    browser.find_element(By.CSS_SELECTOR, "li.ks-danger-action a").click()
    submit = wait_css(browser, "input.ks-danger-button")
    assert submit.get_attribute("value") == "Отменить заказ"
    assert browser.find_element(By.LINK_TEXT, "Назад")
    submit.click()  # no reason chosen: the browser itself refuses to send the form
    reason = browser.find_element(By.NAME, "reason")
    assert browser.execute_script("return arguments[0].validity.valueMissing", reason)
    assert "/cancel/" in browser.current_url
    order.refresh_from_db()
    assert order.status == "ACCEPTED_BY_MERCHANT"
    Select(browser.find_element(By.NAME, "reason")).select_by_visible_text("не удаётся связаться с покупателем")
    shot(browser, "order-cancel")
    browser.find_element(By.CSS_SELECTOR, "input.ks-danger-button").click()
    assert f"Заказ {order.code} отменён" in wait_css(browser, "ul.messagelist li").text
    order.refresh_from_db()
    assert order.status == "CANCELLED"
    assert shop.by_code[order.code]["status"] == "CANCELLED"
    timeline = browser.find_element(By.CSS_SELECTOR, "table.ks-timeline").text
    assert "не удаётся связаться с покупателем" in timeline
    assert "BUYER_NOT_REACHABLE" not in timeline


def test_export_xlsx_downloads_a_workbook_that_opens(logged_in, shop, tmp_path):
    browser = logged_in
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    browser.go(reverse("admin:orders_order_changelist"))
    browser.find_element(By.PARTIAL_LINK_TEXT, "XLSX").click()
    deadline = time.monotonic() + 30
    while not list(tmp_path.glob("*.xlsx")) and time.monotonic() < deadline:
        time.sleep(0.2)
    files = list(tmp_path.glob("*.xlsx"))
    assert files, "the XLSX export did not download"
    sheet = load_workbook(files[0]).active
    rows = list(sheet.values)
    header = rows[0]
    assert "Статус" in header
    assert "Номер заказа" in header
    codes = {row[header.index("Номер заказа")] for row in rows[1:]}
    assert codes == set(Order.objects.values_list("code", flat=True))
    statuses = {row[header.index("Статус")] for row in rows[1:]}
    assert "ждёт принятия" in statuses, statuses
    assert not any(s and s.isupper() for s in statuses), statuses


def test_on_a_phone_cancelling_is_not_next_to_accepting(logged_in, shop, shot):
    from .pages import PHONE, horizontal_overflow, set_viewport

    browser = logged_in
    set_viewport(browser, *PHONE)
    browser.go(reverse("admin:orders_order_change", args=[shop.stored[shop.waiting["code"]].pk]))
    shot(browser, "order-page-phone")
    assert horizontal_overflow(browser) == 0, "the order page scrolls sideways on a phone"
    accept = browser.find_element(By.LINK_TEXT, "ПРИНЯТЬ ЗАКАЗ").rect
    cancel = browser.find_element(By.CSS_SELECTOR, "li.ks-danger-action a").rect
    gap_x = max(cancel["x"] - (accept["x"] + accept["width"]), accept["x"] - (cancel["x"] + cancel["width"]))
    gap_y = max(cancel["y"] - (accept["y"] + accept["height"]), accept["y"] - (cancel["y"] + cancel["height"]))
    assert max(gap_x, gap_y) >= 24, f"a slip of the thumb could cancel: {accept} / {cancel}"
