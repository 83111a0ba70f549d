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


def _rematch_after_import(sender=None, **kwargs):
    """The pull service (and the Kaspi client with it) is loaded by the first catalog change, not by
    every process at start-up."""
    from .services.pull import rematch_after_import

    rematch_after_import(sender, **kwargs)
