from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Kaspi orders")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import wiring

        wiring.register()
