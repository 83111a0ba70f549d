"""Admin pages, the "Import now" buttons and the import_catalog command."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from catalog.models import ImportRun, Product
from catalog.services.importing import import_catalog
from kaspisync import locks
from kaspisync.celery import app as celery_app
from tests.factories import make_staff

from .conftest import TOKEN

pytestmark = pytest.mark.django_db


@pytest.mark.slow
def test_catalog_pages_render_with_quirky_data(raw, admin_client):
    import_catalog()
    product = Product.objects.get(article=raw.find(lambda p: "&" in p["name"] or "<" in p["name"])["article"])
    for name in ("category", "brand", "product", "importrun"):
        page = admin_client.get(reverse(f"admin:catalog_{name}_changelist"))
        assert page.status_code == 200, name
    listing = admin_client.get(reverse("admin:catalog_product_changelist"), {"q": str(product.article)})
    assert str(product.article) in listing.content.decode()
    assert (
        admin_client.get(
            reverse("admin:catalog_product_changelist"), {"in_stock": "yes", "is_active__exact": "1"}
        ).status_code
        == 200
    )
    by_name = admin_client.get(reverse("admin:catalog_product_changelist"), {"q": "Ноутбук"})  # not an article
    assert by_name.status_code == 200
    assert "Ноутбук" in by_name.content.decode()
    with_barcode = Product.objects.exclude(barcode="").first()
    found = admin_client.get(reverse("admin:catalog_product_changelist"), {"q": with_barcode.barcode})
    assert with_barcode in found.context["cl"].result_list, "search by barcode missed the product"
    detail = admin_client.get(reverse("admin:catalog_product_change", args=[product.pk]))
    assert detail.status_code == 200
    assert escape(product.name) in detail.content.decode()  # shown faithfully, escaped
    assert TOKEN not in detail.content.decode()
    run = ImportRun.objects.get()
    assert admin_client.get(reverse("admin:catalog_importrun_change", args=[run.pk])).status_code == 200
    assert admin_client.get(reverse("admin:catalog_product_add")).status_code == 403


def test_import_now_queues_the_task_on_commit(raw, client, django_capture_on_commit_callbacks):
    client.force_login(make_staff("ops", "catalog.view_importrun", "catalog.run_import"))
    page = client.get(reverse("admin:catalog_importrun_changelist"))
    assert "import-now" in page.content.decode()
    celery_app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            response = client.post(reverse("admin:catalog_importrun_quick_now"))
        assert response.status_code == 302
        assert len(callbacks) == 1
        assert not ImportRun.objects.exists()  # nothing ran inside the request
        callbacks[0]()
    finally:
        celery_app.conf.task_always_eager = False
    run = ImportRun.objects.get()
    assert (run.kind, run.trigger, run.triggered_by, run.status) == ("quick", "admin", "ops", "success")


def test_import_now_needs_the_permission(raw, client):
    client.force_login(make_staff("viewer", "catalog.view_importrun"))
    assert client.post(reverse("admin:catalog_importrun_import_now")).status_code == 403
    assert "import-now" not in client.get(reverse("admin:catalog_importrun_changelist")).content.decode()


def test_command_prints_a_summary(raw):
    out = io.StringIO()
    call_command("import_catalog", stdout=out)
    run = ImportRun.objects.get()
    assert run.created == 600
    assert f"{run.pk} " in out.getvalue()
    assert " 600," in out.getvalue()
    out = io.StringIO()
    call_command("import_catalog", "--quick", stdout=out)
    assert ImportRun.objects.filter(kind="quick", status="success", trigger="command").exists()


def test_command_fails_loudly(raw, settings):
    settings.ALSTYLE_TOKEN = "not-the-token-1234"
    with pytest.raises(CommandError) as caught:
        call_command("import_catalog", stdout=io.StringIO())
    assert "401" in str(caught.value)
    assert "not-the-token-1234" not in str(caught.value)
    lock = locks.acquire("catalog.import")
    try:
        with pytest.raises(CommandError):
            call_command("import_catalog", stdout=io.StringIO())
    finally:
        lock.release()
    assert sorted(ImportRun.objects.values_list("status", flat=True)) == ["failed", "skipped"]


def test_unusable_supplier_values_are_listed_in_russian_on_the_run_and_the_product(raw, admin_client):
    """Issue 9, items 2 and 11: the run page names unreadable and absurd values, in Russian; the
    product page says why the product is not sellable and what the supplier sent; a filter finds them."""
    targets = [p for p in raw.products if isinstance(p["price1"], int) and p["price1"] > 1][:3]
    raw.update_product(targets[0]["article"], quantity="много")
    raw.update_product(targets[1]["article"], price1="по запросу")
    raw.update_product(targets[2]["article"], quantity=1e30)
    raw.products.insert(100, dict(raw.products[5]))
    raw.remove_products([])
    run = import_catalog()
    page = admin_client.get(reverse("admin:catalog_importrun_change", args=[run.pk]), HTTP_ACCEPT_LANGUAGE="ru")
    text = page.content.decode()
    assert page.status_code == 200
    for words in (
        "Непригодные значения поставщика",
        "остаток",
        "не читается",
        "вне допустимых пределов",
        "дилерская цена",
        f"{targets[0]['article']}: «много»",
        f"{targets[1]['article']}: «по запросу»",
        f"{targets[2]['article']}: «1e+30»",
        "повторов на разных страницах: 1",
        "разных товаров: 600; повторных записей: 1",
    ):
        assert words in text, words
    assert "out_of_bounds" not in text
    assert "duplicate_across_pages" not in text  # words, never codes

    absurd = Product.objects.get(article=targets[2]["article"])
    detail = admin_client.get(reverse("admin:catalog_product_change", args=[absurd.pk])).content.decode()
    assert "остаток вне допустимых пределов: поставщик прислал «1e+30»" in detail
    listing = admin_client.get(
        reverse("admin:catalog_product_changelist"), {"unsellable_reason__exact": "stock_out_of_bounds"}
    ).content.decode()
    other = Product.objects.get(article=targets[0]["article"])
    link = "admin:catalog_product_change"
    assert reverse(link, args=[absurd.pk]) in listing
    assert reverse(link, args=[other.pk]) not in listing

    runs = admin_client.get(reverse("admin:catalog_importrun_changelist")).content.decode()
    assert "Непригодные значения поставщика" in runs


def test_command_names_unusable_values_and_skipped_records_in_words(raw):
    target = next(p for p in raw.products if isinstance(p["price1"], int) and p["price1"] > 1)
    raw.update_product(target["article"], quantity="много")
    out = io.StringIO()
    with translation.override("en"):
        call_command("import_catalog", stdout=out)
    assert f"stock — unreadable: 1 (e.g. {target['article']}: «много»)" in out.getvalue()
