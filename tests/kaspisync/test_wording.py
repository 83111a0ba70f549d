"""Russian grammar in the admin (issue 13 item 8): plurals, cases, genitive dates, "новый"."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from kaspisync import display
from orders.models import Order
from tests.factories import make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss_client(client):
    client.force_login(make_staff("boss", superuser=True))
    return client


@pytest.mark.parametrize(
    ("count", "text"),
    [(1, "1 заказ"), (2, "2 заказа"), (4, "4 заказа"), (5, "5 заказов"), (11, "11 заказов"), (21, "21 заказ")],
)
def test_counts_use_russian_plural_forms(count, text):
    assert display.count_of(count, "orders.order") == text


def make_orders(n):
    at = timezone.make_aware(datetime.datetime(2026, 12, 1, 10, 0))
    for i in range(n):
        Order.objects.create(
            kaspi_id=f"k{i}",
            code=f"70{i}",
            state="NEW",
            status="APPROVED_BY_BANK",
            total_price=Decimal(1000),
            created_at=at,
        )


def test_order_list_reads_in_russian(boss_client):
    make_orders(4)
    page = boss_client.get(reverse("admin:orders_order_changelist")).content.decode()
    assert "4 заказа" in page
    assert "4 заказы" not in page
    assert "<h1>Заказы</h1>" in page, "the list is titled by what it lists"
    assert "новинка" not in page, "NEW is a new order, not a new product"
    assert "новый" in page, "NEW is a new order, not a new product"
    assert "1 декабря" in page, "dates take the genitive"
    assert "1 Декабрь" not in page, "dates take the genitive"


def test_titles_and_section_names(boss_client):
    index = boss_client.get(reverse("admin:index")).content.decode()
    assert ">Товары<" in index
    assert ">Товаров<" not in index
    add_group = boss_client.get(reverse("admin:auth_group_add")).content.decode()
    assert "Добавить группа" not in add_group
    assert "Добавление: группа" in add_group
    versions = boss_client.get(reverse("admin:feeds_feedversion_changelist")).content.decode()
    assert "Выберите версия" not in versions
