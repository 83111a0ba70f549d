"""Searching as staff type: lowercase Cyrillic finds products on SQLite too; an over-long search
is cut to the box's length and answered, never a raw server error."""

from django.urls import reverse
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from catalog.models import Product

from .pages import page_text, wait_css, wait_until_replaced


def test_find_a_product_by_its_lowercase_cyrillic_name(logged_in, shop, shot):
    browser = logged_in
    expected = Product.objects.filter(name__startswith="Ноутбук").count()
    assert expected, "the sandbox sells laptops"
    browser.go(reverse("admin:catalog_product_changelist"))
    box = browser.find_element(By.ID, "searchbar")
    box.send_keys("ноутбук", Keys.ENTER)
    wait_until_replaced(browser, box)  # the unsearched list has a #result_list too
    wait_css(browser, "#result_list")
    shot(browser, "search-lowercase")
    names = [el.text for el in browser.find_elements(By.CSS_SELECTOR, "#result_list .field-product_column a")]
    assert len(names) == expected, names
    assert all("Ноутбук" in name for name in names), names


def test_an_over_long_search_is_cut_to_the_box(logged_in, shop):
    browser = logged_in
    browser.go(reverse("admin:catalog_product_changelist"))
    box = browser.find_element(By.ID, "searchbar")
    browser.execute_script("arguments[0].value = arguments[1]", box, "ноутбук" * 700)  # pasted, 4 900 chars
    box.send_keys(Keys.ENTER)
    wait_until_replaced(browser, box)
    wait_css(browser, "#result_list, .paginator")
    text = page_text(browser)
    assert "Request Line is too large" not in text
    assert "Товары" in text
    assert "ищем по первым 200" in text, text[:600]
