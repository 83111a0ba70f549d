"""`manage.py quality_report [--days N] [--json]`: Kaspi quality figures of the orders created in
the last N days (default 30). With --json the last line of output is one JSON object with at
least `orders`, `cancelled`, `cancelled_share` (a fraction 0–1) and `by_reason` (stable)."""

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from orders import quality

MAX_DAYS = 3660


class Command(BaseCommand):
    help = "Kaspi quality figures (cancellations, reasons, returns, acceptance times) of the last N days."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=quality.WINDOWS[0], help="orders created in the last N days")
        parser.add_argument("--json", action="store_true", help="one JSON object (the last line of output)")

    def handle(self, *args, days: int, json: bool = False, **options):
        if not 1 <= days <= MAX_DAYS:
            raise CommandError(_("--days must be between 1 and %(max)s.") % {"max": MAX_DAYS})
        result = quality.report(days)
        if json:
            self.stdout.write(_dumps(result.as_json()))
            return
        self.write_text(result)

    def write_text(self, result: quality.Report) -> None:
        f, a = result.figures, result.acceptance
        write = self.stdout.write
        write(
            ngettext(
                "Orders created in the last %(days)s day: %(orders)s.",
                "Orders created in the last %(days)s days: %(orders)s.",
                result.days,
            )
            % {"days": result.days, "orders": f.orders}
        )
        write(
            _("Cancelled: %(n)s (%(share)s of orders; Kaspi's limit is %(limit)s %%).")
            % {"n": f.cancelled, "share": quality.format_share(f.cancelled_share), "limit": quality.KASPI_LIMIT_PERCENT}
        )
        write(
            _("Cancelled for a merchant reason: %(n)s (%(share)s).")
            % {"n": f.merchant_cancelled, "share": quality.format_share(f.merchant_share)}
        )
        for row in f.reasons:
            write(f"  {row.code or '—'}: {row.count} ({quality.format_share(row.share)}) — {row.label}")
        write(_("Who cancelled:"))
        for _actor, label, n in f.actors:
            write(f"  {label}: {n}")
        write(_("Returns: %(n)s (%(share)s).") % {"n": f.returns, "share": quality.format_share(f.returns_share)})
        write(
            _("Acceptance time (%(n)s orders measured): median %(median)s, 90th percentile %(p90)s.")
            % {"n": a.measured, "median": quality.format_wait(a.median), "p90": quality.format_wait(a.p90)}
        )
        for slow in a.slowest:
            write(f"  {slow.code}: {quality.format_wait(slow.waited)}")
        if a.waiting_now:
            write(
                _("Still waiting for acceptance: %(n)s (the oldest for %(oldest)s).")
                % {"n": a.waiting_now, "oldest": quality.format_wait(a.oldest_waiting)}
            )


def _dumps(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=False)
