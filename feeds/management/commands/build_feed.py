"""`manage.py build_feed [--output PATH] [--force]`: build, validate and publish the price list now."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from feeds.models import FeedResult
from feeds.services import build_feed
from kaspisync.models import RunStatus, RunTrigger

FAILED_RESULTS = (FeedResult.REJECTED, FeedResult.INVALID)


class Command(BaseCommand):
    help = "Build the Kaspi price list, validate it and publish it (or write it to --output only)."

    def add_arguments(self, parser):
        parser.add_argument("--output", metavar="PATH", help="write the validated file here; publish nothing")
        parser.add_argument(
            "--force", action="store_true", help="publish past the shrink guard (never past validation errors)"
        )

    def handle(self, *args, output=None, force=False, **options):
        version = build_feed(trigger=RunTrigger.COMMAND, force=force, output=output)
        if version.status == RunStatus.SKIPPED:
            raise CommandError(_("Skipped: another build is in progress (version #%(id)s).") % {"id": version.pk})
        self.stdout.write(
            _(
                "Version #%(id)s: %(result)s; %(offers)s offers, %(available)s available, %(size)s bytes, "
                "sha256 %(sha)s."
            )
            % {
                "id": version.pk,
                "result": version.get_result_display(),
                "offers": version.offers,
                "available": version.available_offers,
                "size": version.size,
                "sha": version.sha256[:16],
            }
        )
        counts = version.diff.get("counts")
        if counts:
            self.stdout.write(
                _("Changes: %(added)s added, %(removed)s removed, %(price_changed)s price, %(stock_changed)s stock.")
                % counts
            )
        self.stdout.write(
            _("Validation: %(result)s.")
            % {
                "result": _("passed")
                if not version.errors
                else _("%(count)s error(s)") % {"count": version.stats.get("errors", len(version.errors))}
            }
        )
        for line in [*version.reasons, *version.errors]:
            self.stdout.write(f"  {line}")
        if version.result in FAILED_RESULTS:
            raise CommandError(_("Not published: %(result)s.") % {"result": version.get_result_display()})
