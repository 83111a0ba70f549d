"""The price list follows the catalog: a change (an import, a recompute, stock reserved for orders)
queues one rebuild a little later, however many changes come in that time.

Kept apart from feeds.services (the writer, storage, notices): the process that sends the change
(an import, a pricing run) loads only this and the task's door, not the build itself.
"""

import logging
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from kaspisync.models import RunTrigger
from kaspisync.secrets import mask

from .models import FeedBuildState

log = logging.getLogger(__name__)


def request_rebuild(reason: str = "") -> bool:
    """Debounced rebuild after a catalog change: the first request of a burst queues one build
    FEED_REBUILD_DELAY seconds later; the others within that window only note the time.
    Returns True when this call queued the build."""
    from .tasks import build_feed as task

    now = timezone.now()
    delay = settings.FEED_REBUILD_DELAY
    FeedBuildState.objects.get_or_create(pk=FeedBuildState.SINGLETON_ID)
    queued = FeedBuildState.objects.filter(
        Q(queued_until__isnull=True) | Q(queued_until__lte=now), pk=FeedBuildState.SINGLETON_ID
    ).update(queued_until=now + timedelta(seconds=delay), requested_at=now)
    if not queued:
        FeedBuildState.objects.filter(pk=FeedBuildState.SINGLETON_ID).update(requested_at=now)
        return False
    log.info("price list rebuild queued in %s s (%s)", delay, reason or "change")
    task.apply_async(kwargs={"trigger": RunTrigger.CHAIN}, countdown=delay)
    return True


def on_catalog_changed(sender=None, reason: str = "", **kwargs) -> None:
    """Receiver of catalog.signals.catalog_changed (connected in FeedsConfig.ready), and of
    catalog.reservations.reservations_changed."""
    transaction.on_commit(partial(_rebuild_after_change, reason))


def _rebuild_after_change(reason: str) -> None:
    # Never fail the import or recompute that sent the signal: the scheduled build follows anyway.
    try:
        request_rebuild(reason)
    except Exception as exc:
        log.error("could not queue a price list rebuild after %s: %s", reason or "a change", mask(exc))
