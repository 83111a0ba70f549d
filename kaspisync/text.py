"""The characters no text we send on may carry, one rule for every way out (the price list's XML,
Kaspi's product cards, CSV and XLSX exports):

C0 controls but tab, newline and carriage return (XML 1.0 forbids them), DEL and C1 controls
(legal in XML but they break parsers and spreadsheets in the wild), surrogates and the
non-characters U+FFFE/U+FFFF (not characters: lxml refuses them, so an XLSX could not be written).

`strip_controls(text)` removes them and keeps everything else, spacing included. Where text is
published as one line (the price list, cards), `catalog.text.clean_text` also folds whitespace.
Pure: nothing here needs Django settings.
"""

import re

CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def strip_controls(text: str) -> str:
    """`text` without the characters above; line breaks, tabs and spacing kept."""
    return CONTROL.sub("", text)
