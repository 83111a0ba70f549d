"""Cells of every spreadsheet export (CSV and XLSX): whatever the data holds, the file downloads
and opens as plain data.

- every text cell goes through `kaspisync.text.strip_controls`: the characters no text we send
  on may carry are removed (C0 controls but tab, newline and carriage return, DEL, C1,
  surrogates, U+FFFE/U+FFFF) — openpyxl refuses them (the XLSX answered 500), and they have no
  business in a cell. Line breaks, tabs and spacing stay (an address or a comment keeps its
  lines), unlike `catalog.text.clean_text`, which folds them for the one-line texts of the price
  list and cards.
- `csv_text`: and text that a spreadsheet would take for a formula (`=`, `+`, `-`, `@` first,
  not a plain number or phone) gets a leading apostrophe (the OWASP advice against CSV injection).
- `xlsx_row`: cells for `Worksheet.append` with text typed as text: openpyxl would otherwise store
  "=HYPERLINK(...)" as a live formula.
"""

import re

from .text import strip_controls

FORMULA_START = ("=", "+", "-", "@")
PLAIN_NUMBER = re.compile(r"[+-]?[\d\s().,]*\d[\d\s().,]*")  # -1500, +7 701 123 45 67


def csv_text(value):
    """A CSV cell: text cleaned and never a formula; other values as they are."""
    if not isinstance(value, str):
        return value
    text = strip_controls(value)
    if text.startswith(FORMULA_START) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def xlsx_row(sheet, values) -> list:
    """Values for `sheet.append`: text as cleaned, text-typed cells; other values as they are."""
    from openpyxl.cell import WriteOnlyCell  # here, like the callers' Workbook: openpyxl is ~6 MB a process

    row = []
    for value in values:
        if isinstance(value, str):
            cell = WriteOnlyCell(sheet, value=strip_controls(value))
            cell.data_type = "s"  # text, even when it starts with "="
            row.append(cell)
        else:
            row.append(value)
    return row
