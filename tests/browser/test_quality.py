"""Kaspi quality in a real browser (issue 15): the dashboard panel and the quality page read in
words, the trend chart's labels can be read, days without orders are not drawn as a 0 % share,
months without orders say so instead of a green 0 %."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from selenium.webdriver.common.by import By

from tests.orders.history import cancelled, completed

from .pages import DESKTOP, PHONE, horizontal_overflow, page_text, set_viewport

DAY = timedelta(days=1)


@pytest.fixture
def young_shop(transactional_db):
    """A shop selling for ten days: 44 orders, 4 cancelled by Kaspi (the buyer cancelled) and 2
    out of stock: 6 of 44, 13.6 %."""
    now = timezone.now()
    for day in range(10):
        completed(now - day * DAY - timedelta(hours=1), 4 if day < 9 else 2)
    for day in range(4):
        cancelled(now - day * DAY - timedelta(hours=2), "BUYER_CANCELLATION")
    for day in (0, 9):  # the oldest order is a cancelled one: no day of the chart is at 0 %
        cancelled(now - day * DAY - timedelta(hours=3), "MERCHANT_OUT_OF_STOCK")


def overlapping_labels(driver, selector: str) -> list[tuple[str, str]]:
    """Pairs of text labels of an SVG whose boxes overlap on the screen."""
    return driver.execute_script(
        """
        const boxes = [...document.querySelectorAll(arguments[0] + ' text')]
            .map(t => [t.textContent, t.getBoundingClientRect()]);
        const pairs = [];
        for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
            const [a, ra] = boxes[i], [b, rb] = boxes[j];
            if (ra.left < rb.right && rb.left < ra.right && ra.top < rb.bottom && rb.top < ra.bottom) pairs.push([a, b]);
        }
        return pairs;
        """,
        selector,
    )


def points_on_the_zero_line(driver, selector: str) -> int:
    """How many points of the chart's lines lie on its 0 % line."""
    return driver.execute_script(
        """
        const svg = document.querySelector(arguments[0]);
        const base = svg.querySelector('line').getAttribute('y1');
        let n = 0;
        for (const line of svg.querySelectorAll('polyline'))
            for (const point of line.getAttribute('points').trim().split(/\\s+/))
                if (point.split(',')[1] === base) n++;
        return n;
        """,
        selector,
    )


def test_dashboard_panel_reads_in_words_and_its_chart_can_be_read(logged_in, young_shop, shot):
    browser = logged_in
    for name, size in (("desktop", DESKTOP), ("phone", PHONE)):
        set_viewport(browser, *size)
        browser.go(reverse("admin:index"))
        panel = browser.find_element(By.ID, "kaspi-quality")
        browser.execute_script("arguments[0].scrollIntoView()", panel)
        shot(browser, f"quality-panel-{name}")
        assert horizontal_overflow(browser) == 0, f"the dashboard scrolls sideways at {size[0]} px"
        text = panel.text.replace("\u00a0", " ")
        assert "13,64 %" in text, text
        assert "6 из 44 заказов" in text, text
        assert "покупатель отменил" in text, text
        assert "BUYER_CANCELLATION" not in text, "a code in the panel"
        chart = "#kaspi-quality svg.kaspi-quality-trend"
        assert overlapping_labels(browser, chart) == [], "the chart's labels overlap"
        assert points_on_the_zero_line(browser, chart) == 0, "days without orders drawn as a 0 % share"


def test_quality_page_says_when_a_month_had_no_orders(logged_in, young_shop, shot):
    browser = logged_in
    browser.go(reverse("admin:orders_qualityreport_changelist"))
    shot(browser, "quality-page")
    assert horizontal_overflow(browser) == 0
    assert overlapping_labels(browser, "svg.kaspi-quality-trend") == []
    assert points_on_the_zero_line(browser, "svg.kaspi-quality-trend") == 0
    months = browser.find_elements(By.CSS_SELECTOR, "#quality-months tbody tr")
    assert len(months) == 12
    empty = [row.text for row in months if "нет заказов" in row.text]
    assert len(empty) >= 10, [row.text for row in months]
    assert all("0,00 %" not in row for row in empty), empty
    assert "BUYER_CANCELLATION" in page_text(browser)  # the page names Kaspi's codes beside the words


def test_cancelling_for_out_of_stock_shows_the_share_after_and_needs_a_tick(logged_in, shop, shot):
    from selenium.webdriver.support.ui import Select

    from orders.models import Order

    from .pages import wait_css

    browser = logged_in
    now = timezone.now()
    completed(now - DAY, 46)
    cancelled(now - DAY, "BUYER_NOT_REACHABLE")  # with the shop's 2 orders: 1 of 49 cancelled, 2,04 %
    order = shop.stored[shop.waiting["code"]]
    browser.go(reverse("admin:orders_order_cancel", args=[order.pk]))
    box = wait_css(browser, "#kaspi-quality-cancel")
    shot(browser, "order-cancel-out-of-stock")
    text = box.text.replace("\u00a0", " ")
    assert "2,04 %" in text, text  # now
    assert "4,08 %" in text, text  # after
    assert "1 из 49" in text, text
    assert "2 из 49" in text, text
    Select(browser.find_element(By.NAME, "reason")).select_by_visible_text("нет в наличии")
    browser.find_element(By.CSS_SELECTOR, "input.ks-danger-button").click()
    assert wait_css(browser, ".errorlist").is_displayed(), "cancelled without the tick"
    order.refresh_from_db()
    assert order.status == "APPROVED_BY_BANK"
    assert shop.by_code[order.code]["status"] == "APPROVED_BY_BANK"
    Select(browser.find_element(By.NAME, "reason")).select_by_visible_text("нет в наличии")
    browser.find_element(By.NAME, "confirm_out_of_stock").click()
    browser.find_element(By.CSS_SELECTOR, "input.ks-danger-button").click()
    assert f"Заказ {order.code} отменён" in wait_css(browser, "ul.messagelist li").text
    assert Order.objects.get(pk=order.pk).cancellation_reason == "MERCHANT_OUT_OF_STOCK"
