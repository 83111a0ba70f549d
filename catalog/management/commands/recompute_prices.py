"""`manage.py recompute_prices [--article N ...]`: recompute and store sale prices now."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from catalog.models import Product
from catalog.services.pricing import recompute_prices
from kaspisync.models import RunStatus, RunTrigger


class Command(BaseCommand):
    help = (
        "Recompute and store sale prices now (the service rule changes and imports use), in the "
        "foreground: all products, or the given articles."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--article",
            type=int,
            action="append",
            dest="articles",
            metavar="ARTICLE",
            help="only this Al-Style article (repeat for more)",
        )

    def handle(self, *args, articles=None, **options):
        ids = None
        if articles:
            ids = list(Product.objects.filter(article__in=articles).values_list("pk", flat=True))
            unknown = sorted(set(articles) - set(Product.objects.filter(pk__in=ids).values_list("article", flat=True)))
            if unknown:
                raise CommandError(_("Unknown article(s): %(articles)s") % {"articles": ", ".join(map(str, unknown))})
        run = recompute_prices(ids, trigger=RunTrigger.COMMAND)
        if run.status == RunStatus.SKIPPED:
            raise CommandError(_("Skipped: another price recompute is in progress."))
        if run.status != RunStatus.SUCCESS:
            raise CommandError(_("Recompute failed: %(error)s") % {"error": run.error})
        self.stdout.write(
            _("Recompute #%(id)s: %(examined)s products examined, %(changed)s changed, %(prices)s sale prices changed.")
            % {
                "id": run.pk,
                "examined": run.examined,
                "changed": run.changed,
                "prices": run.stats.get("price_changes", 0),
            }
        )
