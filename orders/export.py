"""Export of an order list (one row per entry) to CSV and XLSX. Rows come from
`selectors.export_rows`; this module only formats them (cells through kaspisync.export: any
text downloads, none becomes a formula)."""

import csv
import io
from datetime import datetime
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from kaspisync.export import csv_text, xlsx_row

from .models import DeliveryMode, OrderState, OrderStatus, PaymentMode


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


# Columns holding Kaspi's codes: exported in words, like the admin shows them.
CHOICES = {"state": OrderState, "status": OrderStatus, "payment_mode": PaymentMode, "delivery_mode": DeliveryMode}


def _in_words(choices, value):
    return str(choices(value).label) if value in choices.values else value


def _rows(rows):
    rows = iter(rows)
    labels = _labels()
    names = next(rows)
    yield [labels.get(name, name) for name in names]
    for row in rows:
        yield [_cell(_in_words(CHOICES[n], v) if n in CHOICES else v) for n, v in zip(names, row)]


def _csv_value(value):
    """Russian Excel: dates as day.month.year, decimals with a comma."""
    if isinstance(value, datetime):
        return value.strftime("%d.%m.%Y %H:%M")
    if isinstance(value, Decimal | float):
        return str(value).replace(".", ",")
    return value


def to_csv(rows) -> bytes:
    """Semicolon-separated, decimal comma, UTF-8 with BOM: Russian Excel opens it in columns."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    for row in _rows(rows):
        writer.writerow([csv_text(_csv_value(v)) for v in row])
    return ("\ufeff" + out.getvalue()).encode()  # BOM: Excel reads the file as UTF-8


def to_xlsx(rows) -> bytes:
    from openpyxl import Workbook  # here, not at the top: 15 MB every web and worker process would carry

    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Orders"))
    for row in _rows(rows):
        sheet.append(xlsx_row(sheet, row))  # openpyxl writes Decimal as a number
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
