"""Fixtures for the product cards: the Kaspi sandbox with its content API mounted, the Al-Style
sandbox (tests.catalog's fixture), a small catalog in mapped categories."""

from decimal import Decimal

import pytest

from cards.models import KaspiCategory
from cards.services.classification import load_attributes, refresh_categories
from cards.services.mapping import import_mapping
from catalog.models import Brand, Category, Product
from kaspisync.sandbox.kaspi import KaspiSandbox
from kaspisync.sandbox.kaspi_content import API_PREFIX
from tests.catalog.conftest import TOKEN as ALSTYLE_TOKEN  # noqa: F401
from tests.catalog.conftest import alstyle  # noqa: F401  (the Al-Style sandbox fixture)

TOKEN = "kaspi-content-token-3b8e11"
NB = "Notebooks*Obshie harakteristiki.notebooks"


@pytest.fixture
def content(settings, serve):
    """`content(**options)` -> the KaspiContentSandbox a Kaspi sandbox serves over HTTP (its
    faults: `content.kaspi.inject(...)`); settings point the content client at it with quick
    retries and polls."""

    def start(**kwargs):
        kaspi = KaspiSandbox([{"sku": "AS1", "name": "x", "price": 1, "brand": ""}], token=TOKEN)
        sandbox = kaspi.content
        for name, value in {"uploaded_seconds": 0.05, "processing_seconds": 0.05, **kwargs}.items():
            setattr(sandbox, name, value)
        sandbox.server = serve(kaspi)
        settings.KASPI_CONTENT_API_URL = sandbox.server.base + API_PREFIX
        settings.KASPI_TOKEN = TOKEN
        settings.KASPI_BACKOFF_BASE = 0.01
        settings.KASPI_MAX_ATTEMPTS = 3
        settings.HTTP_CONNECT_TIMEOUT = 2
        settings.HTTP_READ_TIMEOUT = 1
        settings.CARDS_POLL_INTERVAL = 0.02
        settings.CARDS_POLL_TIMEOUT = 10
        return sandbox

    return start


@pytest.fixture
def catalog(db):
    """Two Al-Style categories (notebooks under computers) and a few products."""
    root = Category.objects.create(id=3507, name="Компьютеры и ноутбуки", level=1, left=1, right=6)
    notebooks = Category.objects.create(id=3514, name="Ноутбуки", parent=root, level=2, left=2, right=5)
    gaming = Category.objects.create(id=3521, name="Игровые ноутбуки", parent=notebooks, level=3, left=3, right=4)
    lenovo = Brand.objects.create(name="Lenovo")

    def product(article, **fields):
        values = {
            "name": f"Ноутбук Lenovo X{article}",
            "category": gaming,
            "brand": lenovo,
            "images": [f"http://img.al-style.kz/{article}_1.jpg"],
            "weight": Decimal("2.150"),
            "description": "<p>Игровой ноутбук &amp; гарантия</p>",
            "dealer_price": 100_000,
            **fields,
        }
        return Product.objects.create(article=article, **values)

    return {"root": root, "notebooks": notebooks, "gaming": gaming, "brand": lenovo, "product": product}


def notebook_properties(**overrides):
    values = {
        "Диагональ экрана": '15,6"',
        "Процессор": "Intel Core i5",
        "Объем оперативной памяти": "16 ГБ",
        "Подсветка клавиатуры": "Да",
        "Цвет": "черный",
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


NOTEBOOK_MAPPING = {
    "alstyle_category": 3514,
    "kaspi_category": "Master - Notebooks",
    "attributes": [
        {"code": f"{NB}*diagonal", "property": "Диагональ экрана"},
        {"code": f"{NB}*processor", "property": "Процессор"},
        {"code": f"{NB}*ram", "property": "Объем оперативной памяти"},
        {"code": f"{NB}*keyboard backlight", "property": "Подсветка клавиатуры"},
        {"code": f"{NB}*color", "property": "Цвет"},
    ],
}


@pytest.fixture
def mapped(content, catalog, django_capture_on_commit_callbacks):
    """The content sandbox started, Kaspi's classification cached, Ноутбуки mapped."""
    sandbox = content()
    import_mapping({"categories": [NOTEBOOK_MAPPING]}, user="test")
    return sandbox


def set_properties(product, values):
    from django.utils import timezone

    from cards.models import AlstyleProperties

    AlstyleProperties.objects.update_or_create(
        product=product, defaults={"values": values, "fetched_at": timezone.now()}
    )


__all__ = ["KaspiCategory", "load_attributes", "refresh_categories"]
