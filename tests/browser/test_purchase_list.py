"""The purchase list in a real browser: the morning's list with its warnings, marking a line bought."""

from selenium.webdriver.common.by import By

from tests.orders.purchase_helpers import days, order, product

from .pages import page_text, wait_css


def test_buyer_sees_the_list_and_marks_a_line_bought(logged_in, shot):
    browser = logged_in
    speaker = product(name="Колонки Mi Speaker", stock=50, qualifier=">", warehouses={"panfilov": 4, "karaganda": 30})
    laptop = product(name="Ноутбук Lenovo", dealer_price=200_000, stock=1, warehouses={"panfilov": 1})
    first = order((speaker, 2, 13_990), (laptop, 1, 249_990), planned=days(1))
    second = order((laptop, 1, 249_990), planned=days(2), mode="DELIVERY_PICKUP")
    order((None, 1, 5_000))

    browser.go("/admin/orders/purchaselist/")
    wait_css(browser, "#purchase-lines")
    text = page_text(browser)
    assert "Список закупки" in text
    assert "2 строки" in text
    assert f"под угрозой заказы {second.code}" in text
    assert "Позиции не из каталога" in text
    shot(browser, "purchase-list")

    browser.find_element(By.CSS_SELECTOR, f"a.button[href*='article={speaker.article}']").click()
    wait_css(browser, "input[name=document]").send_keys("АС-20261201")
    assert browser.find_element(By.NAME, "quantity").get_attribute("value") == "2"
    shot(browser, "purchase-mark")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit].default").click()
    wait_css(browser, "#purchase-lines")
    text = page_text(browser)
    assert "Отмечено как закупленное: 2 × артикул" in text
    assert speaker.name not in text
    assert first.code in text  # still needs the laptop


def test_warehouses_read_as_places_not_codes(logged_in, shot):
    from selenium.webdriver.support.ui import Select

    browser = logged_in
    speaker = product(name="Колонки Mi Speaker", stock=34, warehouses={"panfilov": 4, "karaganda": 30})
    order((speaker, 2, 13_990), planned=days(1))
    browser.go("/admin/orders/purchaselist/")
    wait_css(browser, "#purchase-lines")
    lines = browser.find_element(By.ID, "purchase-lines").text
    assert "Алматы, ул. Панфилова: 4" in lines, lines
    assert "Караганда: 30" in lines, lines
    assert "panfilov" not in lines
    assert "karaganda" not in lines
    options = [o.text for o in Select(browser.find_element(By.NAME, "warehouse")).options]
    assert options == ["все", "Караганда"], options  # the warehouses the list takes units from
