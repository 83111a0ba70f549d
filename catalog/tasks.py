"""Celery tasks of the catalog: thin doors that take primitive arguments and call a service."""

from kaspisync.celery import app
from kaspisync.models import RunStatus, RunTrigger

from .services.importing import import_catalog as run_import

# A full import waits ~5 s per page (about 30 pages for 7,000 products): a generous hard limit.
IMPORT_TIME_LIMIT = 2 * 60 * 60


@app.task(
    name="catalog.tasks.import_catalog",
    ignore_result=True,
    time_limit=IMPORT_TIME_LIMIT,
    soft_time_limit=IMPORT_TIME_LIMIT - 300,
)
def import_catalog(quick: bool = False, trigger: str = RunTrigger.SCHEDULE, triggered_by: str = "") -> int:
    """Full import or quick refresh from Al-Style; returns the ImportRun id (the row is the result)."""
    return run_import(quick=quick, trigger=trigger, triggered_by=triggered_by).pk


# --- pricing ----------------------------------------------------------------------------------
# max_retries=None: retried until the lock is free, which at worst is when a dead holder's lock is
# taken over (JOB_LOCK_LEASE, a minute); giving up earlier would lose a rule change's recompute.
@app.task(
    bind=True,
    name="catalog.tasks.recompute_prices",
    ignore_result=True,
    max_retries=None,
    time_limit=30 * 60,
    soft_time_limit=29 * 60,
)
def recompute_prices(
    self, product_ids=None, cause: str = "recompute", user_id=None, trigger: str = RunTrigger.CHAIN
) -> int:
    """Recompute stored sale prices (None: all products); retried while another recompute runs."""
    from .services.pricing import recompute_prices as recompute

    run = recompute(product_ids, cause=cause, user_id=user_id, trigger=trigger)
    if run.status == RunStatus.SKIPPED:
        raise self.retry(countdown=15)
    return run.pk


@app.task(name="catalog.tasks.expire_price_overrides", ignore_result=True)
def expire_price_overrides() -> int | None:
    """Revert manual prices whose expiry has passed (history cause "expiry")."""
    from .services.pricing import expire_overrides

    run = expire_overrides()
    return run.pk if run else None
