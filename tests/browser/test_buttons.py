"""Buttons that do the same kind of thing look the same: a "run now" button (a form, it POSTs)
beside the export links of the order list."""

from django.urls import reverse
from selenium.webdriver.common.by import By

STYLE = ("border-radius", "text-transform", "font-size", "background-color", "color")


def style(browser, element) -> dict:
    return {name: browser.execute_script(f"return getComputedStyle(arguments[0])['{name}']", element) for name in STYLE}


def test_run_now_looks_like_the_links_beside_it(logged_in, shop, shot):
    browser = logged_in
    browser.go(reverse("admin:orders_order_changelist"))
    link = browser.find_element(By.PARTIAL_LINK_TEXT, "CSV")
    button = browser.find_element(By.CSS_SELECTOR, ".object-tools form button")
    shot(browser, "order-list-tools")
    assert style(browser, button) == style(browser, link)
    assert abs(button.rect["height"] - link.rect["height"]) <= 2


def test_a_list_of_checkboxes_shows_each_choice_on_one_line(logged_in, shot):
    browser = logged_in
    browser.go(reverse("admin:alerts_subscription_add"))
    labels = browser.find_elements(By.CSS_SELECTOR, "#id_telegram_kinds label")
    shot(browser, "subscription-add")
    assert len(labels) >= 10
    font = float(browser.execute_script("return parseFloat(getComputedStyle(arguments[0]).fontSize)", labels[0]))
    tall = [label.text for label in labels if label.rect["height"] > 2.2 * font]  # more than one line
    assert not tall, f"choices wrapped over several lines: {tall}"
