"""Every admin list and page fits the screen at 1440 px and at 390 px with the long texts of real
life in it (a mail server's refusal with an address and a URL, a Kaspi error, a 120-character
product name, a long address, a browser's user agent): nothing scrolls sideways, neither the page
nor the list's box (the outbox list's error column used to push it 1,000 px past the edge), and a
long object name does not run under the page's buttons."""

from django.contrib import admin
from django.urls import NoReverseMatch, reverse

from .long_content import LONG_NAME, MAIL_ERROR, fill_long_content
from .pages import DESKTOP, PHONE, heading_under_buttons, horizontal_overflow, page_text, set_viewport


def admin_pages():
    """(name, URL) of the dashboard, every list and the page of its newest row."""
    pages = [("dashboard", reverse("admin:index"))]
    for model in admin.site._registry:
        opts = model._meta
        try:
            pages.append((f"{opts.model_name}-list", reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")))
        except NoReverseMatch:
            continue
        newest = model._default_manager.order_by("-pk").first()
        if newest is not None:
            try:
                url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[newest.pk])
            except NoReverseMatch:  # a list without pages of its own (the purchase list)
                continue
            pages.append((f"{opts.model_name}-page", url))
    return pages


def test_every_admin_page_fits_1440_and_390_with_long_texts(logged_in, shot):
    browser = logged_in
    fill_long_content()
    pages = admin_pages()
    assert len([name for name, _ in pages if name.endswith("-list")]) >= 30, pages
    misfits = []
    for size in (DESKTOP, PHONE):
        set_viewport(browser, *size)
        for name, url in pages:
            browser.go(url)
            overflow = horizontal_overflow(browser, skip_selects=True)
            if overflow:
                shot(browser, f"misfit-{name}-{size[0]}")
                misfits.append(f"{name} at {size[0]} px: {overflow} px sideways ({url})")
            covered = heading_under_buttons(browser)
            if covered:
                shot(browser, f"covered-{name}-{size[0]}")
                misfits.append(f"{name} at {size[0]} px: its buttons cover {covered[:60]!r} ({url})")
    set_viewport(browser, *DESKTOP)
    assert not misfits, "\n".join(misfits)


def test_the_outbox_shows_a_long_error_whole_and_fits(logged_in, shot):
    browser = logged_in
    fill_long_content()
    for size in (DESKTOP, PHONE):
        set_viewport(browser, *size)
        browser.go(reverse("admin:alerts_delivery_changelist"))
        shot(browser, f"outbox-list-{size[0]}")
        assert horizontal_overflow(browser) == 0, f"the outbox list scrolls sideways at {size[0]} px"
        assert MAIL_ERROR in page_text(browser), "the error is shown whole"
        error = browser.execute_script(
            "const r = document.querySelector('#result_list td.field-last_error').getBoundingClientRect();"
            "return [r.left, r.right];"
        )
        assert 0 <= error[0] < error[1] <= size[0], f"the error column is off the screen at {size[0]} px: {error}"
    for url, text in (
        (reverse("admin:catalog_product_changelist"), LONG_NAME),
        (reverse("admin:catalog_salepricechange_changelist"), LONG_NAME),
    ):
        set_viewport(browser, *DESKTOP)
        browser.go(url)
        assert text in page_text(browser), f"{url}: the long name is shown whole"
        assert horizontal_overflow(browser) == 0, f"{url} scrolls sideways"
    set_viewport(browser, *DESKTOP)
