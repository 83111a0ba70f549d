"""The dashboard says "меньше минуты назад" for what just happened, never "0 минут назад" (one way
to say how long ago: kaspisync.display.since)."""

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.models import ImportRun
from kaspisync.models import RunStatus
from orders.models import PullRun

pytestmark = pytest.mark.django_db


def test_what_just_happened_reads_less_than_a_minute_ago(admin_client):
    now = timezone.now()
    ImportRun.objects.create(started_at=now, finished_at=now, status=RunStatus.SUCCESS)
    PullRun.objects.create(started_at=now, finished_at=now, status=RunStatus.SUCCESS)
    page = admin_client.get(reverse("admin:index")).content.decode().replace("\u00a0", " ")
    assert "0 минут" not in page
    assert page.count("меньше минуты назад") >= 3, "import, pull and their health lines"


def test_every_section_of_the_admin_has_a_russian_name(admin_client):
    from django.apps import apps

    page = admin_client.get(reverse("admin:index")).content.decode()
    assert "Защита входа" in page
    assert ">Axes<" not in page
    for config in apps.get_app_configs():
        if config.models_module is not None and any(True for _ in config.get_models()):
            name = str(config.verbose_name)
            assert any("а" <= ch.lower() <= "я" for ch in name) or name.startswith("Kaspi"), f"{config.label}: {name!r}"


def test_an_empty_list_says_so_and_counts_by_its_name(admin_client):
    page = admin_client.get(reverse("admin:alerts_subscription_changelist")).content.decode()
    assert "Пока ничего нет." in page
    assert "Подписки на оповещения: 0" in page
    assert "всего: 0" not in page
    page = admin_client.get(reverse("admin:orders_order_changelist"), {"q": "нет такого заказа"}).content.decode()
    assert "Ничего не найдено: измените поиск или фильтры." in page
    assert "0 заказов" in page


def test_large_counts_read_with_their_digits_grouped(admin_client):
    from catalog.models import Product

    now = timezone.now()
    Product.objects.bulk_create(Product(article=n, name=f"Товар {n}", dealer_price=1000) for n in range(1, 1201))
    ImportRun.objects.create(started_at=now, finished_at=now, status=RunStatus.SUCCESS, created=1200)
    page = admin_client.get(reverse("admin:index")).content.decode().replace("\u00a0", " ")
    assert "Активных товаров: 1 200" in page
    assert "создано 1 200" in page
