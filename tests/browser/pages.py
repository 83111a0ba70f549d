"""Helpers of the browser tests: viewport, login, waiting, reading the page."""

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

PASSWORD = "browser-test-Пароль-1"
DESKTOP, PHONE = (1440, 900), (390, 844)


def set_viewport(driver, width: int, height: int) -> None:
    """Make the page's viewport (window.innerWidth) exactly `width` × `height` CSS pixels."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )


def login(driver, username: str, password: str = PASSWORD) -> None:

    driver.go("/admin/login/?next=/admin/")
    driver.find_element(By.NAME, "username").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait_css(driver, "#user-tools")


def wait_css(driver, selector: str, timeout: float = 20):

    return WebDriverWait(driver, timeout).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, selector))
    )


def wait_until_replaced(driver, element, timeout: float = 20) -> None:
    """Wait until `element`'s page has been replaced by the next one (a form sent, a link
    followed): what both pages show (the result list, the search box) cannot tell them apart."""
    WebDriverWait(driver, timeout).until(expected_conditions.staleness_of(element))


def page_text(driver) -> str:
    """The page's visible text, read in one step (a page that refreshes itself cannot leave a
    stale element behind), no-break spaces as plain spaces."""
    text = driver.execute_script("return document.body ? document.body.innerText : ''")
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def horizontal_overflow(driver, *, skip_selects: bool = False) -> int:
    """How many CSS pixels something must scroll sideways: the page beyond the viewport, or any
    box that scrolls horizontally inside it (a table in an `overflow: auto` box). 0: nothing.

    The viewport is the document's clientWidth: on a phone (mobile emulation) Chromium widens the
    layout viewport to a page that is too wide, so window.innerWidth grows with the page and
    `scrollWidth - innerWidth` stays 0 however far it overflows. `skip_selects`: a <select>
    scrolling inside itself (Django's permission pickers, each choice titled) does not count."""
    return driver.execute_script(
        """
        let worst = document.scrollingElement.scrollWidth - document.documentElement.clientWidth;
        for (const el of document.querySelectorAll("body *")) {
            const style = getComputedStyle(el);
            if (arguments[0] && el.tagName === "SELECT") continue;
            if (["auto", "scroll"].includes(style.overflowX) && el.clientWidth > 0) {
                worst = Math.max(worst, el.scrollWidth - el.clientWidth);
            }
        }
        return Math.max(0, worst);
        """,
        skip_selects,
    )


def heading_under_buttons(driver) -> str:
    """The text of the page's heading or object name that runs under its buttons (History,
    Accept, …), "" when none does."""
    return driver.execute_script(
        """
        const tools = document.querySelector("#content .object-tools");
        if (!tools) return "";
        const t = tools.getBoundingClientRect();
        for (const h of document.querySelectorAll("#content > h1, #content > h2")) {
            const range = document.createRange();
            range.selectNodeContents(h);
            for (const b of range.getClientRects()) {
                if (b.right > t.left && b.left < t.right && b.bottom > t.top && b.top < t.bottom) return h.textContent;
            }
        }
        return "";
        """
    )
