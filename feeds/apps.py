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
        # a store removed or re-coded stays in the price list as available="no" (feeds.services,
        # loaded when a store is saved: not by every process that sets Django up)
        from django.db.models.signals import post_delete, post_save, pre_save

        from .models import FeedStore

        pre_save.connect(_store_saving, sender=FeedStore, dispatch_uid="feeds.store_saving")
        post_save.connect(_store_saved, sender=FeedStore, dispatch_uid="feeds.store_saved")
        post_delete.connect(_store_deleted, sender=FeedStore, dispatch_uid="feeds.store_deleted")


def _store_saving(sender, instance, **kwargs):
    from .services import on_store_saving

    on_store_saving(sender, instance)


def _store_saved(sender, instance, **kwargs):
    from .services import on_store_saved

    on_store_saved(sender, instance)


def _store_deleted(sender, instance, **kwargs):
    from .services import on_store_deleted

    on_store_deleted(sender, instance)
