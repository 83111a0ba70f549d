"""Al-Style product properties of mapped categories, read through the catalog's Al-Style client
(inside the shared per-token rate limit) and kept in cards' own table (`AlstyleProperties`).

    run = refresh_properties()                      # every mapping that fills an attribute from a property
    run = refresh_properties(category_ids=[3521])   # these Al-Style categories only

Why here and not in the catalog import: only products of mapped categories need properties, the
catalog import stays as cheap as it is (one `properties` page per 250 products of mapped
categories, not of the whole catalog), and catalog never learns that cards exist. Every product
of a category read gets a row, empty when Al-Style lists no properties for it, so "not read yet"
and "the property is missing" stay two different reasons. Runs when a mapping is saved or
imported, daily, and on demand (mapping page button).
"""

from django.db import transaction
from django.utils import timezone

from catalog.alstyle import AlstyleClient
from catalog.models import Product
from catalog.services.upsert import bulk_upsert
from kaspisync.models import RunTrigger
from kaspisync.runs import queue_after_commit, run_job

from ..models import AlstyleProperties, RefreshKind, RefreshRun
from ..selectors import categories_needing_properties

LOCK_NAME = "cards.properties"
CATEGORIES_PER_REQUEST = 20


def refresh_properties(
    category_ids=None,
    *,
    trigger: str = RunTrigger.SCHEDULE,
    triggered_by: str = "",
    client: AlstyleClient | None = None,
) -> RefreshRun:
    with run_job(RefreshRun, LOCK_NAME, trigger=trigger, triggered_by=triggered_by, kind=RefreshKind.PROPERTIES) as job:
        if job.skipped:
            return job.run
        wanted = sorted({c for ids in categories_needing_properties().values() for c in ids})
        if category_ids is not None:
            wanted = [c for c in wanted if c in set(category_ids)]
        client = client or AlstyleClient()
        stats = {"categories": len(wanted), "products": 0, "with_properties": 0}
        try:
            for start in range(0, len(wanted), CATEGORIES_PER_REQUEST):
                chunk = wanted[start : start + CATEGORIES_PER_REQUEST]
                products = dict(Product.objects.filter(category_id__in=chunk).values_list("article", "id"))
                read: dict[int, dict] = {}
                for page in client.properties(categories=chunk):
                    read.update(page)
                    job.lock.refresh()
                now = timezone.now()
                rows = [
                    {"product_id": pid, "values": read.get(article, {}), "fetched_at": now}
                    for article, pid in products.items()
                ]
                with transaction.atomic():
                    bulk_upsert(AlstyleProperties, rows, unique_field="product", update_fields=("values", "fetched_at"))
                stats["products"] += len(rows)
                stats["with_properties"] += sum(1 for article in products if read.get(article))
        finally:
            job.run.requests_made = client.requests_made
            job.run.stats = stats
            job.run.save(update_fields=["requests_made", "stats"])
    from ..refresh import queue_refresh

    queue_refresh()
    return job.run


def queue_properties(category_ids=None, *, triggered_by: str = "") -> None:
    from ..tasks import refresh_properties as task

    queue_after_commit(task, category_ids=category_ids, trigger=RunTrigger.ADMIN, triggered_by=triggered_by)
