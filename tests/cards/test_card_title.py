"""A card's title carries no category prefix (kaspi-content-api.md, card schema: `title` "without a
category prefix such as "Смартфон""): the leading words that repeat the Kaspi category's title
are left out, in the card that is built and in what the upload sends."""

import pytest

from cards.card import title_without_category
from cards.services.upload import upload_cards

from .conftest import notebook_properties, set_properties


@pytest.mark.parametrize(
    ("name", "category", "title"),
    [
        ("Смартфон Apple iPhone 15 128GB", "Смартфоны", "Apple iPhone 15 128GB"),  # the guide's example
        ("Тетрадь 48 листов А5 клетка", "Тетради", "48 листов А5 клетка"),
        ("мышь Logitech M185", "Мыши", "Logitech M185"),
        ("Чехол для iPhone 15", "Чехлы", "для iPhone 15"),
        ("Блок питания FSP 500W", "Блоки питания", "FSP 500W"),
        ("Кабель HDMI 2 м", "Кабели и переходники", "HDMI 2 м"),
        ("Ноутбук, Lenovo X1", "Ноутбуки", "Lenovo X1"),
        # left as they are: no category word first, another word, or nothing would remain
        ("Apple iPhone 15 128GB", "Смартфоны", "Apple iPhone 15 128GB"),
        ("Смарт-часы Xiaomi", "Смартфоны", "Смарт-часы Xiaomi"),
        ("Чайник Bosch", "Чай", "Чайник Bosch"),
        ("Смартфон", "Смартфоны", "Смартфон"),
        ("Ноутбук Lenovo", "", "Ноутбук Lenovo"),
        ("Ноутбук Lenovo", "Notebooks", "Ноутбук Lenovo"),
    ],
)
def test_the_leading_words_naming_the_category_are_left_out(name, category, title):
    assert title_without_category(name, category) == title


@pytest.mark.django_db
def test_the_upload_sends_titles_without_the_category_word(mapped, catalog):
    # Kaspi's category "Ноутбуки" (the content sandbox's classification): its products are "Ноутбук …"
    assert mapped.categories["Master - Notebooks"]["title"] == "Ноутбуки"
    named = catalog["product"](21000, name="Ноутбук Lenovo IdeaPad 3")
    plain = catalog["product"](21001, name="Lenovo ThinkPad E14")
    for product in (named, plain):
        set_properties(product, notebook_properties())
    run = upload_cards()
    assert run.status == "success", run.error
    assert run.created == 2
    (sent,) = [imp["cards"] for imp in mapped.imports.values()]
    assert sorted(card["title"] for card in sent) == ["Lenovo IdeaPad 3", "Lenovo ThinkPad E14"]
