"""The plumbing app's configuration: secret masking in every log handler, the admin search, and the
database and broker connection checks."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class KaspisyncConfig(AppConfig):
    name = "kaspisync"
    verbose_name = _("System")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from . import health, net, registry, search
        from .secrets import install_log_masking

        install_log_masking()
        search.install()
        post_migrate.connect(_sync_roles, dispatch_uid="kaspisync.sync_roles")
        user_logged_in.connect(net.forget_own_failures, dispatch_uid="kaspisync.forget_own_failures")
        registry.connection_check("database", health.check_database)
        registry.connection_check("broker", health.check_broker)


def _sync_roles(sender, apps=None, using="default", **kwargs):
    """After every migrate: the role groups follow new models (kaspisync.roles)."""
    from django.apps import apps as global_apps

    from .roles import sync_roles

    with_models = [config for config in global_apps.get_app_configs() if config.models_module is not None]
    if sender is with_models[-1]:  # the last app: every app's permissions exist by now
        sync_roles(global_apps)
