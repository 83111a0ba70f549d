"""Check every connection the portal depends on and say what to fix, in words.

    python manage.py check_connections [--skip-external]

Runs the checks the apps registered (kaspisync.registry): the database and the Celery broker
(kaspisync), the feed URL configuration (feeds), the Al-Style API (catalog: one cheap `date` call
inside the shared rate limit), the Kaspi Shop API (orders: `GET /cities`), and the alert channels
(alerts: Telegram's `getMe` with the bot token, a connection to the mail server). `--skip-external`
leaves out the outside services. Secrets are never printed. Exit status 1 when any check fails.
"""

from django.core.management.base import BaseCommand

from kaspisync import registry
from kaspisync.http import ExternalServiceError
from kaspisync.secrets import mask


class Command(BaseCommand):
    help = "Check the database, broker, Al-Style and Kaspi APIs and the feed configuration."

    def add_arguments(self, parser):
        parser.add_argument("--skip-external", action="store_true", help="only local checks (database, broker, feed)")

    def handle(self, *args, skip_external=False, **options):
        failed = 0
        for check in registry.connection_checks():
            if skip_external and check.external:
                continue
            try:
                detail = check.check()
            except ExternalServiceError as exc:
                failed += 1
                self.stdout.write(self.style.ERROR(f"FAIL {check.name:9} {exc}"))
            except Exception as exc:  # any failure becomes a line for the operator, never a traceback
                failed += 1
                self.stdout.write(self.style.ERROR(f"FAIL {check.name:9} {mask(f'{type(exc).__name__}: {exc}')}"))
            else:
                self.stdout.write(self.style.SUCCESS(f"ok   {check.name:9} {detail}"))
        if failed:
            raise SystemExit(1)
