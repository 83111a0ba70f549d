"""Pricing fixtures: a small category tree, brands, products created through the ORM, a staff
client, and Celery in eager mode (the recompute task runs in the test's process, for real)."""

from decimal import Decimal

import pytest

from catalog.models import Brand, Category, CommissionRate, PriceRule
from kaspisync.celery import app as celery_app


@pytest.fixture
def tree(db):
    """Electronics > Computers > Laptops, Electronics > Phones, and Garden (a second root)."""
    electronics = Category.objects.create(id=1, name="Electronics", level=1, left=1, right=8)
    computers = Category.objects.create(id=2, name="Computers", parent=electronics, level=2, left=2, right=5)
    laptops = Category.objects.create(id=3, name="Laptops", parent=computers, level=3, left=3, right=4)
    phones = Category.objects.create(id=4, name="Phones", parent=electronics, level=2, left=6, right=7)
    garden = Category.objects.create(id=5, name="Garden", level=1, left=9, right=10)
    return {"electronics": electronics, "computers": computers, "laptops": laptops, "phones": phones, "garden": garden}


@pytest.fixture
def brands(db):
    return {name: Brand.objects.create(name=name) for name in ("Acer", "Apple", "Gardena")}


@pytest.fixture
def make_product(make_product):
    """Products as an import leaves them before any pricing: `make_product(category, brand,
    dealer_price=100_000, **fields)`, no sale price and no stock yet (tests/factories.py)."""

    def make(category=None, brand=None, dealer_price=100_000, **fields):
        return make_product(
            category=category, brand=brand, dealer_price=dealer_price, **{"sale_price": None, "stock": 0, **fields}
        )

    return make


@pytest.fixture
def zero_commission(db):
    return CommissionRate.objects.create(percent=Decimal("0"))


@pytest.fixture
def global_rule(db):
    return PriceRule.objects.create(name="Everything", markup_percent=Decimal("10"))


@pytest.fixture
def staff(make_staff):
    return make_staff("manager", superuser=True)


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def eager_celery():
    """Tasks run at .delay() in this process (the real task and service, no worker needed)."""
    old = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = old
