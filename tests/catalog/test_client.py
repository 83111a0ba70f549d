"""The Al-Style client against the emulator, over real sockets."""

import logging

import pytest
import requests

from catalog.alstyle import AlstyleClient, AlstyleError

from .conftest import TOKEN


def test_pages_by_the_limit_the_server_applied(raw):
    client = AlstyleClient()
    pages = list(client.product_pages(limit=1000))  # the API clamps to 250
    assert [p.limit for p in pages] == [250, 250, 250]
    articles = [item.article for page in pages for item in page.products]
    assert len(articles) == len(set(articles)) == 600
    assert client.requests_made == raw.request_count("elements-pagination") == 3


@pytest.mark.parametrize("kind", ["403", "429", "interval"])
def test_throttle_answers_are_retried_and_succeed(raw, kind):
    method = "quantity-price" if kind == "interval" else "categories"
    raw.inject(kind, method=method)
    client = AlstyleClient()
    result = client.quantity_price()[0] if kind == "interval" else client.categories()
    assert result
    assert client.requests_made == 2 == raw.request_count(method)


@pytest.mark.parametrize("kind", ["500", "503", "malformed", "truncated"])
def test_server_errors_and_broken_answers_are_retried(raw, kind):
    raw.inject(kind, times=2, method="brands")
    client = AlstyleClient()
    assert len(client.brands()) > 5
    assert client.requests_made == 3


def test_timeouts_are_retried(raw, settings):
    settings.HTTP_READ_TIMEOUT = 0.3
    raw.inject("timeout", method="categories", delay=0.8)
    assert AlstyleClient().categories()
    assert raw.request_count("categories") == 2


def test_retries_are_bounded_and_the_error_is_masked(raw):
    raw.inject("502", times=10, method="categories")
    with pytest.raises(AlstyleError) as caught:
        AlstyleClient().categories()
    assert caught.value.retryable
    assert caught.value.status == 502
    assert raw.request_count("categories") == 3
    assert TOKEN not in str(caught.value)


def test_wrong_token_is_a_clear_error_and_not_retried(raw):
    client = AlstyleClient(token="wrong-token-123456")
    with pytest.raises(AlstyleError) as caught:
        client.categories()
    assert caught.value.status == 401
    assert not caught.value.retryable
    assert "token" in str(caught.value).lower()
    assert "wrong-token-123456" not in str(caught.value)
    assert client.requests_made == 1 == raw.request_count()


def test_missing_token_fails_before_any_request(raw, settings):
    settings.ALSTYLE_TOKEN = ""
    with pytest.raises(AlstyleError):
        AlstyleClient().categories()
    assert raw.request_count() == 0


def test_the_sandbox_refuses_a_request_that_comes_too_early(alstyle):
    sandbox = alstyle(products=50, interval=0.5)
    url = sandbox.server.url
    assert requests.get(url + "categories", params={"access-token": TOKEN}, timeout=2).status_code == 200
    early = requests.get(url + "categories", params={"access-token": TOKEN}, timeout=2)
    assert early.status_code == 403
    assert 0 < early.json()["interval"] <= 0.5
    body = requests.get(url + "quantity", params={"access-token": TOKEN}, timeout=2).json()
    assert body["success"] is False
    assert body["interval"] > 0
    assert sandbox.stats()["refused_too_early"] == 2


@pytest.mark.django_db(transaction=True)
def test_the_interval_holds_across_threads_measured_at_the_server(alstyle, in_threads):
    interval = 0.4
    sandbox = alstyle(products=50, interval=interval)

    def three_requests():
        client = AlstyleClient()
        for _ in range(3):
            client.get("date")

    in_threads(three_requests, 2)
    arrivals = sorted(sandbox.arrivals())
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
    assert len(arrivals) == 6, gaps
    assert sandbox.stats()["refused_too_early"] == 0, gaps
    assert min(gaps) >= interval, gaps


def test_token_never_appears_in_logs_or_errors(raw, settings, caplog):
    settings.HTTP_READ_TIMEOUT = 0.2
    raw.inject("timeout", times=3, method="categories", delay=0.5)
    raw.inject("500", times=3, method="brands")
    with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, logger="urllib3"):
        client = AlstyleClient()
        errors = []
        for call in (client.categories, client.brands):
            with pytest.raises(AlstyleError) as caught:
                call()
            errors.append(caught.value)
        settings.ALSTYLE_API_URL = "http://127.0.0.1:9/api/"  # nothing listens: a connection error
        with pytest.raises(AlstyleError) as caught:
            AlstyleClient().categories()
        errors.append(caught.value)
    assert "retrying" in caplog.text  # the retries were logged ...
    assert "access-token" in caplog.text  # ... and urllib3 logged the URLs, masked
    assert TOKEN not in caplog.text
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
        assert TOKEN not in (record.exc_text or "")
    for error in errors:
        assert TOKEN not in str(error)
        assert TOKEN not in repr(error.args)
        assert error.__cause__ is None
        assert error.__suppress_context__  # no requests exception (with the URL) chained


def test_pages_are_read_only_as_the_caller_asks_for_them(alstyle):
    """No page is read ahead (the next request could not leave before its turn anyway): one page
    held at a time, and a caller that stops reads no more."""
    sandbox = alstyle(products=2000)  # 8 pages
    pages = AlstyleClient().product_pages()
    assert sandbox.request_count("elements-pagination") == 0
    first = next(pages)
    assert len(first.products) == 250
    assert sandbox.request_count("elements-pagination") == 1
    next(pages)
    assert sandbox.request_count("elements-pagination") == 2
    pages.close()
    assert sandbox.request_count("elements-pagination") == 2


def test_a_dropped_connection_is_retried_in_the_rate_slot(raw):
    raw.inject("drop", times=2, method="brands")
    client = AlstyleClient()
    assert len(client.brands()) > 5
    assert client.requests_made == 3 == raw.request_count("brands")
