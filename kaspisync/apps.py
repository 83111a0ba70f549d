"""The plumbing app's configuration: secret masking in every log handler, the admin search, and the
database and broker connection checks."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KaspisyncConfig(AppConfig):
    name = "kaspisync"
    verbose_name = _("System")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import health, registry, search
        from .secrets import install_log_masking

        install_log_masking()
        search.install()
        registry.connection_check("database", health.check_database)
        registry.connection_check("broker", health.check_broker)
