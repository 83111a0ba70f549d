"""What the catalog tells staff through the alerts (`alerts.services.notify`): the products that
fell below their margin floor when an import repriced them, as one digest per pricing run, written
in the transaction that stored the new prices."""

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from alerts.models import Kind
from alerts.services import alert_language, notify
from kaspisync.display import group, money, percent

from ..models import Product

DIGEST_LINES = 40  # products named in the digest; the count covers them all


def margin_floor_digest(run, product_ids) -> None:
    """Products (`product_ids`) that an import's reprice (`run`) took below their margin floor."""
    if not product_ids:
        return
    products = list(Product.objects.filter(pk__in=product_ids).order_by("net_margin", "article")[:DIGEST_LINES])
    count = len(product_ids)
    with alert_language():
        lines = [
            _("%(article)s %(name)s: margin %(margin)s (%(percent)s), sale price %(price)s")
            % {
                "article": p.article,
                "name": p.name,
                "margin": money(p.net_margin),
                "percent": percent(p.net_margin_percent),
                "price": money(p.sale_price),
            }
            for p in products
        ]
        if count > len(products):
            left = count - len(products)
            lines.append(ngettext("… and %(n)s more product", "… and %(n)s more products", left) % {"n": group(left)})
        notify(
            Kind.MARGIN_FLOOR,
            f"pricing-run:{run.pk}",
            title=ngettext(
                "%(n)s product fell below its margin floor after the import",
                "%(n)s products fell below their margin floor after the import",
                count,
            )
            % {"n": group(count)},
            lines=lines,
            link=reverse("admin:catalog_product_changelist") + "?below_margin_floor__exact=1",
        )
