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
from django.utils.translation import gettext

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
        counts = [q["sql"] for q in captured.captured_queries if "COUNT(*)" in q["sql"]]  # before the next request
        few = boss.get(LIST, {"q": "мышь"})
        plain = boss.get(LIST)
    finally:
        model_admin.search_count_cap = cap
    assert len(counts) == 1, counts
    assert "LIMIT 6" in counts[0], "the search's count stops after the cap"
    assert "более 5 товаров" in searched.content.decode()
    assert searched.context["cl"].result_count == 5
    assert few.context["cl"].result_count == 1
    assert "более" not in few.content.decode().split('id="changelist-search"')[1].split("</form>")[0]
    assert plain.context["cl"].result_count == 9, "a list not searched keeps its exact count"
