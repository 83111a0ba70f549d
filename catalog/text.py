"""Supplier text made safe to publish, one rule for everyone who sends it on (the price list's
XML, Kaspi's product cards):

    clean_text("  Ноутбук\x0b Lenovo   X1 ")  -> "Ноутбук Lenovo X1"

Removed: the characters no text we send on may carry (`kaspisync.text.CONTROL`: C0 controls but
tab, newline and CR, DEL, C1, surrogates, U+FFFE/U+FFFF). Whitespace runs become one space; the
ends are trimmed. The catalog stores supplier text faithfully (catalog.normalize); this is applied
where the text leaves for Kaspi.

Pure: nothing here needs Django settings.
"""

import re

from kaspisync.text import CONTROL as _CONTROL

_SPACES = re.compile(r"\s+")


def clean_text(value) -> str:
    """Control characters removed, whitespace collapsed, trimmed ("" for None or "")."""
    if not value:
        return ""
    if value.isprintable():  # no control and no whitespace but " " (checked in C)
        if "  " not in value and value[0] != " " != value[-1]:
            return value  # the common case
        return " ".join(value.split())
    return _SPACES.sub(" ", _CONTROL.sub("", str(value))).strip()
