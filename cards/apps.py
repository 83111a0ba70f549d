"""The cards app's configuration: follows catalog changes (readiness) and registers its pieces. Its
columns on the product list are added by cards/admin.py, with the rest of its admin."""

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
        from .refresh import on_catalog_changed

        catalog_changed.connect(on_catalog_changed, dispatch_uid="cards.readiness_after_catalog_change")
        wiring.register()
