"""A price list version's page reads in words: sizes as a person reads them, no raw byte counts."""

import re

import pytest
from django.urls import reverse

from feeds.services import build_feed

pytestmark = pytest.mark.django_db


def test_sizes_read_in_kilobytes_not_bytes(admin_client, products, feed):
    products(10)
    version = build_feed()
    assert version.gzip_size > 0
    page = admin_client.get(reverse("admin:feeds_feedversion_change", args=[version.pk])).content.decode()
    page = page.replace("\u00a0", " ")
    assert "Сжатый (gzip)" in page
    assert "Размер gzip, байт" not in page
    assert not re.search(rf">\s*{version.gzip_size}\s*<", page), "the compressed size as a raw number of bytes"


def test_the_versions_list_names_only_what_changed(admin_client, products, feed):
    from catalog.models import Product

    items = products(10)
    build_feed()
    Product.objects.filter(pk__in=[items[0].pk, items[1].pk]).update(sale_price=14_289)
    build_feed()
    listing = admin_client.get(reverse("admin:feeds_feedversion_changelist")).content.decode()
    cells = re.findall(r'<td class="field-diff_column">([^<]*)</td>', listing)
    assert "2 цены изменены" in cells, cells
    assert not any(cell.startswith("0 ") or ", 0 " in cell for cell in cells), cells
