from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kaspisync import locks
from kaspisync.http import ExternalServiceError
from kaspisync.models import RunStatus
from orders.kaspi import KaspiClient
from orders.models import RETURN_CHECK_EVERY, RETURN_PERIOD, EventSource, Order, OrderEntry, OrderEvent, PullRun
from orders.services import accept_order, cancel_order, pull_orders
from orders.services.pull import windows

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture
def kaspi(kaspi, settings):
    """The Kaspi emulator with a patient client: these tests count requests exactly, and on a busy
    machine an answer later than the usual 2-second test timeout would be retried and counted
    twice (no test here injects a timeout)."""

    def start(**kwargs):
        sandbox = kaspi(**kwargs)
        settings.HTTP_READ_TIMEOUT = 30
        return sandbox

    return start


def list_requests(sandbox):
    return [q for m, p, q in sandbox.log if m == "GET" and p == "/orders"]


def test_windows_split_long_ranges_into_fourteen_days_at_most():
    end = timezone.now()
    spans = windows(end - timedelta(days=17), end)
    assert len(spans) == 2
    assert all(le - ge <= timedelta(days=14) for ge, le in spans)
    assert spans[0][0] == end - timedelta(days=17)
    assert spans[-1][1] == end
    assert spans[1][0] > spans[0][1]  # bounds are inclusive: no order is read twice


@pytest.mark.django_db
def test_seventeen_days_are_pulled_in_two_windows_every_state(kaspi):
    sandbox = kaspi()
    now = timezone.now()
    old = sandbox.add_order(created=now - timedelta(days=16))
    recent = sandbox.add_order(created=now - timedelta(days=1))
    run = pull_orders(days=17)
    assert run.status == RunStatus.SUCCESS
    assert set(Order.objects.values_list("code", flat=True)) == {old["code"], recent["code"]}
    requests = list_requests(sandbox)
    assert len(requests) == 6 * 2  # every state, two windows, one page each
    assert {q["filter[orders][state]"] for q in requests} == {
        "NEW",
        "SIGN_REQUIRED",
        "PICKUP",
        "DELIVERY",
        "KASPI_DELIVERY",
        "ARCHIVE",
    }
    assert len({q["filter[orders][creationDate][$ge]"] for q in requests}) == 2
    for q in requests:
        span = int(q["filter[orders][creationDate][$le]"]) - int(q["filter[orders][creationDate][$ge]"])
        assert span <= 14 * 24 * 3600 * 1000
        assert q["page[size]"] == "100"
    assert run.requests_made == sandbox.request_count()


@pytest.mark.django_db
def test_250_orders_are_read_in_three_pages_from_zero(kaspi, sandbox_products):
    sandbox = kaspi(products=sandbox_products[:1])
    for _ in range(250):
        sandbox.add_order()
    run = pull_orders(days=1)
    new_pages = [int(q["page[number]"]) for q in list_requests(sandbox) if q["filter[orders][state]"] == "NEW"]
    assert new_pages == [0, 1, 2]
    assert Order.objects.count() == 250
    assert run.created == 250
    assert OrderEntry.objects.count() == sum(len(o["entries"]) for o in sandbox.orders.values())
    # list pages (entries included) and one SKU lookup for the one product (its hint is not ours)
    assert run.requests_made == sandbox.request_count() == 6 + 2 + 1


@pytest.mark.django_db
def test_unchanged_repull_writes_nothing_and_fetches_no_entries(kaspi, catalog_products):
    sandbox = kaspi(orders=120)
    first = pull_orders()
    assert first.created == 120
    assert Order.objects.count() == 120
    sandbox.clear_log()
    with CaptureQueriesContext(connection) as queries:
        second = pull_orders()
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].split()[0] in ("INSERT", "UPDATE", "DELETE")
        and any(t in q["sql"] for t in ('"orders_order"', '"orders_orderentry"', '"orders_orderevent"'))
    ]
    assert writes == []
    assert second.unchanged == 120
    assert second.created == second.updated == second.events == 0
    assert sandbox.request_count("/orders/", "GET") == 0  # no /orders/{id}/entries
    assert sandbox.request_count("/orderentries") == sandbox.request_count("/masterproducts") == 0
    assert second.requests_made == len(list_requests(sandbox))


@pytest.mark.django_db
def test_forced_rewrite_upserts_without_duplicates(kaspi):
    kaspi(orders=40)
    pull_orders()
    counts = (Order.objects.count(), OrderEntry.objects.count())
    Order.objects.update(attributes_hash="")  # as if every order had changed
    run = pull_orders()
    assert run.updated == 40
    assert run.created == 0
    assert (Order.objects.count(), OrderEntry.objects.count()) == counts
    assert OrderEvent.objects.count() == 40  # only the "first seen" events: no state changed


@pytest.mark.django_db
def test_status_change_at_kaspi_becomes_a_timeline_event(kaspi):
    sandbox = kaspi()
    order = sandbox.add_order()
    pull_orders(days=1)
    sandbox.set_status(order["code"], "CANCELLED")
    sandbox.clear_log()
    run = pull_orders(days=1)
    stored = Order.objects.get(code=order["code"])
    assert (stored.state, stored.status) == ("ARCHIVE", "CANCELLED")
    event = stored.events.latest("at")
    assert (event.from_state, event.from_status, event.to_state, event.to_status) == (
        "NEW",
        "APPROVED_BY_BANK",
        "ARCHIVE",
        "CANCELLED",
    )
    assert event.source == EventSource.PULL
    assert event.user is None
    assert run.updated == 1
    assert run.events == 1
    assert sandbox.request_count() == len(list_requests(sandbox))  # the entries came with the list


@pytest.mark.django_db
def test_entries_are_matched_to_catalog_products_by_sku(kaspi, sandbox_products, catalog_products):
    sandbox = kaspi(products=sandbox_products[-2:])  # one catalog SKU, one foreign SKU
    order = sandbox.add_order()
    order["entries"] = [
        {"sku": "AS20904", "qty": 2, "price": 104_000, "n": 0},
        {"sku": "FOREIGN77", "qty": 1, "price": 5_000, "n": 1},
    ]
    run = pull_orders(days=1)
    matched, unmatched = OrderEntry.objects.order_by("entry_number")
    assert matched.sku == "AS20904"
    assert matched.product == catalog_products[20904]
    assert matched.quantity == 2
    assert matched.base_price == 104_000
    assert matched.total_price == 208_000
    assert unmatched.sku == "FOREIGN77"
    assert unmatched.product is None
    assert not unmatched.is_matched
    assert run.unmatched_entries == 1
    assert run.entries_written == 2


def test_an_entry_is_matched_once_its_product_is_imported(kaspi, sandbox_products, catalog_products):
    from catalog.models import Product

    sandbox = kaspi(products=sandbox_products[-2:])
    order = sandbox.add_order()
    order["entries"] = [{"sku": "AS20904", "qty": 1, "price": 104_000, "n": 0}]
    Product.objects.filter(article=20904).delete()  # not imported yet
    pull_orders(days=1)
    assert OrderEntry.objects.get().product is None
    with CaptureQueriesContext(connection) as queries:
        again = pull_orders(days=1)
    assert not [q for q in queries if q["sql"].startswith("UPDATE") and "orders_orderentry" in q["sql"]]
    product = Product.objects.create(article=20904, name="Ноутбук", dealer_price=80_000)  # the next import
    run = pull_orders(days=1)
    assert OrderEntry.objects.get().product == product
    assert run.stats["rematched_entries"] == 1
    assert "rematched_entries" not in again.stats


def test_an_import_matches_the_entries_waiting_for_its_products(kaspi, sandbox_products, catalog_products):
    """catalog_changed from an import (orders.apps): the waiting entry gets its product with no pull;
    a price recompute's change, or an import while no entry waits, writes nothing."""
    from catalog.models import ImportRun, Product
    from catalog.signals import catalog_changed

    sandbox = kaspi(products=sandbox_products[-2:])
    order = sandbox.add_order()
    order["entries"] = [{"sku": "AS20904", "qty": 1, "price": 104_000, "n": 0}]
    Product.objects.filter(article=20904).delete()  # not imported yet
    pull_orders(days=1)
    assert list(OrderEntry.waiting_for_product().values_list("sku", flat=True)) == ["AS20904"]
    product = Product.objects.create(article=20904, name="Ноутбук", dealer_price=80_000)
    catalog_changed.send(sender=ImportRun, reason="pricing", product_count=1)
    assert OrderEntry.objects.get().product is None  # not an import
    catalog_changed.send(sender=ImportRun, reason="import", product_count=1)
    assert OrderEntry.objects.get().product == product
    assert not OrderEntry.waiting_for_product().exists()
    with CaptureQueriesContext(connection) as queries:
        catalog_changed.send(sender=ImportRun, reason="import", product_count=1)
    assert not [q for q in queries if "orders_orderentry" in q["sql"] and not q["sql"].startswith("SELECT")]


def test_an_orders_margin_keeps_the_cost_it_was_sold_at(kaspi, sandbox_products, catalog_products):
    from decimal import Decimal

    from catalog.models import CommissionRate, Product
    from orders.selectors import order_financials

    CommissionRate.objects.create(percent=Decimal("10"))
    sandbox = kaspi(products=sandbox_products[-2:])
    order = sandbox.add_order()
    order["entries"] = [{"sku": "AS20904", "qty": 2, "price": 100_000, "n": 0}]
    pull_orders(days=1)
    entry = OrderEntry.objects.get()
    assert (entry.dealer_price_at_order, entry.commission_percent_at_order) == (80_000, Decimal("10"))
    stored = Order.objects.get(code=order["code"])
    sold = order_financials(stored).margin
    assert sold == 200_000 - 160_000 - 20_000 - stored.delivery_cost_for_seller
    Product.objects.filter(article=20904).update(dealer_price=95_000)  # a later import
    CommissionRate.objects.update(percent=Decimal("15"))  # a later commission change
    pull_orders(days=1)  # and a later pull of the same order
    assert order_financials(Order.objects.get(code=order["code"])).margin == sold


@pytest.mark.django_db
def test_an_entry_whose_sku_kaspi_refuses_is_stored_unmatched_and_flagged(
    kaspi, sandbox_products, catalog_products, admin_client
):
    sandbox = kaspi(products=sandbox_products[-2:], internal_offer_codes=1.0)  # no hint is one of our SKUs
    order = sandbox.add_order()
    order["entries"] = [
        {"sku": "AS20904", "qty": 1, "price": 104_000, "n": 0},  # its SKU lookup is refused (400)
        {"sku": "GONE1", "qty": 1, "price": 7_000, "n": 1},  # Kaspi has no merchant product any more (404)
        {"sku": "FOREIGN77", "qty": 1, "price": 5_000, "n": 2},  # a SKU, just not in the catalog
    ]
    sandbox.inject("400", path=f"/masterproducts/{sandbox.master_id('AS20904')}/")
    run = pull_orders(days=1)
    assert run.errors == 0
    assert Order.objects.filter(code=order["code"]).exists()
    refused, gone, foreign = OrderEntry.objects.order_by("entry_number")
    assert (refused.sku, refused.product, gone.sku, gone.product) == ("", None, "", None)
    assert "HTTP 400" in refused.sku_error
    assert "HTTP 404" in gone.sku_error
    assert (foreign.sku, foreign.sku_error) == ("FOREIGN77", "")
    assert run.unmatched_entries == 3
    assert run.entries_written == 3
    page = admin_client.get("/admin/orders/order/", {"unmatched": "sku_unknown"}).content.decode()
    assert order["code"] in page


@pytest.mark.django_db
def test_a_failing_entry_lookup_leaves_the_order_for_the_next_pull(kaspi):
    sandbox = kaspi()
    order = sandbox.add_order()
    sandbox.inject("503", times=3, path="/merchantProduct")
    run = pull_orders(days=1)
    assert run.errors == 1
    assert not Order.objects.filter(code=order["code"]).exists()
    assert pull_orders(days=1).created == 1
    assert not OrderEntry.objects.exclude(sku_error="").exists()


@pytest.mark.django_db
def test_open_orders_older_than_the_window_are_refreshed_by_code(kaspi):
    sandbox = kaspi()
    old = sandbox.add_order(created=timezone.now() - timedelta(days=10), status="ACCEPTED_BY_MERCHANT")
    pull_orders(days=14)
    sandbox.set_status(old["code"], "COMPLETED")
    sandbox.clear_log()
    run = pull_orders(days=2)
    assert run.refreshed_by_code == 1
    assert [q.get("filter[orders][code]") for q in list_requests(sandbox)][-1] == old["code"]
    assert Order.objects.get(code=old["code"]).status == "COMPLETED"


@pytest.mark.django_db
def test_a_completed_order_returned_later_is_picked_up(kaspi):
    sandbox = kaspi(return_rate=1.0)  # every completed order is returned within the 14 days
    old = sandbox.add_order(
        created=timezone.now() - timedelta(days=20), status="COMPLETED", kaspi_delivery=True, mode="DELIVERY_LOCAL"
    )
    pull_orders(days=21)
    stored = Order.objects.get(code=old["code"])
    seen = []
    for days in (14, 2, 3):  # the emulator's state machine moves the return on
        sandbox.advance(days * 24 * 3600)
        run = pull_orders(days=2)  # the order is far older than the lists' window
        stored.refresh_from_db()
        assert stored.status == old["status"]
        assert run.refreshed_by_code == 1
        seen.append(stored.status)
    assert seen == ["KASPI_DELIVERY_RETURN_REQUESTED", "RETURN_ACCEPTED_BY_MERCHANT", "RETURNED"]
    assert stored.returned_to_warehouse
    assert stored.state == "ARCHIVE"
    timeline = list(stored.events.values_list("from_status", "to_status"))
    assert timeline == [("", "COMPLETED"), ("COMPLETED", seen[0]), (seen[0], seen[1]), (seen[1], seen[2])]
    assert pull_orders(days=2).refreshed_by_code == 0  # RETURNED is final


@pytest.mark.django_db
def test_completed_orders_are_checked_for_returns_now_and_then_during_the_return_period(kaspi):
    sandbox = kaspi()
    old = sandbox.add_order(created=timezone.now() - timedelta(days=20), status="COMPLETED")
    pull_orders(days=21)
    assert pull_orders(days=2).refreshed_by_code == 1  # left the lists' window: checked by code
    assert pull_orders(days=2).refreshed_by_code == 0  # checked a moment ago
    Order.objects.update(return_checked_at=timezone.now() - RETURN_CHECK_EVERY - timedelta(minutes=1))
    sandbox.set_status(old["code"], "RETURN_ACCEPTED_BY_MERCHANT")
    assert pull_orders(days=2).refreshed_by_code == 1
    assert Order.objects.get().status == "RETURN_ACCEPTED_BY_MERCHANT"
    sandbox.set_status(old["code"], "COMPLETED")  # (the return was called off)
    pull_orders(days=2)
    assert Order.objects.get().status == "COMPLETED"
    Order.objects.update(changed_at=timezone.now() - RETURN_PERIOD - timedelta(days=1), return_checked_at=None)
    assert pull_orders(days=2).refreshed_by_code == 0  # the return period is over


@pytest.mark.django_db
def test_unknown_enum_values_are_stored_not_crashed_on(kaspi):
    sandbox = kaspi()
    order = sandbox.add_order()
    order["status"], order["mode"] = "SOMETHING_NEW", "DELIVERY_BY_DRONE"
    pull_orders(days=1)
    stored = Order.objects.get(code=order["code"])
    assert stored.status == "SOMETHING_NEW"
    assert stored.delivery_mode == "DELIVERY_BY_DRONE"
    assert stored.get_status_display() == "SOMETHING_NEW"


@pytest.mark.django_db
def test_order_fields_are_typed_and_dates_aware(kaspi):
    sandbox = kaspi()
    raw = sandbox.add_order()
    pull_orders(days=1)
    order = Order.objects.get(code=raw["code"])
    assert int(order.created_at.timestamp() * 1000) == raw["created"]
    assert order.created_at.tzinfo is not None
    assert order.planned_delivery_at.tzinfo is not None
    assert order.customer_phone.startswith("+77")
    assert order.customer_name
    assert order.total_price == sum(e["price"] * e["qty"] for e in raw["entries"])
    assert order.raw["attributes"]["code"] == raw["code"]


@pytest.mark.django_db
def test_second_pull_while_one_runs_is_skipped(kaspi):
    kaspi(orders=5)
    held = locks.acquire("orders.pull")
    try:
        run = pull_orders()
    finally:
        held.release()
    assert run.status == RunStatus.SKIPPED
    assert Order.objects.count() == 0


@pytest.mark.django_db
def test_failing_list_fails_the_run_after_bounded_retries(kaspi):
    sandbox = kaspi(orders=5)
    sandbox.inject("503", times=10, path="/orders")
    with pytest.raises(ExternalServiceError):
        pull_orders()
    run = PullRun.objects.get()
    assert run.status == RunStatus.FAILED
    assert "503" in run.error
    assert run.requests_made == sandbox.request_count() == 3  # KASPI_MAX_ATTEMPTS


@pytest.mark.django_db
def test_entries_failure_skips_that_order_until_the_next_pull(kaspi):
    sandbox = kaspi(omit_included=1.0)  # the list answers leave the entries out
    order = sandbox.add_order()
    sandbox.inject("500", times=3, path="/entries")
    run = pull_orders(days=1)
    assert run.status == RunStatus.SUCCESS
    assert run.errors == 1
    assert not Order.objects.filter(code=order["code"]).exists()
    assert order["code"] in run.stats["error_messages"][0]
    assert pull_orders(days=1).created == 1


@pytest.mark.django_db
def test_command_prints_a_summary_and_fails_loudly(kaspi, settings, capsys):
    kaspi(orders=10)
    call_command("pull_orders", "--days", "14")
    out = capsys.readouterr().out
    assert "archive" in out
    assert "ARCHIVE" not in out
    assert "page 1 of 1" in out  # progress, states in words
    assert "10 orders seen" in out
    assert PullRun.objects.filter(trigger="command", status="success").count() == 1
    settings.KASPI_TOKEN = "wrong-token-123456"
    with pytest.raises(CommandError) as exc:
        call_command("pull_orders")
    assert "401" in str(exc.value)
    assert "wrong-token-123456" not in str(exc.value)


@pytest.mark.django_db
def test_the_order_stream_moves_and_pulls_follow_it(kaspi):
    # the emulator's clock starts half a day back, so after advancing it matches the real clock
    sandbox = kaspi(orders=60, days=13, orders_per_day=48, now=timezone.now() - timedelta(hours=12))
    pull_orders()
    before = Order.objects.count()
    sandbox.advance(12 * 3600)  # half a day: new orders arrive, unanswered ones get cancelled by buyers
    run = pull_orders()
    assert sandbox.stats()["by_status"].get("CANCELLED", 0) > 0
    assert Order.objects.count() == len(sandbox.orders) > before
    assert run.created == len(sandbox.orders) - before
    stored = dict(Order.objects.values_list("code", "status"))
    assert stored == {o["code"]: o["status"] for o in sandbox.orders.values()}


@pytest.mark.django_db(transaction=True)
def test_concurrent_pulls_never_duplicate(kaspi):
    import threading

    kaspi(orders=80)
    runs = []
    threads = [threading.Thread(target=lambda: runs.append(pull_orders().status)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    pull_orders()
    assert sorted(runs) in (["skipped", "success"], ["success", "success"])
    assert Order.objects.count() == 80
    assert Order.objects.values("kaspi_id").distinct().count() == 80
    assert OrderEvent.objects.filter(from_status="").count() == 80  # one "first seen" per order


@pytest.mark.django_db(transaction=True)
def test_a_pull_never_overwrites_an_action_taken_while_it_ran(kaspi):
    sandbox = kaspi(omit_included=1.0)  # each order's entries come by their own call
    raw = sandbox.add_order()
    pull_orders(days=1)
    order = Order.objects.get(code=raw["code"])
    manager = get_user_model().objects.create_user("manager")
    raw["planned_delivery"] += 3600 * 1000  # Kaspi changed the order: the next pull reads it again

    class AcceptedWhileTheEntriesAreRead(KaspiClient):
        def order_entries(self, order_id):
            try:  # (in the pull's pool: its own database connection)
                if sandbox.request_count("/orders", "POST") == 0:
                    accept_order(order, manager)
            finally:
                connection.close()
            return super().order_entries(order_id)

    run = pull_orders(days=1, client=AcceptedWhileTheEntriesAreRead())
    assert sandbox.request_count("/orders", "POST") == 1
    assert raw["status"] == "ACCEPTED_BY_MERCHANT"
    order.refresh_from_db()
    assert order.status == "ACCEPTED_BY_MERCHANT"  # not the APPROVED_BY_BANK the pull had read
    assert run.updated == 0
    assert run.events == 0
    assert run.stats["changed_meanwhile"] == 1
    timeline = list(order.events.values_list("source", "to_status"))
    assert timeline == [(EventSource.PULL, "APPROVED_BY_BANK"), (EventSource.USER, "ACCEPTED_BY_MERCHANT")]
    # the next pull brings the order as Kaspi has it now, without repeating the change
    run = pull_orders(days=1)
    order.refresh_from_db()
    assert run.events == 0
    assert run.stats.get("changed_meanwhile") is None
    assert (order.state, order.status) == (raw["state"], "ACCEPTED_BY_MERCHANT")
    assert order.planned_delivery_at.timestamp() * 1000 == raw["planned_delivery"]
    assert order.events.count() == 2


@pytest.mark.django_db
def test_a_pull_keeps_the_cancellation_reason_that_kaspi_leaves_out(kaspi):
    sandbox = kaspi()
    raw = sandbox.add_order()
    pull_orders(days=1)
    order = Order.objects.get(code=raw["code"])
    cancel_order(order, get_user_model().objects.create_user("manager"), "BUYER_NOT_REACHABLE", "не отвечает")
    raw["cancellation_reason"] = None  # Kaspi's payload does not carry the reason
    raw["planned_delivery"] += 3600 * 1000  # but something else changed
    run = pull_orders(days=1)
    order.refresh_from_db()
    assert run.updated == 1
    assert order.status == "CANCELLED"
    assert (order.cancellation_reason, order.cancellation_comment) == ("BUYER_NOT_REACHABLE", "не отвечает")
    raw["cancellation_reason"] = "BUYER_CANCELLATION"  # a reason Kaspi does send wins
    pull_orders(days=1)
    order.refresh_from_db()
    assert order.cancellation_reason == "BUYER_CANCELLATION"


def test_a_killed_pull_does_not_stay_running(kaspi):
    """A pull whose worker died is closed by the next pull (only imports and builds did that)."""
    kaspi(orders=3)
    dead = PullRun.objects.create(status=RunStatus.RUNNING, started_at=timezone.now() - timedelta(hours=1))
    run = pull_orders()
    dead.refresh_from_db()
    assert run.status == RunStatus.SUCCESS
    assert dead.status == RunStatus.FAILED
    assert dead.stats.get("abandoned") is True
    assert dead.finished_at


def stored_entries() -> dict[str, list[tuple]]:
    result: dict[str, list[tuple]] = {}
    for code, sku, quantity, product in OrderEntry.objects.order_by("order__code", "entry_number").values_list(
        "order__code", "sku", "quantity", "product__article"
    ):
        result.setdefault(code, []).append((sku, int(quantity), product))
    return result


def expected_entries(sandbox, catalog_products) -> dict[str, list[tuple]]:
    articles = {f"AS{a}": a for a in catalog_products}
    return {
        o["code"]: [(e["sku"], e["qty"], articles.get(e["sku"])) for e in o["entries"]] for o in sandbox.orders.values()
    }


@pytest.mark.slow
@pytest.mark.django_db
def test_a_first_pull_costs_its_list_pages_and_one_lookup_per_product_whose_sku_is_unknown(
    kaspi, sandbox_products, catalog_products
):
    from orders.models import MasterProductSku

    sandbox = kaspi(orders=400)  # a share of products carry Kaspi's own code as offer.code
    ours = {f"AS{a}" for a in catalog_products}
    sold = {e["sku"] for o in sandbox.orders.values() for e in o["entries"]}
    unknown = {sku for sku in sold if sandbox.offer_code(sku) not in ours}  # Kaspi's code, or FOREIGN77
    assert unknown
    assert sold - unknown  # both kinds of hint occur
    run = pull_orders()
    pages = len(list_requests(sandbox))
    assert sandbox.request_count("/masterproducts") == len(unknown) == run.stats["sku_lookups"]
    assert run.requests_made == sandbox.request_count() == pages + len(unknown)  # the floor
    assert sandbox.request_count("/orders/") == sandbox.request_count("/orderentries") == 0
    assert stored_entries() == expected_entries(sandbox, catalog_products)
    assert MasterProductSku.objects.count() == len(unknown)
    # the answers are kept: the next pull that reads every order again asks about no product
    Order.objects.update(attributes_hash="")
    sandbox.clear_log()
    again = pull_orders()
    assert again.updated == 400
    assert again.requests_made == len(list_requests(sandbox))
    assert stored_entries() == expected_entries(sandbox, catalog_products)


@pytest.mark.django_db
def test_a_hint_that_is_not_one_of_our_skus_is_never_used_alone(kaspi, sandbox_products, catalog_products):
    sandbox = kaspi(products=sandbox_products[-2:])  # AS20904 (ours) and FOREIGN77
    sandbox.offer_code = lambda sku: "AS99999"  # a SKU-like code, but no catalog product has it
    order = sandbox.add_order()
    order["entries"] = [
        {"sku": "AS20904", "qty": 1, "price": 104_000, "n": 0},
        {"sku": "FOREIGN77", "qty": 1, "price": 5_000, "n": 1},
    ]
    run = pull_orders(days=1)
    ours, foreign = OrderEntry.objects.order_by("entry_number")
    assert (ours.sku, ours.product) == ("AS20904", catalog_products[20904])  # Kaspi's answer, not the hint
    assert (foreign.sku, foreign.product) == ("FOREIGN77", None)
    assert run.stats["sku_lookups"] == 2
    assert not OrderEntry.objects.filter(sku="AS99999").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("omitted", [1.0, 0.5])
def test_answers_without_included_entries_fall_back_to_one_entries_call_per_order(
    kaspi, sandbox_products, catalog_products, omitted
):
    sandbox = kaspi(orders=250, omit_included=omitted)
    run = pull_orders()
    assert run.status == RunStatus.SUCCESS
    assert run.created == 250
    assert 0 < run.stats["entries_fetched"] == sandbox.request_count("/orders/", "GET")
    assert run.stats["entries_fetched"] == 250 if omitted == 1.0 else run.stats["entries_fetched"] < 250
    assert stored_entries() == expected_entries(sandbox, catalog_products)


@pytest.mark.django_db
def test_entries_that_do_not_name_their_product_ask_for_it(kaspi, sandbox_products, catalog_products):
    sandbox = kaspi(orders=60, entry_product_ids=False, internal_offer_codes=0.5)
    pull_orders()
    assert stored_entries() == expected_entries(sandbox, catalog_products)
    needing = [
        e for o in sandbox.orders.values() for e in o["entries"] if sandbox.offer_code(e["sku"]) not in catalog_skus()
    ]
    assert sandbox.request_count("/orderentries") == len(needing)  # only entries whose hint is not ours


def catalog_skus() -> set[str]:
    from catalog.models import Product

    return {f"AS{a}" for a in Product.objects.values_list("article", flat=True)}


def test_the_import_matches_waiting_entries_as_soon_as_it_ends(settings, kaspi, django_capture_on_commit_callbacks):
    """Issue 13 item 13: after the first start the first pull runs before the first import ends;
    its entries must not read "not in the catalog" until the next pull."""
    from catalog.services.importing import import_catalog
    from catalog.sku import merchant_sku
    from kaspisync.sandbox.alstyle import AlstyleSandbox

    supplier = AlstyleSandbox(40, interval=0.0, token="t")
    supplier.server = supplier.serve().start()
    try:
        settings.ALSTYLE_API_URL, settings.ALSTYLE_TOKEN, settings.ALSTYLE_MIN_INTERVAL = supplier.server.url, "t", 0
        article = supplier.products[0]["article"]
        sandbox = kaspi(products=[{"sku": merchant_sku(article, "AS"), "name": "Товар", "price": 5000, "brand": "X"}])
        sandbox.add_order()
        pull_orders(days=1)
        assert OrderEntry.objects.get().product is None  # the catalog is still empty
        with django_capture_on_commit_callbacks(execute=True):
            import_catalog()
        entry = OrderEntry.objects.get()
        assert entry.product is not None, "the import did not match the entry"
        assert entry.product.article == article, "the import did not match the entry"
    finally:
        supplier.server.stop()


@pytest.mark.django_db
def test_a_pull_writes_its_progress_to_its_row_while_it_runs(kaspi):
    """Issue 13 item 10: the pull's current step is on its run row while it runs, gone after."""
    kaspi(orders=30)
    seen = []

    def watch(message):
        seen.append(PullRun.objects.get().stats.get("progress"))

    run = pull_orders(days=3, progress=watch)
    assert seen, seen[:3]
    assert seen[0], seen[:3]
    assert seen[0]["step"], seen[:3]
    assert "page 1 of" in seen[0]["step"] or "страница 1 из" in seen[0]["step"]
    run.refresh_from_db()
    assert run.status == "success"
    assert "progress" not in run.stats
