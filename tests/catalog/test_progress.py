"""Live progress of long runs on their row (issue 13 item 10): written by the service while it
runs, shown by the admin, which refreshes itself, then replaced by the summary."""

import pytest
from django.urls import reverse
from django.utils import translation

from catalog.models import ImportRun
from catalog.services.importing import import_catalog
from tests.factories import make_staff

pytestmark = pytest.mark.django_db


def test_an_import_writes_its_progress_to_its_row_while_it_runs(alstyle, client):
    alstyle(products=600)
    client.force_login(make_staff("boss", superuser=True))
    seen = []

    def watch(done, total):
        run = ImportRun.objects.get()  # what another process (the admin) reads now
        seen.append((run.status, run.stats.get("progress")))
        if len(seen) == 2:
            page = client.get(reverse("admin:catalog_importrun_change", args=[run.pk])).content.decode()
            assert '<meta http-equiv="refresh"' in page, "a running run's page must refresh itself"
            assert "<progress" in page
            assert "чтение товаров" in page
            listing = client.get(reverse("admin:catalog_importrun_changelist")).content.decode()
            assert '<meta http-equiv="refresh"' in listing
            assert "<progress" in listing

    with translation.override("ru"):  # the step is written in the worker's language
        run = import_catalog(progress=watch)
    assert len(seen) >= 2
    status, progress = seen[1]
    assert status == "running"
    assert progress["step"] == "чтение товаров"
    assert progress["done"] > 0, progress
    assert progress["total"] == 600, progress
    run.refresh_from_db()
    assert run.status == "success"
    assert "progress" not in run.stats
    page = client.get(reverse("admin:catalog_importrun_change", args=[run.pk])).content.decode()
    assert '<meta http-equiv="refresh"' not in page, "a finished run's page must not keep refreshing"
