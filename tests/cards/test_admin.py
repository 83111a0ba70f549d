"""Admin pages and actions of the cards, per permission."""

import pytest
from django.urls import reverse

from cards.models import AttributeMapping, CardStatus, CategoryMapping, ProductCard, UploadRun
from cards.services.readiness import refresh_readiness
from cards.services.upload import upload_cards
from kaspisync.celery import app as celery_app
from tests.factories import make_staff

from .conftest import notebook_properties, set_properties

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager():
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


def test_mapping_page_counts_and_buttons(mapped, catalog, admin_client):
    ready = catalog["product"](22001)
    set_properties(ready, notebook_properties())
    catalog["product"](22002, brand=None)
    refresh_readiness()
    page = admin_client.get(reverse("admin:cards_categorymapping_changelist")).content.decode()
    assert "Ноутбуки" in page
    assert "Master - Notebooks" in page
    assert "upload/" in page
    assert "refresh-kaspi/" in page
    assert "read-properties/" in page
    mapping = CategoryMapping.objects.get()
    assert '<td class="field-count_ready">1</td>' in page
    assert '<td class="field-count_not_ready">1</td>' in page
    detail = admin_client.get(reverse("admin:cards_categorymapping_change", args=[mapping.pk])).content.decode()
    assert "processor" in detail
    assert "Intel Core i5" in detail  # every attribute, allowed values
    assert "Процессор" in detail  # the property it is filled from


def test_kaspi_category_autocomplete(mapped, admin_client):
    answer = admin_client.get(
        reverse("admin:autocomplete"),
        {"term": "ноут", "app_label": "cards", "model_name": "categorymapping", "field_name": "kaspi_category"},
    )
    assert answer.status_code == 200
    assert [r["text"] for r in answer.json()["results"]] == ["Ноутбуки (Master - Notebooks)"]


def test_mapping_created_in_the_admin_lists_the_attributes(
    content, catalog, admin_client, django_capture_on_commit_callbacks
):
    content()
    from cards.kaspi_content import KaspiContentClient
    from cards.models import KaspiCategory
    from cards.services.classification import refresh_categories

    refresh_categories(KaspiContentClient())
    mice = KaspiCategory.objects.get(code="Master - Mice")
    answer = admin_client.post(
        reverse("admin:cards_categorymapping_add"),
        {
            "alstyle_category": catalog["notebooks"].pk,
            "kaspi_category": mice.pk,
            "_continue": "1",
            "attributes-TOTAL_FORMS": "0",
            "attributes-INITIAL_FORMS": "0",
        },
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    mapping = CategoryMapping.objects.get()
    assert mapping.attributes.count() == 4
    assert set(mapping.attributes.values_list("source", flat=True)) == {""}
    rows = list(mapping.attributes.order_by("pk"))
    form = {
        "alstyle_category": catalog["notebooks"].pk,
        "kaspi_category": mice.pk,
        "attributes-TOTAL_FORMS": str(len(rows)),
        "attributes-INITIAL_FORMS": str(len(rows)),
        "attributes-MIN_NUM_FORMS": "0",
        "attributes-MAX_NUM_FORMS": "1000",
    }
    for n, row in enumerate(rows):
        form.update(
            {
                f"attributes-{n}-id": row.pk,
                f"attributes-{n}-mapping": mapping.pk,
                f"attributes-{n}-source": "",
                f"attributes-{n}-property_name": "",
                f"attributes-{n}-value": "",
            }
        )
    connection = next(n for n, r in enumerate(rows) if r.attribute.code.endswith("connection"))
    form[f"attributes-{connection}-source"] = "value"
    form[f"attributes-{connection}-value"] = "Bluetooth"  # not allowed
    refused = admin_client.post(reverse("admin:cards_categorymapping_change", args=[mapping.pk]), form)
    assert refused.status_code == 200
    assert "Bluetooth" in refused.content.decode()
    assert "проводная" in refused.content.decode()
    form[f"attributes-{connection}-value"] = "Беспроводная"
    saved = admin_client.post(reverse("admin:cards_categorymapping_change", args=[mapping.pk]), form)
    assert saved.status_code == 302
    row = AttributeMapping.objects.get(attribute__code__endswith="connection")
    assert (row.source, row.value) == ("value", "Беспроводная")


def test_product_list_filter_column_and_page(mapped, catalog, admin_client):
    ready = catalog["product"](22011)
    set_properties(ready, notebook_properties())
    not_ready = catalog["product"](22012, brand=None)
    refresh_readiness()
    changelist = reverse("admin:catalog_product_changelist")

    def articles(status):
        return [p.article for p in admin_client.get(changelist, {"card_status": status}).context["cl"].result_list]

    assert 22011 in articles("ready")
    assert 22012 not in articles("ready")
    assert articles("not_ready").count(22012) == 1
    assert 22011 not in articles("no_mapping")
    detail = admin_client.get(reverse("admin:catalog_product_change", args=[not_ready.pk])).content.decode()
    assert "no brand" in detail or "нет бренда" in detail


def test_create_kaspi_cards_action_needs_the_permission(
    mapped, catalog, client, eager, django_capture_on_commit_callbacks
):
    product = catalog["product"](22021)
    set_properties(product, notebook_properties())
    refresh_readiness()
    changelist = reverse("admin:catalog_product_changelist")
    viewer = make_staff("viewer", "catalog.view_product", "catalog.change_product")
    client.force_login(viewer)
    assert "create_kaspi_cards" not in client.get(changelist).content.decode()
    client.post(changelist, {"action": "create_kaspi_cards", "_selected_action": [product.pk]})
    assert not UploadRun.objects.exists()
    uploader = make_staff("uploader", "catalog.view_product", "catalog.change_product", "cards.upload_cards")
    client.force_login(uploader)
    assert "create_kaspi_cards" in client.get(changelist).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(changelist, {"action": "create_kaspi_cards", "_selected_action": [product.pk]})
    run = UploadRun.objects.get()
    assert (run.sent, run.created, run.triggered_by) == (1, 1, "uploader")
    assert ProductCard.objects.get(product=product).status == CardStatus.CREATED
    detail = client.get(reverse("admin:catalog_product_change", args=[product.pk])).content.decode()
    assert f"#{run.pk}" in detail  # the card history on the product page
    runs = client.get(reverse("admin:cards_uploadrun_changelist"))
    assert runs.status_code == 403  # no view permission on uploads


def test_upload_button_needs_the_permission(mapped, catalog, client, eager, django_capture_on_commit_callbacks):
    product = catalog["product"](22031)
    set_properties(product, notebook_properties())
    refresh_readiness()
    url = reverse("admin:cards_categorymapping_upload")
    client.force_login(make_staff("mapper", "cards.view_categorymapping", "cards.change_categorymapping"))
    assert client.post(url).status_code == 403
    assert client.get(url).status_code in (403, 405)
    client.force_login(
        make_staff(
            "boss", "cards.view_categorymapping", "cards.upload_cards", "cards.view_uploadrun", "cards.view_cardoutcome"
        )
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url).status_code == 302
    run = UploadRun.objects.get()
    assert run.created == 1
    page = client.get(reverse("admin:cards_uploadrun_change", args=[run.pk])).content.decode()
    assert run.batches.get().import_code in page
    outcomes = client.get(
        reverse("admin:cards_cardoutcome_changelist"), {"batch__run__id__exact": run.pk}
    ).content.decode()
    assert "AS22031" in outcomes or product.kaspi_card.sku in outcomes


def test_upload_pages_render_after_every_kind_of_outcome(mapped, catalog, admin_client):
    product = catalog["product"](22041)
    set_properties(product, notebook_properties())
    mapped.kaspi.inject("timeout", path="/import", applied=True, delay=1.5)
    run = upload_cards()
    assert run.unknown == 1
    for name in ("uploadrun", "cardoutcome", "kaspicategory", "categorymapping"):
        assert admin_client.get(reverse(f"admin:cards_{name}_changelist")).status_code == 200, name
    page = admin_client.get(reverse("admin:cards_uploadrun_change", args=[run.pk])).content.decode()
    assert "ответ потерян" in page  # the batch's status in words
    assert admin_client.get(reverse("admin:cards_kaspicategory_add")).status_code == 403


def test_mapping_to_a_kaspi_category_without_attributes_warns_on_save(
    content, catalog, admin_client, django_capture_on_commit_callbacks
):
    content()
    from cards.kaspi_content import KaspiContentClient
    from cards.models import KaspiCategory
    from cards.services.classification import refresh_categories

    refresh_categories(KaspiContentClient())
    computers = KaspiCategory.objects.get(code="Master - Computers")  # not a leaf: no attributes
    answer = admin_client.post(
        reverse("admin:cards_categorymapping_add"),
        {
            "alstyle_category": catalog["notebooks"].pk,
            "kaspi_category": computers.pk,
            "attributes-TOTAL_FORMS": "0",
            "attributes-INITIAL_FORMS": "0",
        },
        follow=True,
    )
    page = answer.content.decode()
    assert "Master - Computers" in page, page[-3000:]
    assert "не конечная" in page, page[-3000:]
