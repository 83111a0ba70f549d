"""`python manage.py send_alerts [--wait SECONDS]`: send what waits in the alert outbox now."""

from django.core.management.base import BaseCommand, CommandError

from alerts.services import send_pending


class Command(BaseCommand):
    help = "Send the alerts waiting in the outbox (Telegram, e-mail) in the foreground."

    def add_arguments(self, parser):
        parser.add_argument(
            "--wait",
            type=float,
            default=120,
            help="also wait up to this many seconds for messages due again soon (e.g. after Telegram's "
            "'retry after'); 0: only what is due now (default 120)",
        )

    def handle(self, *args, wait=120, **options):
        report = send_pending(wait=max(0.0, wait))
        for error in report.errors:
            self.stderr.write(error)
        self.stdout.write(str(report))
        if report.failed or report.uncertain or report.refused_channels:
            raise CommandError(str(report))
