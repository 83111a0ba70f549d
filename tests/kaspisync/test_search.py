"""Case-insensitive search folds Cyrillic and Kazakh letters on both databases (issue 13, item 1)."""

import pytest
from django.db import connection
from django.db.models import Q
from django.urls import reverse

from catalog.models import Product
from orders.models import Order
from tests.factories import make_staff

pytestmark = pytest.mark.django_db

NAMES = {
    1: "Ноутбук Lenovo IdeaPad 3",
    2: "НОУТБУК ASUS VivoBook",
    3: "Қазақша пернетақта Ғалым Өнім Ұя Үй Һ І Ә Ң",
    4: "Мышь Logitech",
    5: "Ёлочная гирлянда",
}


@pytest.fixture
def products():
    return {a: Product.objects.create(article=a, name=name, dealer_price=1000) for a, name in NAMES.items()}


@pytest.mark.parametrize(
    ("needle", "articles"),
    [
        ("ноутбук", {1, 2}),
        ("НОУТБУК", {1, 2}),
        ("нОуТбУк", {1, 2}),
        ("қазақша", {3}),
        ("ҚАЗАҚША", {3}),
        ("ғалым өнім ұя үй һ і ә ң", {3}),
        ("ёлочная", {5}),
        ("lenovo", {1}),
        ("LOGITECH", {4}),
        ("планшет", set()),
    ],
)
def test_icontains_folds_every_alphabet(products, needle, articles):
    assert set(Product.objects.filter(name__icontains=needle).values_list("article", flat=True)) == articles


def test_istartswith_and_iexact_fold_too(products):
    assert set(Product.objects.filter(name__istartswith="ноут").values_list("article", flat=True)) == {1, 2}
    assert list(Product.objects.filter(name__iexact="мышь logitech").values_list("article", flat=True)) == [4]


def test_admin_product_search_finds_lowercase_cyrillic(client, products):
    client.force_login(make_staff("boss", superuser=True))
    url = reverse("admin:catalog_product_changelist")
    for needle in ("ноутбук", "НОУТБУК", "Ноутбук"):
        page = client.get(url, {"q": needle}).content.decode()
        assert "IdeaPad" in page, f"search {needle!r} missed a laptop"
        assert "VivoBook" in page, f"search {needle!r} missed a laptop"
        assert "Logitech" not in page, f"search {needle!r} found the mouse"


def test_admin_order_search_finds_customer_in_any_case(client):
    Order.objects.create(
        kaspi_id="k1",
        code="1001",
        total_price=1000,
        created_at="2026-01-01T10:00+05:00",
        customer_name="Әлия Жұмабаева",
    )
    boss = make_staff("boss", superuser=True)
    client.force_login(boss)
    page = client.get(reverse("admin:orders_order_changelist"), {"q": "жұмабаева"}).content.decode()
    assert "1001" in page, "a customer's name in lowercase found no order"


def test_an_over_long_search_is_answered_in_words(client, products):
    """Issue 13 item 13: a 5,000-character search gets the first 200 searched and a message, not a
    raw server error; the search box itself takes at most 200 characters."""
    client.force_login(make_staff("boss", superuser=True))
    url = reverse("admin:catalog_product_changelist")
    page = client.get(url).content.decode()
    assert 'maxlength="200"' in page
    response = client.get(url, {"q": "ноутбук" + "я" * 4993}, follow=True)
    assert response.status_code == 200
    text = response.content.decode()
    assert "Запрос был длиной 5000 символов; ищем по первым 200." in text
    assert response.redirect_chain
    assert len(response.context["cl"].query) == 200


def test_a_stored_name_in_mixed_case_is_found_by_the_full_comparison(products):
    """Lower, upper and capitalised forms are matched by SQLite itself; any other mix of cases
    still reaches the casefolded comparison."""
    Product.objects.create(article=6, name="мини-ноутБУК Acer", dealer_price=1000)
    Product.objects.create(article=7, name="Сумка для НоУтБуКа", dealer_price=1000)
    found = set(Product.objects.filter(name__icontains="ноутбук").values_list("article", flat=True))
    assert found == {1, 2, 6, 7}
    assert set(Product.objects.filter(name__icontains="ноутбука").values_list("article", flat=True)) == {7}
    assert set(Product.objects.filter(name__istartswith="МИНИ").values_list("article", flat=True)) == {6}
    assert list(Product.objects.filter(name__iexact="МИНИ-НОУТБУК ACER").values_list("article", flat=True)) == [6]
    # a number's text holds no Cyrillic letter: the admin's "=article" part of a word search is empty
    assert not Product.objects.filter(article__iexact="ноутбук").exists()
    assert not Product.objects.filter(dealer_price__icontains="ноутбук").exists()


@pytest.mark.parametrize(
    "needle",
    ["100123", "0100123", "100123.0", " 100123", "100 123", "+100123", "-5", "-0", "0", "PN-0123", "1001%", "10012_"]
    + ["3000000000", "9" * 19, "9" * 30, "１００１２３"],  # beyond 32, 64 bits; full-width digits
)
def test_an_integer_compared_with_text_matches_exactly_its_plain_text(needle):
    """The admin's "=article" search (article__iexact) compares an integer column as a number:
    a row matches exactly when its number, written as the database writes it, is the needle (as
    the text comparison did) — and never raises, whatever was typed."""
    for article in (0, 5, 100123, 1001234, 2_147_483_647):  # the largest an integer column holds on PostgreSQL
        Product.objects.create(article=article, name=f"Товар {article}", dealer_price=1000)
    found = set(Product.objects.filter(article__iexact=needle).values_list("article", flat=True))
    assert found == {a for a in Product.objects.values_list("article", flat=True) if str(a) == needle}
    both = Product.objects.filter(Q(article__iexact=needle) | Q(name__icontains=needle))
    assert set(both.values_list("article", flat=True)) == found | {
        p.article for p in Product.objects.all() if needle.casefold() in p.name.casefold()
    }


def test_an_article_search_is_an_indexed_comparison_of_numbers():
    Product.objects.create(article=100123, name="Ноутбук", dealer_price=1000)
    sql = str(Product.objects.filter(article__iexact="100123").query)
    assert '"article" = 100123' in sql, sql
    assert "LIKE" not in sql.upper(), sql
    assert "UPPER" not in sql.upper(), sql
    # a needle that is no number leaves the article out of a search: only the name is compared
    searched = Product.objects.filter(Q(article__iexact="PN-0123") | Q(name__icontains="PN-0123")).order_by()
    where = str(searched.query).split("WHERE")[1]
    assert '"article"' not in where, where
    assert '"catalog_product"."name"' in where, where
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            query, params = Product.objects.filter(article__iexact="100123").query.sql_with_params()
            cursor.execute(f"EXPLAIN QUERY PLAN {query}", params)
            plan = " / ".join(row[-1] for row in cursor.fetchall())
        assert "SEARCH catalog_product USING INDEX sqlite_autoindex_catalog_product_1 (article=?)" in plan, plan
