"""Browser tests: the admin in real headless Chromium (Debian's `chromium` + `chromium-driver`),
driven by Selenium against Django's live test server and the API sandboxes over real sockets.

Nothing is downloaded at run time: the driver is /usr/bin/chromedriver, named explicitly, so
selenium-manager never runs. `scripts/test.sh` installs the two packages when missing and sets
KASPISYNC_REQUIRE_BROWSER=1, which turns a missing browser into a failure; a bare
`pytest` on a machine without Chromium skips these tests with the reason.

Screenshots (`shot(driver, "name")`) go to var/test-artifacts/screenshots/<database vendor>/
(git-ignored); the folder is printed at the end of the session.
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from tests.catalog.conftest import alstyle  # noqa: F401  (fixtures shared with the app suites)
from tests.orders.conftest import kaspi, sandbox_products  # noqa: F401

from .pages import DESKTOP, PASSWORD, login, page_text, set_viewport

CHROMIUM = os.environ.get("KASPISYNC_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("KASPISYNC_CHROMEDRIVER", "/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "screenshots"

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",  # root in CI
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--lang=ru",
    "--hide-scrollbars",
)


def _browser_available() -> str | None:
    """None if Chromium and its driver are here, else what is missing."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not (os.path.isfile(path) and os.access(path, os.X_OK))]
    return ", ".join(missing) or None


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_session(tmp_path_factory):
    """One Chromium for the session (a fresh profile folder), Russian locale."""
    missing = _browser_available()
    if missing:
        if os.environ.get("KASPISYNC_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests need {missing} (apt-get install chromium chromium-driver)")
        pytest.skip(f"no Chromium here ({missing} missing): apt-get install chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="kaspisync-chromium-", dir=tmp_path_factory.getbasetemp())
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={DESKTOP[0]},{DESKTOP[1]}"):
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs", {"intl.accept_languages": "ru-RU,ru", "download.prompt_for_download": False}
    )
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def browser(browser_session, live_server, request, screenshots_dir):
    """The session's Chromium, cookies cleared, at desktop size; `browser.go("/admin/...")`.
    A failed test leaves a screenshot of the page it ended on (FAILED-<test>.png)."""
    driver = browser_session
    driver.delete_all_cookies()
    set_viewport(driver, *DESKTOP)
    driver.go = lambda path: driver.get(live_server.url + path)
    driver.live_url = live_server.url
    yield driver
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        path = screenshots_dir / f"FAILED-{request.node.name}.png"
        path.write_bytes(driver.get_screenshot_as_png())
        print(f"\n== screenshot of the failed page: {path}\n== its text:\n{page_text(driver)[:3000]}")


@pytest.fixture
def boss(transactional_db):
    return get_user_model().objects.create_superuser("boss", "boss@example.com", PASSWORD)


@pytest.fixture
def logged_in(browser, boss):
    """The browser, logged in as a superuser through the real login form."""
    login(browser, boss.username)
    return browser


@pytest.fixture(scope="session")
def screenshots_dir():
    folder = ARTIFACTS / connection.vendor
    shutil.rmtree(folder, ignore_errors=True)  # this run's pictures only (no stale FAILED-*.png)
    folder.mkdir(parents=True, exist_ok=True)
    yield folder
    print(f"\n== browser screenshots: {folder}")


@pytest.fixture
def shot(screenshots_dir):
    """`shot(driver, "name")`: a PNG of what the viewport shows, in the artifacts folder."""

    def take(driver, name: str) -> Path:
        path = screenshots_dir / f"{name}.png"
        path.write_bytes(driver.get_screenshot_as_png())
        return path

    return take


@pytest.fixture
def shop(transactional_db, alstyle, kaspi, settings):  # noqa: F811  (fixtures imported above)
    """A small shop as `make run` fills it: 120 supplier products imported from the Al-Style
    sandbox, priced by a global rule, and a Kaspi sandbox selling some of them with a few orders
    pulled (one waiting for acceptance, one accepted, one with a line sold at a loss)."""
    from decimal import Decimal

    from catalog.models import PriceRule, Product
    from catalog.services.importing import import_catalog
    from catalog.services.pricing import recompute_prices
    from catalog.sku import merchant_sku
    from orders.models import Order
    from orders.services import pull_orders

    alstyle(products=120)
    import_catalog()
    PriceRule.objects.create(name="Все товары", markup_percent=Decimal("15"))
    recompute_prices()
    sellable = list(Product.objects.filter(sale_price__isnull=False).order_by("article")[:6])
    sandbox = kaspi(
        products=[
            {"sku": merchant_sku(p.article, "AS"), "name": p.name, "price": p.sale_price, "brand": "—"}
            for p in sellable
        ]
    )
    sandbox.waiting = sandbox.add_order()
    sandbox.accepted = sandbox.add_order(status="ACCEPTED_BY_MERCHANT")
    pull_orders(days=1)
    sandbox.stored = {o.code: o for o in Order.objects.all()}  # (sandbox.orders is its own)
    sandbox.products = sellable
    return sandbox
