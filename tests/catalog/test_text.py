"""catalog.text.clean_text: supplier text made safe to publish (price list and cards share it)."""

import re

from hypothesis import given
from hypothesis import strategies as st

from catalog.text import clean_text

# The rule as the module states it, written plainly: the fast paths must give exactly this.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def stated_rule(text: str) -> str:
    return re.sub(r"\s+", " ", _CONTROL.sub("", text)).strip()


def test_clean_text_removes_controls_and_surrogates():
    assert clean_text("a\x01b\x1fc\ud800d\ufffee \u00a0 f") == "abcde f"
    assert clean_text(None) == ""


def test_clean_text_collapses_whitespace_and_keeps_clean_text_as_it_is():
    assert clean_text("  Ноутбук\x0b Lenovo \t\n  X1 ") == "Ноутбук Lenovo X1"
    assert clean_text("\x7fDEL\x85 and C1\x9f") == "DEL and C1"
    assert clean_text("two  spaces, edges ") == "two spaces, edges"
    text = 'Кабель "USB-C" & <Lightning> 1 м'
    assert clean_text(text) is text


_TRICKY = " \t\n\r\x0b\x0c\x1c\x1f\x85\xa0\u2028\u3000\ud800\ufffe\uffff\x00\x7f\x9f"


@given(st.text(alphabet=st.one_of(st.characters(), st.sampled_from(_TRICKY))))
def test_clean_text_is_the_stated_rule_for_any_text(text):
    assert clean_text(text) == stated_rule(text)
