"""`manage.py upload_cards [--article N ...] [--resend] [--no-wait] [--json]` (a stable interface).

Uploads cards of ready products that have none yet (or of the given articles), waits for Kaspi's
result unless --no-wait, prints a summary; with --json the last line is one JSON object with
sent, created, errors, not_ready (and more). Exits non-zero when the upload could not be made
(bad token, Kaspi down) or its outcome is unknown (answer lost); cards Kaspi refused alone do not
fail the command.
"""

import json as jsonlib

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from cards.models import BatchStatus
from cards.services.upload import UploadFailed, upload_cards
from kaspisync.models import RunStatus, RunTrigger


class Command(BaseCommand):
    help = "Upload Kaspi product cards of ready products (or of the given articles)."

    def add_arguments(self, parser):
        parser.add_argument("--article", type=int, nargs="+", action="extend", default=[], metavar="N")
        parser.add_argument("--resend", action="store_true", help="send again even cards created or refused before")
        parser.add_argument("--no-wait", action="store_true", help="do not wait for Kaspi's result")
        parser.add_argument("--json", action="store_true", help="end with one JSON line")

    def handle(self, *args, article, resend, no_wait, json: bool, **options):
        failure = ""
        try:
            run = upload_cards(articles=article or None, resend=resend, wait=not no_wait, trigger=RunTrigger.COMMAND)
        except UploadFailed as exc:
            from cards.models import UploadRun

            run, failure = UploadRun.objects.order_by("-pk").first(), str(exc)
        if run is None or run.status == RunStatus.SKIPPED:
            skipped = _("Skipped: another upload is in progress.")
            if json:  # the last line is JSON whatever happened
                counts = dict.fromkeys(("sent", "created", "errors", "not_ready", "unknown", "pending"), 0)
                self.stdout.write(
                    jsonlib.dumps(
                        {"run": run.pk if run else None, "status": RunStatus.SKIPPED, **counts, "error": skipped},
                        ensure_ascii=False,
                    )
                )
            raise CommandError(skipped)
        pending = run.batches.filter(status__in=(BatchStatus.UPLOADED, BatchStatus.TIMED_OUT)).count()
        self.stdout.write(
            _(
                "Upload #%(id)s: sent %(sent)d, created %(created)d, refused by Kaspi %(errors)d, "
                "answer lost %(unknown)d, not ready %(not_ready)d."
            )
            % {
                "id": run.pk,
                "sent": run.sent,
                "created": run.created,
                "errors": run.errors,
                "unknown": run.unknown,
                "not_ready": run.not_ready,
            }
        )
        for batch in run.batches.all():
            self.stdout.write(
                "  "
                + _("batch %(n)d: cards %(count)d, import %(code)s, %(status)s")
                % {
                    "n": batch.number,
                    "count": batch.sent,
                    "code": batch.import_code or "—",
                    "status": batch.get_status_display(),
                }
            )
        if pending:
            self.stdout.write(_("Kaspi has not finished yet: the result is read later (or run the command again)."))
        if run.stats.get("unknown_articles"):
            self.stdout.write(
                _("Not in the catalog: %(articles)s") % {"articles": ", ".join(map(str, run.stats["unknown_articles"]))}
            )
        if failure or run.error:
            self.stdout.write(failure or run.error)
        if json:
            self.stdout.write(
                jsonlib.dumps(
                    {
                        "run": run.pk,
                        "status": run.status,
                        "sent": run.sent,
                        "created": run.created,
                        "errors": run.errors,
                        "not_ready": run.not_ready,
                        "unknown": run.unknown,
                        "pending": pending,
                        "import_codes": [c for c in run.import_codes.split(", ") if c],
                        "error": failure or run.error,
                    },
                    ensure_ascii=False,
                )
            )
        if failure or run.status == RunStatus.FAILED:
            raise CommandError(failure or run.error)
