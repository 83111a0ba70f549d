"""Readiness: each product of a mapped category is ready, or not ready with reasons in words."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from cards.card import ProductRow, build_card
from cards.models import CardStatus, CategoryMapping, ProductCard
from cards.reasons import describe_all
from cards.selectors import mapped_specs
from cards.services.mapping import import_mapping
from cards.services.readiness import refresh_readiness
from catalog.sku import merchant_sku
from feeds.selectors import sku_prefix

from .conftest import NB, NOTEBOOK_MAPPING, notebook_properties, set_properties

pytestmark = pytest.mark.django_db


def reasons_of(product) -> list[str]:
    with translation.override("ru"):
        return describe_all(ProductCard.objects.get(product=product).reasons)


def test_a_complete_product_is_ready_and_its_card_is_what_kaspi_documents(mapped, catalog):
    product = catalog["product"](20901, name="  Ноутбук\x0b Lenovo   X1 ")
    set_properties(product, notebook_properties())
    counts = refresh_readiness()
    assert counts == {"ready": 1}
    card_row = ProductCard.objects.get(product=product)
    assert card_row.status == CardStatus.READY
    assert card_row.reasons == []
    assert card_row.sku == merchant_sku(20901, sku_prefix())
    _mapping_id, spec = mapped_specs()[catalog["gaming"].id]  # the subtree of the mapped category
    card, reasons = build_card(
        __import__("cards.selectors", fromlist=["x"]).ProductRow(
            product.id,
            20901,
            product.name,
            "Lenovo",
            product.description,
            product.weight,
            product.images,
            True,
            product.category_id,
        ),
        merchant_sku(20901, sku_prefix()),
        spec,
        notebook_properties(),
    )
    assert reasons == []
    assert list(card) == ["sku", "title", "brand", "category", "description", "weight", "attributes", "images"]
    assert card["title"] == "Lenovo X1"  # without the category's word (Ноутбуки): Kaspi shows it itself
    assert card["description"] == "Игровой ноутбук & гарантия"
    assert card["weight"] == "2.15"
    assert card["category"] == "Master - Notebooks"
    assert card["images"] == [{"url": "http://img.al-style.kz/20901_1.jpg"}]
    values = {a["code"].rsplit("*", 1)[1]: a["value"] for a in card["attributes"]}
    assert values == {
        "diagonal": 15.6,
        "processor": "Intel Core i5",
        "ram": 16,
        "keyboard backlight": True,
        "color": ["черный"],
    }


def test_not_ready_reasons_in_russian_words(mapped, catalog):
    no_brand = catalog["product"](20902, brand=None, images=[])
    set_properties(no_brand, notebook_properties())
    bad_enum = catalog["product"](20903)
    set_properties(bad_enum, notebook_properties(**{"Процессор": "Apple M2"}))
    missing = catalog["product"](20904)
    set_properties(missing, notebook_properties(**{"Диагональ экрана": None}))
    not_a_number = catalog["product"](20905)
    set_properties(not_a_number, notebook_properties(**{"Объем оперативной памяти": "много"}))
    unread = catalog["product"](20906)  # properties never read from Al-Style
    refresh_readiness()
    assert set(ProductCard.objects.values_list("status", flat=True)) == {CardStatus.NOT_READY}
    assert reasons_of(no_brand) == [
        "нет бренда",
        "нет изображения (Kaspi нужна хотя бы одна картинка по http или https)",
    ]
    (enum_reason,) = reasons_of(bad_enum)
    assert "«Apple M2»" in enum_reason
    assert "«processor»" in enum_reason
    assert "«Intel Core i5»" in enum_reason
    assert reasons_of(missing) == [
        "обязательный атрибут «diagonal» не заполнен (нет свойства Al-Style «Диагональ экрана»)"
    ]
    (number_reason,) = reasons_of(not_a_number)
    assert "«много»" in number_reason
    assert "не число" in number_reason
    assert reasons_of(unread) == ["свойства товара из Al-Style ещё не прочитаны"]


def test_a_deeper_mapping_wins_and_unmapping_turns_cards_to_no_mapping(mapped, catalog):
    product = catalog["product"](20907)
    set_properties(product, notebook_properties())
    refresh_readiness()
    assert ProductCard.objects.get(product=product).kaspi_category == "Master - Notebooks"
    import_mapping({"categories": [{"alstyle_category": 3521, "kaspi_category": "Master - Mice", "attributes": []}]})
    refresh_readiness()
    card = ProductCard.objects.get(product=product)
    assert card.kaspi_category == "Master - Mice"
    assert card.status == CardStatus.NOT_READY
    assert "«connection»" in reasons_of(product)[0]
    CategoryMapping.objects.all().delete()
    refresh_readiness()
    card.refresh_from_db()
    assert card.status == CardStatus.NO_MAPPING
    assert card.reasons == []


def test_fixed_values_and_optional_attributes_left_empty(mapped, catalog):
    import_mapping(
        {
            "categories": [
                {
                    **NOTEBOOK_MAPPING,
                    "attributes": [
                        {"code": f"{NB}*diagonal", "value": '15,6"'},
                        {"code": f"{NB}*processor", "value": "amd ryzen 7"},
                        {"code": f"{NB}*ram", "value": 8},
                    ],
                }
            ]
        }
    )
    product = catalog["product"](20908)
    set_properties(product, {})
    refresh_readiness()
    assert ProductCard.objects.get(product=product).status == CardStatus.READY


def test_only_changed_rows_are_written(mapped, catalog, django_assert_max_num_queries):
    for article in range(20910, 20920):
        set_properties(catalog["product"](article), notebook_properties())
    refresh_readiness()
    stamp = list(ProductCard.objects.values_list("checked_at", flat=True))
    refresh_readiness()
    assert list(ProductCard.objects.values_list("checked_at", flat=True)) == stamp


def test_a_title_longer_than_kaspi_allows_is_a_reason(mapped, catalog):
    """The catalog stores names up to 1,000 characters (so no stored product reaches this); the
    card is still checked, as a name could grow past Kaspi's 1,024 after a schema change."""
    product = catalog["product"](20908)
    _mapping_id, spec = mapped_specs()[catalog["gaming"].id]
    row = ProductRow(product.id, 20908, "Ноутбук " + "очень " * 200, "Lenovo", "", None, product.images, True, None)
    _card, reasons = build_card(row, merchant_sku(20908, sku_prefix()), spec, notebook_properties())
    with translation.override("ru"):
        (title_reason,) = describe_all(reasons)
    assert "название слишком длинное" in title_reason
    assert "1024" in title_reason


def test_readiness_makes_no_query_per_product(mapped, catalog, django_assert_max_num_queries):
    def add(start: int, n: int) -> None:
        for article in range(start, start + n):
            set_properties(catalog["product"](article), notebook_properties())

    add(20930, 3)
    with CaptureQueriesContext(connection) as few:
        assert refresh_readiness() == {"ready": 3}
    add(20940, 40)
    ProductCard.objects.all().delete()  # the first computation again: every row written
    with django_assert_max_num_queries(len(few)):
        assert refresh_readiness() == {"ready": 43}
    assert ProductCard.objects.filter(status=CardStatus.READY).count() == 43


def test_a_kaspi_category_without_attributes_is_named_as_probably_not_a_leaf(mapped, catalog):
    """Kaspi takes cards only in leaf categories; its list names no leaves, but a category with
    no attributes at all is not one a card can be made in."""
    import_mapping(
        {"categories": [{"alstyle_category": 3521, "kaspi_category": "Master - Computers", "attributes": []}]}
    )
    product = catalog["product"](20930)
    set_properties(product, notebook_properties())
    refresh_readiness()
    assert ProductCard.objects.get(product=product).status == CardStatus.NOT_READY
    (reason,) = reasons_of(product)
    assert "Master - Computers" in reason, reason
    assert "конечн" in reason, reason
