"""The feeds app's configuration: rebuilds the price list after catalog or reservation changes and
registers its pieces."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedsConfig(AppConfig):
    name = "feeds"
    verbose_name = _("Kaspi price list")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # feeds follows catalog; catalog never imports feeds.
        from catalog.reservations import reservations_changed
        from catalog.signals import catalog_changed

        from . import wiring
        from .rebuild import on_catalog_changed

        catalog_changed.connect(on_catalog_changed, dispatch_uid="feeds.rebuild_after_catalog_change")
        # stock reserved for orders changes what stores offer, like a stock change
        reservations_changed.connect(on_catalog_changed, dispatch_uid="feeds.rebuild_after_reservations_change")
        wiring.register()
