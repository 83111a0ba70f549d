import pytest
from django.utils import translation

from catalog.models import Product
from catalog.sku import merchant_sku
from kaspisync.sandbox.kaspi import KaspiSandbox
from orders.kaspi import KaspiClient

TOKEN = "kaspi-test-token-5f3a9c"
ARTICLES = [20901, 20902, 20903, 20904]


@pytest.fixture
def sandbox_products(db):
    products = [
        {"sku": merchant_sku(a, "AS"), "name": f"Ноутбук {a}", "price": 100_000 + a % 100 * 1000, "brand": "Lenovo"}
        for a in ARTICLES
    ]
    products.append({"sku": "FOREIGN77", "name": "Чужой товар", "price": 5_000, "brand": "Other"})
    return products


@pytest.fixture
def catalog_products(db):
    """Catalog products whose articles match the sandbox SKUs (FOREIGN77 has none)."""
    return {a: Product.objects.create(article=a, name=f"Ноутбук {a}", dealer_price=80_000) for a in ARTICLES}


@pytest.fixture
def kaspi(settings, sandbox_products, serve):
    """Start a Kaspi emulator over real HTTP: `kaspi(orders=N, ...)` -> sandbox (with .server);
    settings point the client at it, retries are quick."""

    def start(**kwargs):
        sandbox = KaspiSandbox(kwargs.pop("products", sandbox_products), token=TOKEN, **kwargs)
        sandbox.server = serve(sandbox)
        settings.KASPI_API_URL = sandbox.server.url
        settings.KASPI_TOKEN = TOKEN
        settings.KASPI_BACKOFF_BASE = 0.01
        settings.KASPI_MAX_ATTEMPTS = 3
        settings.HTTP_CONNECT_TIMEOUT = 2
        settings.HTTP_READ_TIMEOUT = 2
        settings.ORDERS_ENTRY_WORKERS = 4
        return sandbox

    return start


@pytest.fixture
def client_for(settings):
    def make(**kwargs):
        return KaspiClient(**kwargs)

    return make


@pytest.fixture
def english():
    """Messages in English (the UI default is Russian): for tests that read diagnoses."""
    with translation.override("en"):
        yield
