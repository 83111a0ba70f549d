"""Export of an order list (one row per entry) to CSV and XLSX. Rows come from
`selectors.export_rows`; this module only formats them."""

import csv
import io
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook


def _labels() -> dict:
    return {
        "code": _("Order number"),
        "created_at": _("Created"),
        "state": _("State"),
        "status": _("Status"),
        "total_price": _("Total, ₸"),
        "payment_mode": _("Payment mode"),
        "delivery_mode": _("Delivery mode"),
        "is_kaspi_delivery": _("Kaspi Delivery"),
        "city": _("City"),
        "delivery_cost_for_seller": _("Delivery cost for seller, ₸"),
        "customer_name": _("Customer"),
        "customer_phone": _("Phone"),
        "delivery_address": _("Delivery address"),
        "sku": _("SKU"),
        "product_article": _("Article"),
        "name": _("Product"),
        "quantity": _("Quantity"),
        "base_price": _("Unit price, ₸"),
        "entry_total": _("Line total, ₸"),
        "dealer_cost": _("Dealer cost, ₸"),
        "commission": _("Kaspi commission, ₸"),
        "line_margin": _("Line margin, ₸"),
    }


def _cell(value):
    if isinstance(value, datetime):
        return timezone.localtime(value).replace(tzinfo=None)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if value is None:
        return ""
    return value


def _rows(rows):
    rows = iter(rows)
    labels = _labels()
    yield [labels.get(name, name) for name in next(rows)]
    for row in rows:
        yield [_cell(v) for v in row]


def to_csv(rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in _rows(rows):
        writer.writerow([v.strftime("%Y-%m-%d %H:%M") if isinstance(v, datetime) else v for v in row])
    return ("\ufeff" + out.getvalue()).encode()  # BOM: Excel opens Cyrillic UTF-8 correctly


def to_xlsx(rows) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Orders"))
    for row in _rows(rows):
        sheet.append(row)  # openpyxl writes Decimal as a number
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
