"""Long runs in a real browser: an import's page shows its live progress, refreshes itself and
ends with the summary (issue 13 item 10)."""

import threading

from django.db import connection
from django.urls import reverse
from selenium.webdriver.support.ui import WebDriverWait

from catalog.models import ImportRun
from catalog.services.importing import import_catalog

from .pages import page_text


def test_watch_an_import_progress_and_finish(logged_in, alstyle, shot):
    browser = logged_in
    alstyle(products=2500, interval=1.5)  # ~15 s, page after page, like the real supplier (5 s apart)
    errors = []

    def run():
        try:
            import_catalog()
        except Exception as exc:  # reported by the test below
            errors.append(exc)
        finally:
            connection.close()

    worker = threading.Thread(target=run)
    worker.start()
    try:
        WebDriverWait(browser, 30).until(lambda _: ImportRun.objects.exists())
        browser.go(reverse("admin:catalog_importrun_change", args=[ImportRun.objects.get().pk]))

        def shows_progress(driver):
            return driver.find_elements("css selector", "progress") and "чтение товаров" in page_text(driver)

        WebDriverWait(browser, 60, poll_frequency=0.5).until(shows_progress)  # by the page's own refresh
        shot(browser, "import-progress")
        assert "из 2 500" in page_text(browser)  # "… of 2 500"
        WebDriverWait(browser, 120, poll_frequency=0.5).until(lambda d: "успешно" in page_text(d))
        shot(browser, "import-finished")
        assert not browser.find_elements("css selector", "progress")
    finally:
        worker.join(timeout=180)
    assert not errors, errors
    assert ImportRun.objects.get().status == "success"
