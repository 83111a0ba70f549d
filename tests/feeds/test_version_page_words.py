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
    assert "Сжатый (gzip)" in page and "Размер gzip, байт" not in page
    assert not re.search(rf">\s*{version.gzip_size}\s*<", page), "the compressed size as a raw number of bytes"
