"""What product cards tell staff through the alerts (`alerts.services.notify`): an upload whose
cards Kaspi refused (or whose outcome is unknown), once per upload, when Kaspi has finished every
batch of it — written in the transaction that stores the upload's final counts."""

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from alerts.models import Kind
from alerts.services import alert_language, notify
from kaspisync.display import group

from ..models import CardOutcome, Outcome, UploadRun

ERRORS_SHOWN = 10


def upload_errors(run: UploadRun):
    """The alert for a finished upload with refused or unknown cards (None when there are none)."""
    if not (run.errors or run.unknown):
        return None
    refused = CardOutcome.objects.filter(batch__run=run, outcome=Outcome.ERROR).order_by("sku")[:ERRORS_SHOWN]
    with alert_language():
        lines = [
            _("Sent: %(sent)s, created: %(created)s, refused: %(errors)s, outcome unknown: %(unknown)s")
            % {"sent": run.sent, "created": run.created, "errors": run.errors, "unknown": run.unknown}
        ]
        lines += [f"{outcome.sku}: {outcome.message}" for outcome in refused]
        return notify(
            Kind.CARD_ERRORS,
            f"upload:{run.pk}",
            title=(
                ngettext(
                    "Card upload #%(id)s: Kaspi refused %(n)s card",
                    "Card upload #%(id)s: Kaspi refused %(n)s cards",
                    run.errors,
                )
                % {"id": run.pk, "n": group(run.errors)}
                if run.errors
                else ngettext(
                    "Card upload #%(id)s: whether Kaspi created %(n)s card is unknown",
                    "Card upload #%(id)s: whether Kaspi created %(n)s cards is unknown",
                    run.unknown,
                )
                % {"id": run.pk, "n": group(run.unknown)}
            ),
            lines=lines,
            link=reverse("admin:cards_uploadrun_change", args=[run.pk]),
        )
