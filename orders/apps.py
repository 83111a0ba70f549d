"""The orders app's configuration: matches waiting entries to products after a catalog change and
registers its pieces."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Kaspi orders")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # orders follows catalog (entries wait for their products); catalog never imports orders.
        from catalog.signals import catalog_changed

        from . import wiring

        catalog_changed.connect(_rematch_after_import, dispatch_uid="orders.rematch_after_import")
        wiring.register()


def _rematch_after_import(sender=None, reason: str = "", **kwargs):
    """An import brought products: the entries waiting for them are matched (the pull service's
    rematch). The service, and the Kaspi client with it, is loaded only when some entry waits."""
    from .models import OrderEntry

    if reason != "import" or not OrderEntry.waiting_for_product().exists():
        return
    from .services.pull import rematch_unmatched_entries

    rematch_unmatched_entries()
