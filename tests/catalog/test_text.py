"""catalog.text.clean_text: supplier text made safe to publish (price list and cards share it)."""

from catalog.text import clean_text


def test_clean_text_removes_controls_and_surrogates():
    assert clean_text("a\x01b\x1fc\ud800d\ufffee \u00a0 f") == "abcde f"
    assert clean_text(None) == ""


def test_clean_text_collapses_whitespace_and_keeps_clean_text_as_it_is():
    assert clean_text("  Ноутбук\x0b Lenovo \t\n  X1 ") == "Ноутбук Lenovo X1"
    assert clean_text("\x7fDEL\x85 and C1\x9f") == "DEL and C1"
    text = 'Кабель "USB-C" & <Lightning> 1 м'
    assert clean_text(text) is text
