"""The purchase list as files for Al-Style's manager: CSV and XLSX, grouped by Al-Style warehouse.

Each line of the list gives one row per warehouse it takes units from (`Line.allocation`);
units Al-Style has without saying where, and units it does not have, get groups of their own.
CSV is what Russian Excel opens in columns by a double click: `;`-separated, decimal comma,
UTF-8 with a BOM. XLSX has one sheet per group, each with a totals row.

The files are meant to leave the company: they carry what the supplier needs (articles, units,
dealer prices, weight, our order numbers for reference, stock notes) and never customer data,
margins or sale prices, whoever exports them.
"""

import csv
import io
import re
from datetime import datetime
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from kaspisync.export import csv_text, xlsx_row
from kaspisync.text import strip_controls

from .purchase_list import DISCONTINUED, NOT_STATED, SHORT, PurchaseList, warehouse_label

SHORT_GROUP = None  # the group of units Al-Style does not have
SUPPLIER_NOTES = (SHORT, DISCONTINUED)  # warnings that concern Al-Style (not our margins)
WEIGHT = Decimal("0.001")
DATE_COLUMN = 10  # "Earliest planned delivery"
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def _group_label(code: str | None) -> str:
    if code == SHORT_GROUP:
        return _("Al-Style does not have it")
    if code == NOT_STATED:
        return _("Al-Style, warehouse not stated")
    return warehouse_label(code)


def _headers() -> list[str]:
    return [
        _("Warehouse"),
        _("Article"),
        _("Part number"),
        _("Product"),
        _("Brand"),
        _("Units to buy"),
        _("Dealer price, ₸"),
        _("Cost, ₸"),
        _("Weight, kg"),
        _("Orders"),
        _("Earliest planned delivery"),
        _("Notes"),
    ]


def grouped_rows(result: PurchaseList) -> dict[str | None, list[list]]:
    """{warehouse code (or NOT_STATED / SHORT_GROUP): rows}, groups in a stable order."""
    groups: dict[str, list[list]] = {}
    for line in result.lines:
        parts = dict(line.allocation)
        if line.short:
            parts[SHORT_GROUP] = line.short
        dates = [o.planned_delivery_at for o in line.orders if o.planned_delivery_at]
        orders = ", ".join(o.code for o in line.orders)
        earliest = timezone.localtime(min(dates)) if dates else None
        notes = " ".join(w.text for w in line.warnings if w.kind in SUPPLIER_NOTES)
        for code, count in parts.items():
            row = [
                _group_label(code),
                line.article,
                line.part_number,
                line.name,
                line.brand,
                count,
                line.dealer_price,
                None if line.dealer_price is None else line.dealer_price * count,
                None if line.weight is None else (line.weight * count).quantize(WEIGHT),
                orders,
                earliest,
                notes,
            ]
            groups.setdefault(code, []).append(row)
    # warehouses by name, then units whose warehouse Al-Style does not state, then missing units
    order = sorted(groups, key=lambda c: (c is SHORT_GROUP, c == NOT_STATED, _group_label(c), c or ""))
    return {code: groups[code] for code in order}


def _csv_value(value):
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%d.%m.%Y %H:%M")
    if isinstance(value, Decimal):
        return format(value, "f").replace(".", ",")
    return value


def to_csv(result: PurchaseList) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(_headers())
    for rows in grouped_rows(result).values():
        for row in rows:
            writer.writerow([csv_text(_csv_value(v)) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM: Excel reads UTF-8 Cyrillic


def _sheet_title(label: str, used: set[str]) -> str:
    title = _SHEET_FORBIDDEN.sub(" ", strip_controls(label)).strip()[:31] or "-"
    base, n = title, 2
    while title.lower() in used:
        suffix = f" ({n})"
        title, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(title.lower())
    return title


def _styled(sheet, values, **style) -> list:
    """Cells of a write-only sheet with one style (openpyxl styles cell by cell there)."""
    from openpyxl.cell import WriteOnlyCell

    cells = []
    for value in values:
        cell = WriteOnlyCell(sheet, value=value)
        for name, setting in style.items():
            setattr(cell, name, setting)
        cells.append(cell)
    return cells


def to_xlsx(result: PurchaseList) -> bytes:
    """Write-only (streamed, as orders.export): thousands of lines cost a fraction of a
    workbook held cell by cell in memory."""
    from openpyxl import Workbook  # here, not at the top: ~6 MB every process importing the admin would carry
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    headers = _headers()
    bold = Font(bold=True)
    used: set[str] = set()
    groups = grouped_rows(result) or {"": None}
    for code, rows in groups.items():
        label = _group_label(code) if rows is not None else _("Purchase list")
        sheet = book.create_sheet(_sheet_title(label, used))
        for column, width in zip("ABCDEFGHIJKL", (18, 10, 18, 50, 14, 10, 14, 14, 10, 30, 18, 60)):
            sheet.column_dimensions[column].width = width
        sheet.freeze_panes = "A2"
        sheet.append(_styled(sheet, headers, font=bold))
        if rows is None:
            sheet.append([_("Nothing to buy.")])
            continue
        for row in rows:
            cells = xlsx_row(sheet, row)
            if isinstance(row[DATE_COLUMN], datetime):  # Almaty time; Excel has no time zones
                when = row[DATE_COLUMN].replace(tzinfo=None)
                cells[DATE_COLUMN] = _styled(sheet, [when], number_format="DD.MM.YYYY HH:MM")[0]
            sheet.append(cells)
        costs = [row[7] for row in rows if row[7] is not None]
        weights = [row[8] for row in rows if row[8] is not None]
        units = sum(row[5] for row in rows)
        weight = sum(weights, Decimal(0)) if weights else None  # none known: no total (not "0 kg")
        totals = [_("Total"), None, None, None, None, units, None, sum(costs), weight]
        sheet.append(_styled(sheet, totals, font=bold))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
