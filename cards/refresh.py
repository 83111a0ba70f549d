"""Card readiness follows the catalog: a full import, a mapping change or new properties queue one
readiness refresh on the workers (cards.services.readiness does the work there).

A staff change (a mapping) queues the refresh at once; a full import asks for it through the
outbox (kaspisync.runs.defer_task), written with the change and queued by beat, so the importing
process loads only this: not the card building, the price list's SKU rule, nor Celery.
"""

from kaspisync.runs import defer_task, queue_after_commit

REFRESH_TASK = "cards.tasks.refresh_readiness"


def queue_refresh(product_ids=None) -> None:
    """Recompute readiness on the workers once the caller's transaction commits."""
    from .tasks import refresh_readiness as task

    queue_after_commit(task, product_ids=product_ids)


def on_catalog_changed(sender=None, reason: str = "", **kwargs) -> None:
    """Receiver of catalog.signals.catalog_changed (connected in CardsConfig.ready): a full
    import may change names, brands, images and categories; prices do not touch cards."""
    if reason != "import":
        return
    defer_task(REFRESH_TASK, robust=True)  # never fails the import that sent the signal
