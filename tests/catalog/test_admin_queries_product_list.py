"""The product list's speed-ups keep what it shows (issue 10): the category and brand filters list
exactly the categories and brands that have products and filter by them; the action checkbox is
Django's own HTML; every sortable column is read in order from an index, not sorted whole."""

import re

import pytest
from django import forms
from django.contrib import admin
from django.contrib.admin import helpers
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.html import format_html
from django.utils.translation import gettext, gettext_lazy

from catalog.models import Brand, Category, Product

pytestmark = pytest.mark.django_db
LIST = "/admin/catalog/product/"


@pytest.fixture
def boss(client, make_staff):
    client.force_login(make_staff("boss", superuser=True))
    return client


@pytest.fixture
def catalog(make_product):
    notebooks = Category.objects.create(id=10, name="Ноутбуки & планшеты", left=1, right=2)
    mice = Category.objects.create(id=11, name="Мыши", left=3, right=4)
    Category.objects.create(id=12, name="Пустая категория", left=5, right=6)
    Brand.objects.create(name="Brand without products")
    make_product(name="Ноутбук Lenovo", brand="Lenovo", category=notebooks)
    make_product(name="Мышь Logitech", brand="Logitech", category=mice)
    make_product(name="Без категории", brand=None)
    return notebooks, mice


def filter_links(page: str, title: str) -> dict[str, str]:
    """{link text: href} of one sidebar filter."""
    block = re.search(rf'<details data-filter-title="{title}".*?</details>', page, re.S).group(0)
    return {text: href.replace("&amp;", "&") for href, text in re.findall(r'<a href="([^"]+)">([^<]+)</a>', block)}


def test_category_and_brand_filters_list_only_what_has_products_and_filter_by_it(boss, catalog):
    notebooks, _mice = catalog
    page = boss.get(LIST, {"in_stock": "yes"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    categories = filter_links(page, "category")
    assert set(categories) == {"All", "Ноутбуки &amp; планшеты", "Мыши", "—"}, categories
    assert set(filter_links(page, "brand")) == {"All", "Lenovo", "Logitech", "—"}
    link = categories["Ноутбуки &amp; планшеты"]
    assert "in_stock=yes" in link, "the other filters are kept"
    filtered = boss.get(LIST + link)
    assert [p.name for p in filtered.context["cl"].result_list] == ["Ноутбук Lenovo"]
    selected = re.search(r'<li class="selected"><a href="[^"]+">([^<]+)</a>', filtered.content.decode()).group(1)
    assert selected == "Ноутбуки &amp; планшеты"


def test_category_and_brand_links_keep_a_search_of_any_characters(boss, catalog):
    from urllib.parse import parse_qs, urlsplit

    notebooks, _mice = catalog
    search = {"q": "ноут & <b> 100%", "in_stock": "yes"}
    page = boss.get(LIST, search, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for title, lookup, pk in (("category", "category__id__exact", notebooks.pk), ("brand", "brand__id__exact", None)):
        links = filter_links(page, title)
        href = links["Ноутбуки &amp; планшеты" if title == "category" else "Lenovo"]
        query = {k: v[0] for k, v in parse_qs(urlsplit(href).query).items()}
        expected_pk = str(pk) if pk else query.get(lookup)
        assert query == {**search, lookup: expected_pk}, href


def test_facets_still_count_per_choice(boss, catalog):
    page = boss.get(LIST, {"_facets": "1"}).content.decode()
    assert "Мыши (1)" in page


def test_action_checkbox_is_djangos_own_html(catalog):
    product = Product.objects.select_related("brand").first()
    ours = admin.site._registry[Product].action_checkbox(product)
    label = format_html(gettext("Select this object for an action - {}"), product)  # Django's words, in Russian
    attrs = {"class": "action-select", "aria-label": label}
    django = forms.CheckboxInput(attrs, lambda value: False).render(helpers.ACTION_CHECKBOX_NAME, str(product.pk))
    assert ours == django


@pytest.mark.parametrize("column", ["1", "-1", "2", "-2", "3", "-3", "4", "-4", "6", "-6"])
def test_every_sortable_column_is_read_in_order_from_an_index(boss, catalog, column):
    if connection.vendor != "sqlite":
        pytest.skip("the plan is SQLite's; PostgreSQL picks its plan by the table's size")
    with CaptureQueriesContext(connection) as captured:
        response = boss.get(LIST, {"o": column})
    assert response.status_code == 200
    page_query = next(q["sql"] for q in captured.captured_queries if 'JOIN "cards_productcard"' in q["sql"])
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {page_query}")
        plan = " / ".join(row[-1] for row in cursor.fetchall())
    assert "SCAN catalog_product USING INDEX product_sort_" in plan, plan
    assert "TEMP B-TREE FOR ORDER BY" not in plan, plan  # at most "FOR RIGHT PART": ties only


def test_a_search_counts_its_matches_up_to_the_cap_and_says_more(boss, make_product):
    model_admin = admin.site._registry[Product]
    for i in range(8):
        make_product(name=f"Ноутбук {i}")
    make_product(name="Мышь")
    cap, model_admin.search_count_cap = model_admin.search_count_cap, 5
    try:
        with CaptureQueriesContext(connection) as captured:
            searched = boss.get(LIST, {"q": "ноутбук"})
        keys = [q["sql"] for q in captured.captured_queries if 'SELECT "catalog_product"."id" AS "pk"' in q["sql"]]
        counts = [q["sql"] for q in captured.captured_queries if "COUNT(" in q["sql"]]  # before the next request
        few = boss.get(LIST, {"q": "мышь"})
        plain = boss.get(LIST)
    finally:
        model_admin.search_count_cap = cap
    assert len(keys) == 1, keys
    assert not counts, "the keys are the count"
    assert "LIMIT 6" in keys[0], "the search's count stops after the cap"
    assert "более 5 товаров" in searched.content.decode()
    assert searched.context["cl"].result_count == 5
    assert few.context["cl"].result_count == 1
    assert "более" not in few.content.decode().split('id="changelist-search"')[1].split("</form>")[0]
    assert plain.context["cl"].result_count == 9, "a list not searched keeps its exact count"


@pytest.fixture
def small_pages():
    """Pages of 3 products, a search cap of 7: a few products make many pages and a capped search."""
    model_admin = admin.site._registry[Product]
    saved = model_admin.list_per_page, model_admin.search_count_cap
    model_admin.list_per_page, model_admin.search_count_cap = 3, 7
    yield model_admin
    model_admin.list_per_page, model_admin.search_count_cap = saved


@pytest.mark.parametrize(
    "params",
    [
        {"q": "ноутбук"},  # 10 matches: capped at 7, pages of 3
        {"q": "ноутбук", "p": "2"},
        {"q": "ноутбук", "p": "3"},  # the last page of the capped list: its 7th match only
        {"q": "ноутбук", "o": "-3"},
        {"q": "ноутбук", "o": "6", "p": "2"},
        {"q": "ноутбук", "in_stock": "yes", "o": "2"},
        {"q": "lenovo"},  # 2 matches: one page, read whole by Django
        {"q": "lenovo", "o": "-2"},
        {"q": "PN-01"},  # part numbers
        {"q": "4870000000012"},  # a barcode
        {"q": "100004"},  # an article (and any text holding it)
        {"q": "ноутбук", "all": ""},  # "show all": more than the cap, so pages stay
        {"q": "мышь", "all": ""},
        {"q": "планшет"},  # nothing found
    ],
)
def test_a_search_reads_its_matches_once_and_shows_what_django_would(boss, small_pages, params):
    """A search finds its matches in one read of the table (their keys, in the list's order, up to
    the cap + 1) and reads the page by those keys: the same rows in the same order as Django's own
    slice of the searched list, page by page, with the same count."""
    for i in range(12):
        make = {"name": f"{'Ноутбук' if i < 10 else 'Мышь'} {'Lenovo' if i in (3, 11) else 'HP'} {i}"}
        Product.objects.create(
            article=100_000 + i,
            article_pn=f"PN-{i:04d}",
            barcode=f"487{i:010d}",
            dealer_price=1000 + (i * 7919) % 13 * 100,
            sale_price=1500 + (i * 104729) % 11 * 100,
            stock=i % 4,
            **make,
        )
    with CaptureQueriesContext(connection) as captured:
        response = boss.get(LIST, params)
    assert response.status_code == 200
    cl = response.context["cl"]
    searched = [q["sql"] for q in captured.captured_queries if "LIKE" in q["sql"] or "KS_ICONTAINS" in q["sql"]]
    assert len(searched) <= 2, searched  # the keys, and (when found) the page, which reads by them
    assert "COUNT(" not in " ".join(searched), "the keys are the count"
    if len(searched) == 2:
        assert '"catalog_product"."id" IN (' in searched[1], searched[1]
    matches = list(cl.queryset.values_list("pk", flat=True))  # Django's own searched, sorted list
    counted = min(len(matches), small_pages.search_count_cap)
    assert cl.result_count == counted
    assert cl.paginator.capped == (len(matches) > counted)
    if "all" in params and counted <= cl.list_max_show_all or counted <= cl.list_per_page:
        expected = matches[:counted]
    else:
        first = (int(params.get("p", 1)) - 1) * cl.list_per_page
        expected = matches[first : min(first + cl.list_per_page, counted)]
    assert [p.pk for p in cl.result_list] == expected
    shown = re.findall(r'name="_selected_action" value="(\d+)"', response.content.decode())
    assert [int(pk) for pk in shown] == expected


def test_select_across_a_search_still_acts_on_every_match(boss, small_pages):
    """Only what is shown is capped: "select all" of a searched list acts on every match."""
    for i in range(10):
        Product.objects.create(article=200_000 + i, name=f"Ноутбук {i}", dealer_price=1000, sale_price=1500)
    response = boss.post(
        f"{LIST}?q=ноутбук",
        {"action": "exclude_from_feed", "select_across": "1", "index": "0", "_selected_action": ["1"]},
    )
    assert response.status_code == 302
    assert Product.objects.filter(feed_excluded=True).count() == 10


@pytest.mark.parametrize(
    ("params", "index", "chosen"),
    [
        ({"below_margin_floor__exact": "1"}, "USING INDEX product_below_floor", lambda p: p.below_margin_floor),
        ({"feed_excluded__exact": "1"}, "USING INDEX product_feed_excluded", lambda p: p.feed_excluded),
        ({"card_status": "ready"}, "card_status_product (status=?)", lambda p: p.card == "ready"),
    ],
)
def test_a_filter_on_a_rare_flag_or_a_card_status_reads_those_products_only(boss, params, index, chosen):
    """The count and the page of such a filter are read through an index holding only those
    products (or the cards of that status, with their product), not by reading the catalog; the
    rows are those products, in the list's order."""
    from cards.models import ProductCard

    products = []
    for i in range(12):
        product = Product.objects.create(
            article=300_000 + (i * 7) % 12,
            name=f"Товар {i}",
            dealer_price=1000,
            sale_price=1500,
            below_margin_floor=i % 3 == 0,
            feed_excluded=i % 4 == 1,
        )
        product.card = ["ready", "sent", None][i % 3]
        if product.card:
            ProductCard.objects.create(product=product, status=product.card)
        products.append(product)
    with CaptureQueriesContext(connection) as captured:
        response = boss.get(LIST, params)
    expected = sorted((p for p in products if chosen(p)), key=lambda p: p.article)
    assert [p.pk for p in response.context["cl"].result_list] == [p.pk for p in expected]
    assert response.context["cl"].result_count == len(expected)
    if connection.vendor != "sqlite":
        return  # the plan is SQLite's; PostgreSQL picks its plan by the table's size
    reads = [
        q["sql"]
        for q in captured.captured_queries
        if 'FROM "catalog_product"' in q["sql"]
        and '"catalog_product"."id" = (' not in q["sql"]
        and "EXISTS" not in q["sql"]  # the category and brand filters' choices
    ]
    assert len(reads) == 2, reads  # the count and the page
    for sql in reads:
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
            plan = " / ".join(row[-1] for row in cursor.fetchall())
        assert index in plan, plan
        assert "SCAN catalog_product /" not in f"{plan} /", plan


@pytest.fixture
def varied(make_product):
    """Rows of every kind the columns write: brand or none, prices or none, a margin below the
    floor, inactive, unsellable (with the supplier's value), excluded, a manual price, stock by
    warehouse or not, each card status or none, and text that must be escaped."""
    from cards.models import ProductCard
    from catalog.models import PriceOverride

    rows = [
        make_product(name='Ноутбук <b>"Lenovo"</b> & Co', net_margin=1200, net_margin_percent="9.55"),
        make_product(name="Мышь", brand=None, dealer_price=None, sale_price=None, is_active=False),
        make_product(name="Кабель", unsellable_reason="out_of_bounds", unsellable_value="-5", feed_excluded=True),
        make_product(name="Монитор", net_margin=-300, net_margin_percent="-2.10", below_margin_floor=True),
        make_product(name="Принтер", warehouse_stock={"1": 3, "7": 2}, stock=5, stock_qualifier=">"),
        make_product(name="   ", price_explanation="наценка 10 % & округление"),
    ]
    PriceOverride.objects.create(product=rows[2], price=5000)
    for product, status in zip(rows, ["ready", "sent", "error", "not_ready", "no_mapping"]):
        ProductCard.objects.create(product=product, status=status)
    return rows


@pytest.mark.parametrize(
    "params",
    [{}, {"q": "</b>"}, {"o": "-3", "in_stock": "yes"}, {"card_status": "ready", "p": "1"}, {"q": "н"}],
)
def test_quick_rows_write_exactly_what_django_writes(boss, varied, params):
    """The product list's rows (kaspisync.admin.quick_rows) are Django's own HTML, cell for cell:
    classes, the link to each product with the list's filters kept, escaping, empty values."""
    from django.contrib.admin.templatetags.admin_list import results

    from kaspisync.admin import quick_rows

    response = boss.get(LIST, params)
    cl = response.context["cl"]
    assert len(cl.result_list) > 0
    djangos = ["".join(cells) for cells in results(cl)]
    ours = ["".join(row) for row in quick_rows(cl)]
    assert ours == djangos
    page = response.content.decode()
    for row in djangos:
        assert f"<tr>{row}</tr>" in page


def test_quick_rows_leave_to_django_what_they_do_not_write(boss, varied):
    """A popup (its links carry the opener) is written by Django itself, and so is any list
    without quick_rows."""
    from kaspisync.admin import quick_rows

    cl = boss.get(LIST, {"_popup": "1"}).context["cl"]
    assert quick_rows(cl) is None
    page = boss.get(LIST, {"_popup": "1"}).content.decode()
    assert "data-popup-opener" in page


def test_quick_rows_write_any_callable_column_as_django_does(boss, varied, monkeypatch):
    """Columns of every other kind a callable may return: unsafe text, a date (nowrap), a number,
    a boolean icon, blank text and None (the empty value, the column's own or the admin's), a
    missing related row (ObjectDoesNotExist), a lambda (its class), lazy translations."""
    import datetime

    from django.contrib.admin.templatetags.admin_list import results

    from catalog.models import PriceOverride
    from kaspisync.admin import quick_rows

    @admin.display(description="text", empty_value="нет")
    def unsafe(product):
        return f'<i>{product.name}</i> & "co"' if product.brand_id else None

    @admin.display(description="date")
    def day(product):
        return datetime.date(2026, 1, product.pk % 28 + 1)

    @admin.display(description="on", boolean=True)
    def active(product):
        return product.is_active

    def override(product):
        return product.price_override.price  # raises PriceOverride.DoesNotExist for most

    model_admin = admin.site._registry[Product]
    standard = model_admin.get_list_display
    lazy = (
        lambda product: gettext_lazy("on sale"),
        lambda product: gettext_lazy("   "),
        lambda product: gettext_lazy(""),
    )
    extra = (unsafe, day, active, override, lambda product: "   ", lambda product: product.dealer_price, *lazy)
    monkeypatch.setattr(model_admin, "get_list_display", lambda request: (*standard(request), *extra))
    assert PriceOverride.objects.count() == 1
    cl = boss.get(LIST, {"q": "о"}).context["cl"]
    assert ["".join(row) for row in quick_rows(cl)] == ["".join(cells) for cells in results(cl)]
