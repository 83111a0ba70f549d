"""Check every connection the portal depends on and say what to fix, in words.

    python manage.py check_connections [--skip-external]

Database, Celery broker, Al-Style API (one cheap `date` call, inside the shared rate limit),
Kaspi Shop API (`GET /cities`), and the feed URL configuration. Secrets are never printed.
Exit status 1 when any check fails.
"""

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection

from kaspisync.celery import app as celery_app
from kaspisync.http import ExternalServiceError
from kaspisync.secrets import mask


def _database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return f"{connection.vendor} ({connection.settings_dict['NAME']})"


def _broker():
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=5)
        return mask(conn.as_uri())


def _alstyle():
    from catalog.alstyle import AlstyleClient

    client = AlstyleClient(max_attempts=1)
    answer = client.get("date")
    return f"{settings.ALSTYLE_API_URL} — {str(answer)[:80]}"


def _kaspi():
    from orders.kaspi import KaspiClient

    cities = KaspiClient(max_attempts=1).cities()
    return f"{settings.KASPI_API_URL} — {len(cities)} cities"


def _feed():
    if not settings.FEED_TOKEN:
        raise RuntimeError("FEED_TOKEN is empty: the price list is not served; set it and give Kaspi the URL")
    if len(settings.FEED_TOKEN) < 16:
        raise RuntimeError("FEED_TOKEN is shorter than 16 characters: anyone could guess the price list URL")
    return "/feeds/<FEED_TOKEN>/kaspi.xml is served"


class Command(BaseCommand):
    help = "Check the database, broker, Al-Style and Kaspi APIs and the feed configuration."

    def add_arguments(self, parser):
        parser.add_argument("--skip-external", action="store_true", help="only local checks (database, broker, feed)")

    def handle(self, *args, skip_external=False, **options):
        checks = [("database", _database), ("broker", _broker), ("feed", _feed)]
        if not skip_external:
            checks += [("al-style", _alstyle), ("kaspi", _kaspi)]
        failed = 0
        for name, check in checks:
            try:
                detail = check()
            except ExternalServiceError as exc:
                failed += 1
                self.stdout.write(self.style.ERROR(f"FAIL {name:9} {exc}"))
            except Exception as exc:  # any failure becomes a line for the operator, never a traceback
                failed += 1
                self.stdout.write(self.style.ERROR(f"FAIL {name:9} {mask(f'{type(exc).__name__}: {exc}')}"))
            else:
                self.stdout.write(self.style.SUCCESS(f"ok   {name:9} {detail}"))
        if failed:
            raise SystemExit(1)
