"""The main pages at 1440 px and 390 px: they fit (no sideways scroll) and are photographed."""

from django.urls import reverse

from .pages import DESKTOP, PHONE, horizontal_overflow, page_text, set_viewport


def at_both_sizes(browser, shot, url: str, name: str):
    """Open `url` at 1440 px and at 390 px, photograph it, assert nothing scrolls sideways;
    yields after each size so a test can check more on the page."""
    for size_name, size in (("desktop", DESKTOP), ("phone", PHONE)):
        set_viewport(browser, *size)
        browser.go(url)
        shot(browser, f"{name}-{size_name}")
        assert horizontal_overflow(browser) == 0, f"{name} scrolls sideways at {size[0]} px"
        yield size
    set_viewport(browser, *DESKTOP)


def test_product_list_and_page_fit_and_read_as_money(logged_in, shop, shot):
    for _ in at_both_sizes(logged_in, shot, reverse("admin:catalog_product_changelist"), "product-list"):
        assert "₸" in page_text(logged_in)
    logged_in.go(reverse("admin:catalog_product_change", args=[shop.products[0].pk]))
    shot(logged_in, "product-page")
    assert page_text(logged_in).count("Изображения") <= 1


def test_order_list_and_page(logged_in, shop, shot):
    for _ in at_both_sizes(logged_in, shot, reverse("admin:orders_order_changelist"), "order-list"):
        assert "ждёт принятия" in page_text(logged_in)
    logged_in.go(reverse("admin:orders_order_change", args=[shop.stored[shop.waiting["code"]].pk]))
    shot(logged_in, "order-page")


def test_rules_list_fits_without_sideways_scrolling(logged_in, shop, shot):
    for _ in at_both_sizes(logged_in, shot, reverse("admin:catalog_pricerule_changelist"), "rules-list"):
        assert "Все товары" in page_text(logged_in)


def test_dashboard_health_first_charts_and_no_sideways_scroll(logged_in, shop, shot):
    from kaspisync.heartbeat import record_heartbeat

    record_heartbeat()
    browser = logged_in
    for _ in at_both_sizes(browser, shot, reverse("admin:index"), "dashboard"):
        health = browser.find_element("css selector", "#health")
        first_panel = browser.find_element("css selector", "#content-main .module, #kaspisync-dashboard .module")
        assert first_panel == health, "health comes first"
        assert "Фоновый обработчик" in health.text
        assert "vm:" not in page_text(browser)
        assert len(browser.find_elements("css selector", "#sales-charts svg")) == 3
        assert "2 заказа за 30 дней" in page_text(browser)
