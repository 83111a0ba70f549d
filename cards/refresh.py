"""Card readiness follows the catalog: a full import, a mapping change or new properties queue one
readiness refresh on the workers (cards.services.readiness does the work there).

Kept apart from the services: the process that sends the change (an import) loads only this and
the task's door, not the card building, the price list's SKU rule or the catalog's text rules.
"""

import logging

from kaspisync.runs import queue_after_commit
from kaspisync.secrets import mask

log = logging.getLogger(__name__)


def queue_refresh(product_ids=None) -> None:
    """Recompute readiness on the workers once the caller's transaction commits."""
    from .tasks import refresh_readiness as task

    queue_after_commit(task, product_ids=product_ids)


def on_catalog_changed(sender=None, reason: str = "", **kwargs) -> None:
    """Receiver of catalog.signals.catalog_changed (connected in CardsConfig.ready): a full
    import may change names, brands, images and categories; prices do not touch cards."""
    if reason != "import":
        return
    try:
        queue_refresh()
    except Exception as exc:  # never fail the import that sent the signal
        log.error("could not queue a card readiness refresh: %s", mask(exc))
