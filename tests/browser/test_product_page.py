"""The product page as staff read it: history rows without their technical names, empty sections
in words, stock per warehouse and per Kaspi store in words."""

import re

from django.urls import reverse
from selenium.webdriver.common.by import By

from .pages import page_text


def test_product_page_history_and_empty_sections_read_in_words(logged_in, shop, shot):
    browser = logged_in
    product = shop.products[0]
    browser.go(reverse("admin:catalog_product_change", args=[product.pk]))
    shot(browser, "product-page-history")
    prices = browser.find_element(By.ID, "sale_price_changes-group").text
    assert "первая цена" in prices, prices
    assert not re.search(r"^\d+: ", prices, flags=re.M), f"a row's technical name is shown: {prices!r}"
    supplier = browser.find_element(By.ID, "changes-group").text
    assert "Пока ничего нет." in supplier, supplier
    text = page_text(browser)
    for code in ("panfilov", "astana", "karaganda", "rayimbek"):
        assert code not in text, f"warehouse code {code!r} on the product page"
