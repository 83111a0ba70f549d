"""Celery tasks of the catalog: thin doors that take primitive arguments and call a service."""
from celery import shared_task

from kaspisync.models import RunTrigger

from .services.importing import import_catalog as run_import

# A full import waits ~5 s per page (about 30 pages for 7,000 products): a generous hard limit.
IMPORT_TIME_LIMIT = 2 * 60 * 60


@shared_task(name="catalog.tasks.import_catalog", ignore_result=True,
             time_limit=IMPORT_TIME_LIMIT, soft_time_limit=IMPORT_TIME_LIMIT - 300)
def import_catalog(quick: bool = False, trigger: str = RunTrigger.SCHEDULE, triggered_by: str = "") -> int:
    """Full import or quick refresh from Al-Style; returns the ImportRun id (the row is the result)."""
    return run_import(quick=quick, trigger=trigger, triggered_by=triggered_by).pk
