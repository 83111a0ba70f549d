"""Lists that fit a laptop screen in Russian (issue 13 item 4): at 1440 px the product and order
lists do not scroll sideways and their rows stay a few lines tall (the section list at the left
starts closed below 1700 px, so the table gets the width; it opens with « and stays as chosen)."""

from django.urls import reverse
from selenium.webdriver.common.by import By

from .pages import horizontal_overflow


def row_lines(browser) -> float:
    """The median height of the list's rows, in lines of its text."""
    return browser.execute_script(
        """
        const rows = [...document.querySelectorAll('#result_list tbody tr')].map(r => r.getBoundingClientRect().height);
        rows.sort((a, b) => a - b);
        const line = parseFloat(getComputedStyle(document.querySelector('#result_list tbody td')).lineHeight);
        return rows[Math.floor(rows.length / 2)] / line;
        """
    )


def test_product_and_order_lists_fit_a_laptop_in_russian(logged_in, shop, shot):
    browser = logged_in
    for name, url in (
        ("product-list-rows", reverse("admin:catalog_product_changelist")),
        ("order-list-rows", reverse("admin:orders_order_changelist")),
    ):
        browser.go(url)
        shot(browser, name)
        assert horizontal_overflow(browser) == 0, f"{name} scrolls sideways"
        assert row_lines(browser) <= 3.5, f"{name}: rows {row_lines(browser):.1f} lines tall"


def test_the_section_list_opens_and_stays_open_when_asked(logged_in, shop):
    browser = logged_in
    browser.go(reverse("admin:catalog_product_changelist"))
    sidebar = browser.find_element(By.ID, "nav-sidebar")
    assert not sidebar.is_displayed() or sidebar.size["width"] < 50, "closed on a 1440 px screen"
    browser.find_element(By.ID, "toggle-nav-sidebar").click()
    browser.go(reverse("admin:orders_order_changelist"))
    assert browser.find_element(By.ID, "nav-sidebar").is_displayed(), "the person's choice is kept"
