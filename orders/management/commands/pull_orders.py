"""`manage.py pull_orders [--days N]`: pull Kaspi orders now, with progress and a summary."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from kaspisync.models import RunStatus, RunTrigger
from orders.services import pull_orders


class Command(BaseCommand):
    help = "Pull orders from Kaspi now (the same service as the schedule), with progress and a summary."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None, help="re-read orders created in the last N days")

    def handle(self, *args, days=None, verbosity=1, **options):
        progress = (lambda message: self.stdout.write(f"  {message}")) if verbosity > 0 else None
        try:
            run = pull_orders(days=days, trigger=RunTrigger.COMMAND, progress=progress)
        except Exception as exc:  # the run row holds the details; the exit status says it failed
            raise CommandError(_("Pull failed: %(error)s") % {"error": exc}) from exc
        if run.status == RunStatus.SKIPPED:
            self.stdout.write(self.style.WARNING(_("Skipped: another pull is in progress.")))
            return
        self.stdout.write(
            _(
                "Pull #%(id)s: %(seen)s orders seen, %(created)s new, %(updated)s updated, %(unchanged)s unchanged, "
                "%(refreshed)s refreshed by code, %(events)s timeline events, %(entries)s entries written "
                "(%(unmatched)s not matched to the catalog), %(requests)s requests, %(errors)s errors, %(duration)s."
            )
            % {
                "id": run.pk,
                "seen": run.orders_seen,
                "created": run.created,
                "updated": run.updated,
                "unchanged": run.unchanged,
                "refreshed": run.refreshed_by_code,
                "events": run.events,
                "entries": run.entries_written,
                "unmatched": run.unmatched_entries,
                "requests": run.requests_made,
                "errors": run.errors,
                "duration": run.duration,
            }
        )
        for message in run.stats.get("error_messages", []):
            self.stderr.write(f"  {message}")
        if run.errors:
            raise CommandError(_("%(n)s orders could not be pulled; the next pull retries them.") % {"n": run.errors})
