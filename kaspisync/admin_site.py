"""The admin site, whose ModelAdmins are found the first time they are asked for, not at start-up.

Django's AdminConfig imports every app's `admin` module in `ready()`, and with them what the admin
pages use: the API clients, the exports, every app's services and forms (some 3 MB, 200 modules).
Every process paid for it, a Celery worker's, beat's and a management command's too, which never
show a page. Here `autodiscover()` runs the first time anything asks the site what is registered:
the URLconf (`admin.site.urls`, so before a web process answers its first request), the system
checks (`manage.py check`), a test or a benchmark reading `admin.site._registry`. Whatever an app's
admin module does besides registering (cards adds its columns to the product list) happens then
too: it belongs in that module, not in `AppConfig.ready()`.
"""

import threading
from contextlib import contextmanager

from django.contrib.admin import AdminSite, autodiscover
from django.contrib.admin.apps import SimpleAdminConfig


class PortalAdminSite(AdminSite):
    def __init__(self, name="admin"):
        self._models = {}
        self._discovered = False
        self._discovering = False  # the thread discovering reads what is registered so far
        self._lock = threading.RLock()  # another thread waits for the discovery under way
        self._local = threading.local()  # `registering`: this thread is inside (un)register
        super().__init__(name)

    @property
    def _registry(self) -> dict:
        """{model: ModelAdmin}, every app's admin module imported first (once)."""
        if not self._discovered and not getattr(self._local, "registering", False):
            with self._lock:
                if not self._discovered and not self._discovering:
                    self._discovering = True
                    try:
                        autodiscover()
                        self._discovered = True  # a failed discovery raises here and is tried again
                    finally:
                        self._discovering = False
        return self._models

    @_registry.setter
    def _registry(self, value: dict) -> None:
        self._models = value

    @contextmanager
    def _registering(self):
        """An admin module imported on its own (a test's import) registers without discovering the
        others in the middle of its own import; they are found at the first read."""
        before = getattr(self._local, "registering", False)
        self._local.registering = True
        try:
            yield
        finally:
            self._local.registering = before

    def register(self, model_or_iterable, admin_class=None, **options):
        with self._registering():
            return super().register(model_or_iterable, admin_class, **options)

    def unregister(self, model_or_iterable):
        with self._registering():
            return super().unregister(model_or_iterable)

    def is_registered(self, model):
        with self._registering():
            return super().is_registered(model)


class AdminConfig(SimpleAdminConfig):
    """django.contrib.admin (checks included) on PortalAdminSite, without discovery in `ready()`."""

    default_site = "kaspisync.admin_site.PortalAdminSite"
