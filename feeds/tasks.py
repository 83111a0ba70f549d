"""Celery tasks of the price list: thin doors that take primitive arguments and call a service.

The services are imported by the task that runs them: a process that only queues a build (an
import that changed the catalog) does not load the writer, the storage and the notices."""

from kaspisync.celery import app
from kaspisync.models import RunStatus, RunTrigger

BUILD_TIME_LIMIT = 15 * 60


@app.task(
    bind=True,
    name="feeds.tasks.build_feed",
    ignore_result=True,
    max_retries=20,
    time_limit=BUILD_TIME_LIMIT,
    soft_time_limit=BUILD_TIME_LIMIT - 60,
)
def build_feed(self, trigger: str = RunTrigger.SCHEDULE, triggered_by: str = "") -> int:
    """Build and publish the price list; returns the FeedVersion id. A rebuild that follows a
    catalog change is retried while another build runs (that one may have missed the change)."""
    from .services import build_feed as build

    version = build(trigger=trigger, triggered_by=triggered_by)
    if version.status == RunStatus.SKIPPED and trigger == RunTrigger.CHAIN:
        raise self.retry(countdown=30)
    return version.pk


@app.task(name="feeds.tasks.check_fetches", ignore_result=True, expires=600)
def check_fetches_task() -> bool:
    """Alert when Kaspi has not fetched the price list for two hours; returns whether it did."""
    from .notices import check_fetches

    return check_fetches() is not None


@app.task(name="feeds.tasks.prune_fetch_log", ignore_result=True)
def prune_fetch_log() -> dict:
    """Delete old fetch rows and wrong-token counts (feeds.fetchlog); returns how many."""
    from .fetchlog import prune_fetch_log as prune

    return prune()
