"""The alerts app's configuration: registers its pieces and, in the web process only, the heartbeat
watchdog (which must work when no Celery worker does)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = _("Alerts")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        import os

        from . import wiring

        wiring.register()
        if os.environ.get("KASPISYNC_PROCESS") == "web":  # set by kaspisync/wsgi.py
            from .checks import start_watchdog

            start_watchdog()
