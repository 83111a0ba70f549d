"""Full import and quick refresh against the Al-Style emulator (real HTTP, real database)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from catalog.alstyle import AlstyleError
from catalog.models import Brand, Category, ImportRun, Product, ProductChange
from catalog.services.importing import import_catalog
from catalog.signals import catalog_changed
from kaspisync import locks

from .conftest import TOKEN

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    """Run messages (why nothing was deactivated) are read in English here, whatever ran before."""
    with translation.override("en"):
        yield


def _writes_to(queries, table: str) -> list[str]:
    return [
        q["sql"]
        for q in queries
        if q["sql"].split(" ", 1)[0] in ("INSERT", "UPDATE", "DELETE")
        and f'"{table}"' in q["sql"].split("(", 1)[0] + q["sql"].split(" SET ", 1)[0]
    ]


def test_full_import_stores_the_catalog_and_every_quirk(raw):
    run = import_catalog()
    assert run.status == "success"
    assert run.kind == "full"
    assert (run.created, run.updated, run.unchanged, run.deactivated) == (600, 0, 0, 0)
    assert run.requests_made == 2 + 3  # categories, brands, three pages of 250
    assert Product.objects.filter(is_active=True).count() == 600

    videocards = Category.objects.get(name="Видеокарты")
    assert videocards.parent.name == "Комплектующие"
    assert videocards.level == 2
    assert Category.objects.get(name="SSD накопители").parent.parent == videocards.parent
    assert Brand.objects.filter(alstyle_guid__isnull=False).count() == Brand.objects.count()

    on_request = raw.find(lambda p: p["price1"] == 1)
    product = Product.objects.get(article=on_request["article"])
    assert product.dealer_price is None
    assert product.unsellable_reason == "price_on_request"
    assert not product.is_sellable
    placeholder = Product.objects.get(article=raw.find(lambda p: p["price1"] == 9_999_999)["article"])
    assert placeholder.dealer_price is None
    assert placeholder.unsellable_reason == "placeholder_price"
    as_string = raw.find(lambda p: isinstance(p["price1"], str))
    assert Product.objects.get(article=as_string["article"]).dealer_price == int(as_string["price1"])

    more = Product.objects.get(article=raw.find(lambda p: p["quantity"] == ">50")["article"])
    assert (more.stock, more.stock_qualifier, more.stock_display) == (50, ">", ">50")
    fewer = Product.objects.get(article=raw.find(lambda p: p["quantity"] == "<10")["article"])
    assert (fewer.stock, fewer.stock_qualifier, fewer.stock_display) == (10, "<", "<10")

    assert Product.objects.get(article=raw.find(lambda p: p["rrp"] == 1)["article"]).rrp is None
    for marker in ("&", "<", '"', "\x0b"):
        source = raw.find(lambda p, marker=marker: marker in p["name"])
        assert Product.objects.get(article=source["article"]).name == source["name"]

    source = raw.find(lambda p: len(p["images"]) > 1 and p["warehouses"])
    product = Product.objects.select_related("brand", "category").get(article=source["article"])
    assert product.images == source["images"]
    assert product.brand.name == source["brand"]
    assert product.category_id == source["category"]
    assert set(product.warehouse_stock) == set(source["warehouses"])
    assert product.url == source["url"]
    assert product.barcode == source["barcode"]


def test_progress_is_reported_page_by_page(raw):
    calls = []
    import_catalog(progress=lambda done, total: calls.append((done, total)))
    assert calls == [(250, 600), (500, 600), (600, 600)]


def test_a_second_identical_import_writes_nothing(raw):
    import_catalog()
    with CaptureQueriesContext(connection) as queries:
        run = import_catalog()
    assert run.status == "success"
    assert (run.created, run.updated, run.unchanged) == (0, 0, 600)
    for table in ("catalog_product", "catalog_productchange", "catalog_category", "catalog_brand"):
        assert _writes_to(queries.captured_queries, table) == [], table


def test_changes_are_written_with_history_and_missing_products_deactivated(raw):
    first = import_catalog()
    changed, removed = raw.products[10], raw.products[20]
    old_stock = Product.objects.get(article=changed["article"]).stock
    raw.update_product(changed["article"], price1=123_450, price2=140_000, quantity=old_stock + 7)
    raw.remove_products([removed["article"]])

    run = import_catalog()
    assert (run.created, run.updated, run.unchanged, run.deactivated) == (0, 1, 598, 1)
    product = Product.objects.get(article=changed["article"])
    assert (product.dealer_price, product.retail_price, product.stock) == (123_450, 140_000, old_stock + 7)
    history = {c.field: (c.old_value, c.new_value) for c in product.changes.filter(run=run)}
    assert history["stock"] == (old_stock, old_stock + 7)
    assert history["dealer_price"][1] == 123_450
    gone = Product.objects.get(article=removed["article"])
    assert not gone.is_active
    assert gone.changes.get(run=run).field == "is_active"
    assert not ProductChange.objects.filter(run=first).exists()  # creation is not a "change"

    raw.products.append(removed)  # it comes back
    raw.update_product(removed["article"])
    run = import_catalog()
    assert run.updated == 1
    assert Product.objects.get(article=removed["article"]).is_active


def test_a_run_failing_midway_leaves_the_catalog_consistent(raw):
    import_catalog()
    removed = raw.products[-1]
    raw.remove_products([removed["article"]])
    raw.inject("500", times=10, method="elements-pagination", after=1)  # page 2 never comes

    with pytest.raises(AlstyleError):
        import_catalog()
    run = ImportRun.objects.latest("started_at")
    assert run.status == "failed"
    assert run.deactivated == 0
    assert "HTTP 500" in run.error
    assert TOKEN not in run.error
    assert Product.objects.get(article=removed["article"]).is_active  # not half-deactivated
    assert not locks.is_locked("catalog.import")

    raw.reset()
    run = import_catalog()  # the next complete run finishes the job
    assert run.status == "success"
    assert run.deactivated == 1


def test_offset_drift_is_detected_and_nothing_is_deactivated(raw):
    import_catalog()
    raw.remove_products([raw.products[5]["article"]])
    raw.shift_during_paging = 1  # a product appears at the front after every page
    run = import_catalog()
    assert run.status == "success"
    assert run.skipped["duplicate_across_pages"] >= 1
    assert run.deactivated == 0
    assert "deactivation_skipped" in run.stats
    assert Product.objects.filter(is_active=False).count() == 0


def test_quick_refresh_updates_prices_and_stock_with_history(raw):
    import_catalog()
    target = raw.products[3]
    raw.update_product(target["article"], price1=1, quantity=">100", warehouses={"panfilov": ">100", "astana": "<10"})
    raw.add_products(2)  # not imported yet: unknown to the quick refresh
    raw.reset()

    run = import_catalog(quick=True)
    assert run.status == "success"
    assert run.kind == "quick"
    assert run.requests_made == 1 == raw.request_count("quantity-price")
    assert run.updated == 1
    assert run.unchanged == 600 - 1
    assert run.skipped == {"unknown_article": 2}
    product = Product.objects.get(article=target["article"])
    assert (product.dealer_price, product.unsellable_reason, product.stock_display) == (
        None,
        "price_on_request",
        ">100",
    )
    assert product.warehouse_stock == {"panfilov": 100, "astana": 1}
    assert product.changes.filter(run=run, field="dealer_price", new_value=None).exists()
    # The next full import rewrites the row (its fingerprint was dropped) but records no second change.
    full = import_catalog()
    assert full.updated == 1
    assert full.created == 2
    assert not product.changes.filter(run=full).exists()


def test_after_commit_the_signal_reports_the_changed_products(raw, django_capture_on_commit_callbacks):
    received = []

    def receiver(sender, **kwargs):
        received.append((kwargs["reason"], kwargs["product_count"]))

    catalog_changed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            import_catalog()
        raw.update_product(raw.products[0]["article"], quantity=999)
        with django_capture_on_commit_callbacks(execute=True):
            import_catalog(quick=True)
        with django_capture_on_commit_callbacks(execute=True):
            import_catalog(quick=True)  # nothing changed: no signal
    finally:
        catalog_changed.disconnect(receiver)
    assert received == [("import", 600), ("quick", 1)]


def test_pricing_gets_each_product_written_once_in_id_order(raw, monkeypatch, django_capture_on_commit_callbacks):
    """The ids of an import's changes (written rows, deactivated ones, a run that died before) reach
    pricing once each and in order, whatever order and how many times the run met them."""
    from datetime import timedelta

    from django.utils import timezone

    from catalog.services import hooks

    received = []
    monkeypatch.setattr(hooks, "after_import", lambda run, ids: received.append(list(ids)))
    with django_capture_on_commit_callbacks(execute=True):
        import_catalog()
    every = sorted(Product.objects.values_list("pk", flat=True))
    assert received == [every]

    changed, removed = raw.products[300], raw.products[5]
    raw.update_product(changed["article"], price1=55_555)
    raw.remove_products([removed["article"]])
    # The run before this one was left RUNNING by a worker that died: every product is repriced.
    ImportRun.objects.create(kind="full", status="running", started_at=timezone.now() - timedelta(hours=2))
    with django_capture_on_commit_callbacks(execute=True):
        run = import_catalog()
    assert (run.updated, run.deactivated) == (1, 1)
    assert received[1] == every  # the two changed ones are among them, once each


def test_int_bits_hold_a_set_of_numbers_in_order():
    from catalog.services.importing import IntBits

    bits = IntBits()
    assert not bits
    assert len(bits) == 0
    assert list(bits) == []
    numbers = [2**40 + 1, 64, 0, 63, 65, 10_000, 64, 2**40 + 1, 127, 128]
    added = [bits.add(n) for n in numbers]
    assert added == [True, True, True, True, True, True, False, False, True, True]
    bits.extend([5, 0, 10_000])
    assert list(bits) == sorted(set(numbers) | {5})
    assert len(bits) == 9
    assert bits
    bits.clear()
    assert not bits
    assert list(bits) == []


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_triggers_run_once(alstyle, in_threads):
    sandbox = alstyle(products=300, latency=0.05)
    statuses = in_threads(lambda: import_catalog(trigger="admin").status, 2)
    assert sorted(statuses) == ["skipped", "success"]
    assert sorted(ImportRun.objects.values_list("status", flat=True)) == ["skipped", "success"]
    assert sandbox.request_count("elements-pagination") == 2  # one run's pages only
    assert Product.objects.count() == 300


def test_a_run_whose_worker_died_does_not_block_the_next(raw):
    from datetime import timedelta

    from django.utils import timezone

    from kaspisync.models import JobLock

    dead = ImportRun.objects.create(status="running", started_at=timezone.now() - timedelta(hours=2))
    JobLock.objects.create(
        name="catalog.import",
        owner="dead-host:1:x",
        acquired_at=dead.started_at,
        expires_at=timezone.now() - timedelta(seconds=1),
    )
    run = import_catalog(quick=True)
    assert run.status == "success"
    dead.refresh_from_db()
    assert dead.status == "failed"
    assert dead.error


def test_pages_without_a_total_are_read_to_the_end_and_nothing_is_deactivated(raw):
    import_catalog()
    last = raw.products[-1]
    raw.update_product(last["article"], price1=123_456)
    raw.remove_products([raw.products[0]["article"]])
    raw.omit_pagination = True
    run = import_catalog()
    assert run.status == "success"
    assert run.requests_made == 2 + 4  # read on until an empty page
    assert Product.objects.get(article=last["article"]).dealer_price == 123_456
    assert run.deactivated == 0
    assert "no pagination total" in run.stats["deactivation_skipped"]
    assert not Product.objects.filter(is_active=False).exists()


def test_a_failed_run_still_reprices_and_announces_the_batches_it_wrote(
    raw, monkeypatch, django_capture_on_commit_callbacks
):
    from catalog.services import importing

    import_catalog()
    monkeypatch.setattr(importing, "WRITE_BATCH", 1)  # every changed product written at the end of its page
    first = raw.products[:3]
    for product in first:
        raw.update_product(product["article"], price1=77_000)
    raw.inject("500", times=10, method="elements-pagination", after=1)  # page 2 never comes
    announced = []

    def receiver(sender, **kwargs):
        announced.append(kwargs["product_count"])

    catalog_changed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(AlstyleError):
            import_catalog()
    finally:
        catalog_changed.disconnect(receiver)
    assert ImportRun.objects.latest("started_at").status == "failed"
    assert announced == [3]
    changed = ProductChange.objects.filter(product__article__in=[p["article"] for p in first], field="dealer_price")
    assert changed.count() == 3
    raw.reset()
    assert import_catalog().updated == 0  # written once: the next run finds them unchanged


def _sellable(raw, **kwargs):
    """A raw sandbox product with an int stock, a real dealer price, and these keys."""
    return raw.find(
        lambda p: (
            isinstance(p["quantity"], int)
            and p["quantity"] > 0
            and isinstance(p["price1"], int)
            and p["price1"] not in (1, 9999999)
            and all(p.get(k) for k in kwargs)
        )
    )


def test_unreadable_stock_is_stored_as_zero_and_counted(raw):
    import_catalog()
    target = _sellable(raw)
    raw.update_product(target["article"], quantity="уточняйте")
    run = import_catalog()
    product = Product.objects.get(article=target["article"])
    assert product.stock == 0
    assert product.is_active
    assert product.unsellable_reason == ""
    assert run.stats["value_problems"] == [
        {"field": "quantity", "kind": "unreadable", "count": 1, "examples": [[target["article"], "уточняйте"]]}
    ]
    assert ProductChange.objects.filter(product=product, field="stock", new_value=0).exists()
    raw.update_product(target["article"], quantity=7)
    run = import_catalog(quick=True)
    assert Product.objects.get(article=target["article"]).stock == 7
    assert "value_problems" not in run.stats


def test_unreadable_values_are_counted_per_kind_with_examples(raw):
    """Issue 9, item 11: "много" stock and unreadable prices are named in the run, not silent."""
    targets = [p for p in raw.products if isinstance(p["price1"], int) and p["price1"] > 1][:8]
    for product in targets[:6]:
        raw.update_product(product["article"], quantity="много")
    raw.update_product(targets[6]["article"], price1="по запросу")
    raw.update_product(targets[7]["article"], price2="12 345,50")
    run = import_catalog()
    assert run.status == "success"
    problems = {(p["field"], p["kind"]): p for p in run.stats["value_problems"]}
    assert set(problems) == {("quantity", "unreadable"), ("price1", "unreadable"), ("price2", "unreadable")}
    stock = problems[("quantity", "unreadable")]
    assert stock["count"] == 6
    assert len(stock["examples"]) == 5  # all counted, a few shown
    assert stock["examples"][0] == [targets[0]["article"], "много"]
    assert problems[("price1", "unreadable")]["examples"] == [[targets[6]["article"], "по запросу"]]
    assert problems[("price2", "unreadable")]["examples"] == [[targets[7]["article"], "12 345,50"]]
    product = Product.objects.get(article=targets[6]["article"])
    assert product.dealer_price is None
    assert product.unsellable_reason == "no_price"

    raw.update_product(targets[0]["article"], quantity=">много")
    quick = import_catalog(quick=True)  # the quick refresh counts them too
    counted = {(p["field"], p["kind"]): p["count"] for p in quick.stats["value_problems"]}
    assert counted[("quantity", "unreadable")] == 6
    assert counted[("price1", "unreadable")] == 1


@pytest.mark.parametrize(
    ("fields", "reason", "shown"),
    [
        ({"quantity": 1e30}, "stock_out_of_bounds", "1e+30"),  # 10^30 in JSON: a float to every parser
        ({"quantity": "1000000000000000000000000000000"}, "stock_out_of_bounds", "1000000000000000000000000000000"),
        ({"quantity": -4}, "stock_out_of_bounds", "-4"),
        ({"price1": 1e30}, "dealer_price_out_of_bounds", "1e+30"),
        ({"price1": 10**12}, "dealer_price_out_of_bounds", "1000000000000"),
        ({"price2": 10**12}, "retail_price_out_of_bounds", "1000000000000"),
        ({"warehouses": {"panfilov": 1e30}}, "stock_out_of_bounds", "panfilov: 1e+30"),
    ],
)
def test_an_absurd_supplier_number_makes_one_product_unsellable_and_the_import_completes(raw, fields, reason, shown):
    """Issue 9, item 2: 10^30 stock or a 1e30 price aborted the run ("Python int too large") with
    0 products written; a dealer price of 10^12 priced a product beyond the price list's schema."""
    target = _sellable(raw)
    raw.update_product(target["article"], **fields)
    run = import_catalog()
    assert run.status == "success"
    assert run.created == 600
    product = Product.objects.get(article=target["article"])
    assert product.is_active
    assert not product.is_sellable
    assert (product.unsellable_reason, product.unsellable_value) == (reason, shown)
    assert product.stock <= 1_000_000
    assert (product.dealer_price or 0) <= 100_000_000
    assert all(n <= 1_000_000 for n in product.warehouse_stock.values())
    assert [(p["kind"], p["count"], p["examples"]) for p in run.stats["value_problems"]] == [
        ("out_of_bounds", 1, [[target["article"], shown]])
    ]
    product.refresh_from_db()
    assert product.sale_price is None  # pricing leaves it unpriced: it never reaches the price list

    raw.update_product(target["article"], quantity=5, price1=50_000, price2=60_000, warehouses={"panfilov": 5})
    import_catalog()
    product.refresh_from_db()
    assert (product.unsellable_reason, product.unsellable_value, product.stock) == ("", "", 5)


def test_absurd_numbers_in_the_quick_refresh(raw):
    import_catalog()
    target = _sellable(raw)
    raw.update_product(target["article"], quantity=1e30)
    run = import_catalog(quick=True)
    assert run.status == "success"
    product = Product.objects.get(article=target["article"])
    assert (product.unsellable_reason, product.unsellable_value, product.stock) == ("stock_out_of_bounds", "1e+30", 0)


def test_products_the_supplier_dropped_are_deactivated_despite_duplicate_and_unusable_records(raw):
    """Issue 9, item 3: one repeated or unusable record kept the count of distinct products below
    the supplier's total, so dropped products were never deactivated (and paging was blamed)."""
    import_catalog()
    dropped = raw.products[20]["article"]
    raw.remove_products([dropped])
    raw.products.insert(300, dict(raw.products[10]))  # the supplier lists one product twice
    raw.products.insert(400, {**raw.products[11], "article": "без артикула"})  # and one without an article
    raw.remove_products([])  # the sandbox serves the changed list
    run = import_catalog()
    assert run.status == "success"
    assert run.stats["records"] == {"read": 599, "duplicates": 1, "unusable": 1, "total": 601}
    assert run.skipped == {"duplicate_across_pages": 1, "bad_article": 1}
    assert run.deactivated == 1
    assert "deactivation_skipped" not in run.stats
    assert not Product.objects.get(article=dropped).is_active
    assert Product.objects.filter(is_active=True).count() == 599


def test_when_the_total_is_not_explained_nothing_is_deactivated_and_the_run_says_why(raw):
    import_catalog()
    raw.remove_products([raw.products[20]["article"]])  # dropped: 599 left
    original = raw.page

    def short_pages(query):  # the last page comes back one record short of the total
        answer = original(query)
        if answer["pagination"]["offset"] + len(answer["elements"]) == answer["pagination"]["totalCount"]:
            answer["elements"] = answer["elements"][:-1]
        return answer

    raw.page = short_pages
    run = import_catalog()
    assert run.status == "success"
    assert run.deactivated == 0
    assert run.stats["deactivation_skipped"] == (
        "the supplier's total (599) is not explained by its pages: distinct products 598, repeated records 0, "
        "records without a usable article 0 (598 in all)"
    )
    assert Product.objects.filter(is_active=False).count() == 0
