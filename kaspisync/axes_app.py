"""django-axes (login throttling) under a name staff read: its section of the admin is "Login
protection" ("Защита входа"), not the package's name "Axes". INSTALLED_APPS names this config."""

from axes.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoginProtectionConfig(AppConfig):
    verbose_name = _("Login protection")
