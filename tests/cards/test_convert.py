"""Value conversion per Kaspi type (cards.convert): what staff's supplier data looks like."""

import pytest

from cards.convert import ConversionError, convert, enum_key

ALLOWED = {enum_key(v): v for v in ("Intel Core i5", "AMD Ryzen 7", "IPS")}
NAMES = ("Intel Core i5", "AMD Ryzen 7", "IPS")


@pytest.mark.parametrize(
    "raw, expected",
    [
        ('15,6"', 15.6),
        ("2 м", 2),
        ("1 500 Вт", 1500),
        ("0.5 кг", 0.5),
        ("16 ГБ", 16),
        ("2 м (USB 3.0)", 2),
        (48, 48),
        (2.0, 2),
        ("-5 °C", -5),
    ],
)
def test_number_from_supplier_text(raw, expected):
    value = convert("number", False, raw)
    assert value == expected
    assert type(value) is type(expected)  # integral numbers go out as JSON integers


@pytest.mark.parametrize("raw", ["1920x1080", "10-20 кг", "около 5", "8/256GB", "", "да", True])
def test_number_refuses_what_it_would_have_to_guess(raw):
    with pytest.raises(ConversionError) as info:
        convert("number", False, raw)
    assert info.value.kind in ("number", "empty")


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Да", True),
        ("нет", False),
        ("yes", True),
        ("No", False),
        ("1", True),
        ("0", False),
        (True, True),
        ("есть", True),
    ],
)
def test_boolean_words(raw, expected):
    assert convert("boolean", False, raw) is expected


def test_boolean_refuses_other_words():
    with pytest.raises(ConversionError) as info:
        convert("boolean", False, "возможно")
    assert info.value.kind == "boolean"


def test_enum_matches_case_insensitively_and_returns_the_allowed_code():
    assert convert("enum", False, "intel  core I5", ALLOWED, NAMES) == "Intel Core i5"
    assert convert("enum", False, "ips", ALLOWED, NAMES) == "IPS"


def test_enum_refusal_names_the_value_and_the_allowed_ones():
    with pytest.raises(ConversionError) as info:
        convert("enum", False, "Apple M2", ALLOWED, NAMES)
    assert info.value.kind == "enum"
    assert info.value.value == "Apple M2"
    assert info.value.allowed == NAMES


def test_multi_valued_enum_splits_and_deduplicates():
    assert convert("enum", True, "IPS; ips, AMD Ryzen 7", ALLOWED, NAMES) == ["IPS", "AMD Ryzen 7"]


def test_string_is_cleaned_and_limited():
    assert convert("string", False, "  Модель\x0b  X1 ") == "Модель X1"
    with pytest.raises(ConversionError) as info:
        convert("string", False, "x" * 257)
    assert info.value.kind == "text_too_long"
