"""Every model change has its migration, and the migration graph has one leaf per app."""

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_models_and_migrations_agree():
    out = StringIO()
    # --check exits non-zero (SystemExit) when a migration is missing; conflicting leaves raise CommandError.
    call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
