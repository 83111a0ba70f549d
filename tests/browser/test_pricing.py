"""Pricing in a real browser: the rule preview saves nothing and says so; a manual price below
the dealer price is previewed with a warning that must be confirmed."""

from django.urls import reverse
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from catalog.models import PriceRule

from .pages import page_text, wait_css


def test_rule_preview_does_not_say_saved(logged_in, shop, shot):
    browser = logged_in
    browser.go(reverse("admin:catalog_pricerule_add"))
    browser.find_element(By.NAME, "name").send_keys("Наценка 20 %")
    Select(browser.find_element(By.NAME, "category")).select_by_index(1)  # a category (a global rule exists)
    markup = browser.find_element(By.NAME, "markup_percent")
    markup.clear()
    markup.send_keys("20")
    browser.find_element(By.NAME, "_save").click()
    wait_css(browser, "#pricing-preview-summary")
    shot(browser, "rule-preview")
    text = page_text(browser)
    assert "Ничего ещё не сохранено" in text or "не сохранено" in text, text[:800]
    assert "успешно" not in text.lower(), "the preview claims a save"
    assert "сохранено:" not in text.lower(), "the preview claims a save"
    assert not browser.find_elements(By.CSS_SELECTOR, "ul.messagelist li.success")
    assert PriceRule.objects.filter(name="Наценка 20 %").count() == 0
    browser.find_element(By.CSS_SELECTOR, "input[type=submit][name=_save]").click()
    wait_css(browser, "ul.messagelist li.success")
    assert PriceRule.objects.filter(name="Наценка 20 %").count() == 1


def test_manual_price_below_dealer_price_is_warned_and_needs_confirmation(logged_in, shop, shot):
    from catalog.models import PriceOverride, Product

    browser = logged_in
    product = shop.products[0]
    browser.go(reverse("admin:catalog_product_changelist") + f"?q={product.article}")
    browser.find_element(By.CSS_SELECTOR, f"input[name=_selected_action][value='{product.pk}']").click()
    Select(browser.find_element(By.NAME, "action")).select_by_value("set_override")
    browser.find_element(By.CSS_SELECTOR, "button[name=index], input[name=index]").click()
    wait_css(browser, "input[name=price]").send_keys("1")
    browser.find_element(By.CSS_SELECTOR, "#content-main input[type=submit]").click()
    warning = wait_css(browser, "#override-warning")
    shot(browser, "manual-price-warning")
    assert "ниже дилерской цены" in warning.text
    assert not PriceOverride.objects.exists(), "the preview saved the price"
    browser.find_element(By.CSS_SELECTOR, "#content-main input[type=submit].default").click()  # not confirmed
    assert "Отметьте" in wait_css(browser, "p.errornote").text
    assert not PriceOverride.objects.exists()
    browser.find_element(By.NAME, "accept_loss").click()
    browser.find_element(By.CSS_SELECTOR, "#content-main input[type=submit].default").click()
    assert "Ручная цена 1 ₸ установлена для 1 товара" in wait_css(browser, "ul.messagelist li").text
    assert Product.objects.get(pk=product.pk).sale_price == 1
