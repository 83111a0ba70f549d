"""The price list follows the catalog: a change (an import, a recompute, stock reserved for orders)
asks for one rebuild a little later, however many changes come in that time.

The request is a row in the outbox (kaspisync.runs.defer_task), written with the change; beat
queues the build once FEED_REBUILD_DELAY has passed. The process that made the change (an import
run from the command line, a pricing run) loads only this: not the build, nor Celery.
"""

import logging

from django.conf import settings

from kaspisync.models import RunTrigger
from kaspisync.runs import defer_task

log = logging.getLogger(__name__)

BUILD_TASK = "feeds.tasks.build_feed"


def request_rebuild(reason: str = "") -> bool:
    """Debounced rebuild after a catalog change: the first request of a burst has the build
    queued FEED_REBUILD_DELAY seconds later; the others meanwhile only note their time.
    Returns True when this call asked for the build. Never fails the change that asks (the
    scheduled build follows anyway)."""
    delay = settings.FEED_REBUILD_DELAY
    asked = defer_task(BUILD_TASK, delay=delay, robust=True, trigger=RunTrigger.CHAIN)
    if asked:
        log.info("price list rebuild asked for in %s s (%s)", delay, reason or "change")
    return asked


def on_catalog_changed(sender=None, reason: str = "", **kwargs) -> None:
    """Receiver of catalog.signals.catalog_changed (connected in FeedsConfig.ready), and of
    catalog.reservations.reservations_changed: the request is written with the change."""
    request_rebuild(reason)
