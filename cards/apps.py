"""The cards app's configuration: follows catalog changes (readiness), adds the cards columns to the
product admin and registers its pieces."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CardsConfig(AppConfig):
    name = "cards"
    verbose_name = _("Kaspi product cards")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # cards follows catalog; catalog never imports cards.
        from catalog.signals import catalog_changed

        from . import wiring
        from .product_admin import contribute_to_product_admin
        from .services.readiness import on_catalog_changed

        catalog_changed.connect(on_catalog_changed, dispatch_uid="cards.readiness_after_catalog_change")
        contribute_to_product_admin()
        wiring.register()
