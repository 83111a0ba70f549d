"""Order pages read in words (issue 13 item 7): a pull's counters, empty values, dates."""

import re

import pytest
from django.urls import reverse

from orders.models import Order, PullRun
from orders.services import pull_orders

pytestmark = pytest.mark.django_db


def readonly_values(page: str) -> dict[str, str]:
    """{label: value} of a read-only admin page's fields, as text."""
    rows = re.findall(r"<label>(.*?):</label>\s*<div class=\"readonly\">(.*?)</div>", page, flags=re.S)
    return {label: re.sub(r"<[^>]+>", "", re.sub(r"<br\s*/?>", "\n", value)).strip() for label, value in rows}


def test_a_pull_run_page_names_every_counter_in_russian(admin_client, kaspi, catalog_products):
    kaspi(orders=6)
    pull_orders(days=1)
    run = PullRun.objects.get()
    assert {"windows", "sku_lookups", "entries_fetched", "error_messages"} <= set(run.stats)
    values = readonly_values(admin_client.get(reverse("admin:orders_pullrun_change", args=[run.pk])).content.decode())
    statistics = values["Статистика"]
    names = [line.split(":")[0].strip() for line in statistics.splitlines()]
    assert len(names) >= 4, statistics
    for name in names:
        assert re.search("[а-яё]", name), f"a counter named in English: {name!r} ({statistics!r})"


def test_empty_values_read_as_a_dash_everywhere(admin_client, kaspi, catalog_products):
    kaspi().add_order()
    pull_orders(days=1)
    order = Order.objects.get()
    values = readonly_values(admin_client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode())
    assert values["Принят"] == "—", values  # not accepted yet: Django's "-" would read as a minus
    run = PullRun.objects.get()
    values = readonly_values(admin_client.get(reverse("admin:orders_pullrun_change", args=[run.pk])).content.decode())
    assert values["Кем запущен"] == "—", values
    assert values["Ошибка"] == "—", values
