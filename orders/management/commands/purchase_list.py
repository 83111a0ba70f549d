"""`manage.py purchase_list [--json] [filters]`: what to buy from Al-Style for open Kaspi orders."""

import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from kaspisync.display import money
from orders import purchase_list
from orders.models import DeliveryMode


def iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(_("Dates are written YYYY-MM-DD, not “%(value)s”.") % {"value": value}) from None


class Command(BaseCommand):
    help = (
        "Print the purchase list: what to buy from Al-Style for open Kaspi orders, per article, with "
        "stock, cost and warnings. With --json the last line of output is one JSON object "
        '{"lines": [{"article": <int>, "needed": <int>, ...}, ...], "unmatched": [...], "totals": {...}}. '
        "No customer data."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="end with the list as one JSON object on one line")
        parser.add_argument("--until", metavar="YYYY-MM-DD", help="only orders planned for delivery on or before")
        parser.add_argument("--warehouse", metavar="CODE", help="only lines taking units from this Al-Style warehouse")
        parser.add_argument("--delivery-mode", choices=DeliveryMode.values, help="only orders with this delivery mode")
        parser.add_argument("--warnings-only", action="store_true", help="only lines with warnings")

    def handle(self, *args, **options):
        filters = purchase_list.Filters(
            until=iso_date(options["until"]) if options["until"] else None,
            warehouse=options["warehouse"] or None,
            delivery_mode=options["delivery_mode"] or "",
            warnings_only=options["warnings_only"],
        )
        result = purchase_list.purchase_list(filters)
        if options["json"]:
            self.stdout.write(json.dumps(purchase_list.as_json(result), ensure_ascii=False, separators=(",", ":")))
            return
        for line in result.lines:
            where = [f"{name} {n}" for name, n in line.allocation_rows]
            if line.short:
                where.append(_("missing %(n)s") % {"n": line.short})
            self.stdout.write(
                _(
                    "%(article)s\t%(needed)s\t%(name)s\tstock %(stock)s\ttake from: %(where)s\tcost %(cost)s\torders: %(orders)s"
                )
                % {
                    "article": line.article,
                    "needed": line.needed,
                    "name": line.name[:60],
                    "stock": line.stock_display,
                    "where": ", ".join(where) or "—",
                    "cost": money(line.cost),
                    "orders": ", ".join(o.code for o in line.orders),
                }
            )
            for warning in line.warnings:
                self.stdout.write(f"  ! {warning.text}")
        for item in result.unmatched:
            self.stdout.write(f"  ! {item.warning.text}")
        self.stdout.write(
            _("%(lines)s lines, %(units)s units, cost %(cost)s, %(warnings)s warnings.")
            % {
                "lines": len(result.lines),
                "units": result.units,
                "cost": money(result.cost),
                "warnings": result.warning_count,
            }
        )
