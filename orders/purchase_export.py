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


def to_xlsx(result: PurchaseList) -> bytes:
    from openpyxl import Workbook  # here, not at the top: ~6 MB every process importing the admin would carry
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    headers = _headers()
    bold = Font(bold=True)
    used: set[str] = set()
    groups = grouped_rows(result)
    if not groups:
        sheet = book.create_sheet(_sheet_title(_("Purchase list"), used))
        sheet.append(headers)
        sheet.append([_("Nothing to buy.")])
    for code, rows in groups.items():
        sheet = book.create_sheet(_sheet_title(_group_label(code), used))
        sheet.append(headers)
        for cell in sheet[1]:
            cell.font = bold
        for row in rows:
            sheet.append(xlsx_row(sheet, [v.replace(tzinfo=None) if isinstance(v, datetime) else v for v in row]))
            sheet.cell(row=sheet.max_row, column=11).number_format = "DD.MM.YYYY HH:MM"
        costs = [row[7] for row in rows if row[7] is not None]
        weights = [row[8] for row in rows if row[8] is not None]
        units = sum(row[5] for row in rows)
        weight = sum(weights, Decimal(0)) if weights else None  # none known: no total (not "0 kg")
        sheet.append([_("Total"), None, None, None, None, units, None, sum(costs), weight])
        for cell in sheet[sheet.max_row]:
            cell.font = bold
        sheet.freeze_panes = "A2"
        for column, width in zip("ABCDEFGHIJKL", (18, 10, 18, 50, 14, 10, 14, 14, 10, 30, 18, 60)):
            sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
