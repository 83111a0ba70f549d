"""`manage.py import_catalog [--quick]`: the import service with a progress bar, a one-line summary and
what could not be used, in words; non-zero exit on failure."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from catalog.services.importing import import_catalog
from kaspisync.display import fact_label
from kaspisync.models import RunStatus, RunTrigger


class Command(BaseCommand):
    help = "Import the Al-Style catalog now (the same service as the schedule), with a progress bar and a summary."

    def add_arguments(self, parser):
        parser.add_argument("--quick", action="store_true", help="only refresh prices and stock (one request)")

    def handle(self, *args, quick=False, **options):
        bar = self._progress_bar()
        try:
            run = import_catalog(
                quick=quick, trigger=RunTrigger.COMMAND, progress=bar.update_to if bar is not None else None
            )
        except Exception as exc:  # the run row holds the details; the exit status says it failed
            raise CommandError(_("Import failed: %(error)s") % {"error": exc}) from None
        finally:
            if bar is not None:
                bar.close()
        if run.status == RunStatus.SKIPPED:
            raise CommandError(_("Skipped: another catalog import is in progress (run #%(id)s).") % {"id": run.pk})
        skipped = ", ".join(f"{fact_label(reason)} {count}" for reason, count in sorted(run.skipped.items())) or "0"
        self.stdout.write(
            _(
                "Import #%(id)s (%(kind)s): %(created)s created, %(updated)s updated, %(unchanged)s unchanged, "
                "%(deactivated)s deactivated, skipped: %(skipped)s; %(requests)s requests in %(duration)s."
            )
            % {
                "id": run.pk,
                "kind": run.get_kind_display(),
                "created": run.created,
                "updated": run.updated,
                "unchanged": run.unchanged,
                "deactivated": run.deactivated,
                "skipped": skipped,
                "requests": run.requests_made,
                "duration": _("%(seconds).1f s") % {"seconds": run.duration.total_seconds()},
            }
        )
        for row in run.value_problem_rows():
            examples = "; ".join(f"{article}: «{value}»" for article, value in row["examples"])
            self.stdout.write(
                self.style.WARNING(
                    _("Unusable supplier values: %(field)s — %(problem)s: %(count)s (e.g. %(examples)s)")
                    % {**row, "examples": examples}
                )
            )
        if run.stats.get("deactivation_skipped"):
            self.stdout.write(
                self.style.WARNING(
                    _("Missing products were not deactivated: %(reason)s")
                    % {"reason": run.stats["deactivation_skipped"]}
                )
            )

    def _progress_bar(self):
        """A tqdm bar on a terminal only (logs and pipes get the summary line)."""
        if not self.stdout.isatty():
            return None
        from tqdm import tqdm

        class Bar(tqdm):
            def update_to(self, done, total):
                self.total = total
                self.update(done - self.n)

        return Bar(unit=_("products"), desc=_("Al-Style"), file=self.stdout._out, leave=False)
