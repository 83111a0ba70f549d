"""The main pages at 1440 px and 390 px: they fit (no sideways scroll) and are photographed."""

from django.urls import reverse

from .pages import DESKTOP, PHONE, horizontal_overflow, page_text, set_viewport


def test_product_list_and_page_fit_and_read_as_money(logged_in, shop, shot):
    browser = logged_in
    for name, size in (("desktop", DESKTOP), ("phone", PHONE)):
        set_viewport(browser, *size)
        browser.go(reverse("admin:catalog_product_changelist"))
        text = page_text(browser)
        assert "₸" in text
        shot(browser, f"product-list-{name}")
        assert horizontal_overflow(browser) == 0, f"the product list scrolls sideways at {size[0]} px"
    product = shop.products[0]
    set_viewport(browser, *DESKTOP)
    browser.go(reverse("admin:catalog_product_change", args=[product.pk]))
    shot(browser, "product-page")
    text = page_text(browser)
    assert text.count("Изображения") <= 1


def test_order_list_and_page(logged_in, shop, shot):
    browser = logged_in
    for name, size in (("desktop", DESKTOP), ("phone", PHONE)):
        set_viewport(browser, *size)
        browser.go(reverse("admin:orders_order_changelist"))
        shot(browser, f"order-list-{name}")
        assert horizontal_overflow(browser) == 0, f"the order list scrolls sideways at {size[0]} px"
    order = shop.stored[shop.waiting["code"]]
    set_viewport(browser, *DESKTOP)
    browser.go(reverse("admin:orders_order_change", args=[order.pk]))
    shot(browser, "order-page")


def test_rules_list_fits_without_sideways_scrolling(logged_in, shop, shot):
    browser = logged_in
    for name, size in (("desktop", DESKTOP), ("phone", PHONE)):
        set_viewport(browser, *size)
        browser.go(reverse("admin:catalog_pricerule_changelist"))
        shot(browser, f"rules-list-{name}")
        assert horizontal_overflow(browser) == 0, f"the rules list scrolls sideways at {size[0]} px"


def test_dashboard_health_first_charts_and_no_sideways_scroll(logged_in, shop, shot):
    from kaspisync.heartbeat import record_heartbeat

    record_heartbeat()
    browser = logged_in
    for name, size in (("desktop", DESKTOP), ("phone", PHONE)):
        set_viewport(browser, *size)
        browser.go(reverse("admin:index"))
        shot(browser, f"dashboard-{name}")
        assert horizontal_overflow(browser) == 0, f"the dashboard scrolls sideways at {size[0]} px"
        health = browser.find_element("css selector", "#health")
        first_panel = browser.find_element("css selector", "#content-main .module, #kaspisync-dashboard .module")
        assert first_panel == health, "health comes first"
        assert "Фоновый обработчик" in health.text and "vm:" not in page_text(browser)
        assert len(browser.find_elements("css selector", "#sales-charts svg")) == 3
        assert "2 заказа за 30 дней" in page_text(browser)
