"""The portal in a real browser: logging in and the dashboard."""

from .pages import DESKTOP, PHONE, horizontal_overflow, page_text, set_viewport


def test_login_in_russian_and_dashboard_fits_desktop_and_phone(logged_in, shot):
    browser = logged_in
    text = page_text(browser)
    assert "Панель управления" in text or "kaspisync" in text, text[:500]
    assert browser.execute_script("return navigator.language").startswith("ru")
    for name, size in (("desktop", DESKTOP), ("phone", PHONE)):
        set_viewport(browser, *size)
        browser.go("/admin/")
        assert horizontal_overflow(browser) == 0, f"dashboard scrolls sideways at {size[0]} px"
        shot(browser, f"dashboard-empty-{name}")
