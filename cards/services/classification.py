"""Kaspi's classification, cached in the database: categories, their attributes, enum values.

    run = refresh_classification()                      # categories + attributes of mapped ones
    load_attributes(kaspi_category)                     # one category, now (the admin on save)

Categories Kaspi stops listing are kept (mappings point at them) but marked not listed, which
makes their products not ready; their attributes are not asked for. A category whose attributes
cannot be read keeps its cached ones and is named in the run's error; the others are refreshed. An empty category list is refused (it would unlist everything).
Attributes Kaspi no longer declares are deleted with their mapping rows; enum values are
replaced by Kaspi's current list. Runs daily (beat) and on demand (mapping page button).
"""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kaspisync.models import RunStatus, RunTrigger
from kaspisync.runs import finish, run_job

from ..kaspi_content import ContentApiError, KaspiContentClient, TokenRefused
from ..models import (
    AttributeMapping,
    AttributeType,
    CategoryMapping,
    KaspiAttribute,
    KaspiAttributeValue,
    KaspiCategory,
    RefreshKind,
    RefreshRun,
)

LOCK_NAME = "cards.classification"


def refresh_categories(client: KaspiContentClient) -> dict[str, int]:
    listed = client.categories()
    if not listed:
        raise ContentApiError(_("Kaspi listed no categories; the cached list is kept"))
    now = timezone.now()
    known = {c.code: c for c in KaspiCategory.objects.all()}
    new, changed, seen = [], [], set()
    for item in listed:
        if item.code in seen:
            continue
        seen.add(item.code)
        category = known.get(item.code)
        if category is None:
            new.append(
                KaspiCategory(
                    code=item.code,
                    title=item.title[:500],
                    is_active=True,
                    refreshed_at=now,
                )
            )
        else:
            category.title, category.is_active, category.refreshed_at = item.title[:500], True, now
            changed.append(category)
    with transaction.atomic():
        KaspiCategory.objects.bulk_create(new, batch_size=1000)
        KaspiCategory.objects.bulk_update(changed, ["title", "is_active", "refreshed_at"], batch_size=1000)
        unlisted = KaspiCategory.objects.exclude(code__in=seen).filter(is_active=True).update(is_active=False)
    return {"categories": len(seen), "new_categories": len(new), "unlisted_categories": unlisted}


def load_attributes(category: KaspiCategory, client: KaspiContentClient | None = None) -> dict[str, int]:
    """Read one category's attributes (and each enum attribute's allowed values) from Kaspi."""
    client = client or KaspiContentClient()
    listed = client.attributes(category.code)
    values = {a.code: client.attribute_values(category.code, a.code) for a in listed if a.type == AttributeType.ENUM}
    with transaction.atomic():
        known = {a.code: a for a in KaspiAttribute.objects.filter(category=category)}
        codes = []
        for position, item in enumerate(listed):
            if item.code in codes:
                continue
            codes.append(item.code)
            attribute = known.get(item.code) or KaspiAttribute(category=category, code=item.code)
            attribute.type, attribute.multi_valued = item.type, item.multi_valued
            attribute.mandatory, attribute.position = item.mandatory, position
            attribute.save()
            known[item.code] = attribute
            allowed = dict(values.get(item.code, ()))
            attribute.values.exclude(code__in=list(allowed)).delete()
            present = dict(attribute.values.values_list("code", "name"))
            KaspiAttributeValue.objects.bulk_create(
                [
                    KaspiAttributeValue(attribute=attribute, code=c, name=n[:512])
                    for c, n in allowed.items()
                    if c not in present
                ]
            )
            for code, name in allowed.items():
                if code in present and present[code] != name:
                    attribute.values.filter(code=code).update(name=name[:512])
        removed, _detail = KaspiAttribute.objects.filter(category=category).exclude(code__in=codes).delete()
        category.attributes_loaded_at = timezone.now()
        category.save(update_fields=["attributes_loaded_at"])
        for mapping in category.mappings.all():
            add_empty_rows(mapping)
    return {"attributes": len(codes), "values": sum(len(v) for v in values.values()), "removed": removed}


def add_empty_rows(mapping: CategoryMapping) -> int:
    """A row "left empty" for every attribute of the Kaspi category that has none, so the
    mapping page lists every attribute (mapping rows of another category are dropped)."""
    mapping.attributes.exclude(attribute__category_id=mapping.kaspi_category_id).delete()
    present = set(mapping.attributes.values_list("attribute_id", flat=True))
    missing = KaspiAttribute.objects.filter(category_id=mapping.kaspi_category_id).exclude(pk__in=present)
    rows = [AttributeMapping(mapping=mapping, attribute=attribute) for attribute in missing]
    AttributeMapping.objects.bulk_create(rows)
    return len(rows)


def refresh_classification(
    *, trigger: str = RunTrigger.SCHEDULE, triggered_by: str = "", client: KaspiContentClient | None = None
) -> RefreshRun:
    """Categories, then the attributes of every mapped category (the others load when mapped)."""
    with run_job(
        RefreshRun, LOCK_NAME, trigger=trigger, triggered_by=triggered_by, kind=RefreshKind.CLASSIFICATION
    ) as job:
        if job.skipped:
            return job.run
        client = client or KaspiContentClient()
        failed: list[str] = []
        try:
            stats = refresh_categories(client)
            mapped = KaspiCategory.objects.filter(
                is_active=True, pk__in=CategoryMapping.objects.values("kaspi_category_id")
            ).order_by("code")
            stats["categories_with_attributes"] = 0
            for category in mapped:
                try:
                    load_attributes(category, client)
                except TokenRefused:
                    raise  # every other call would be refused too
                except ContentApiError as exc:  # one category's trouble never stops the others
                    failed.append(f"{category.code}: {exc}")
                else:
                    stats["categories_with_attributes"] += 1
                job.lock.refresh()
            if failed:
                stats["categories_failed"] = len(failed)
            job.run.stats = stats
        finally:
            job.run.requests_made = client.requests_made
            job.run.save(update_fields=["requests_made", "stats"])
        if failed:  # the cached attributes of these categories are kept
            finish(
                job.run,
                RunStatus.FAILED,
                _("The attributes of these Kaspi categories could not be read (the cached ones are kept): %(list)s")
                % {"list": "; ".join(failed)},
            )
    from ..refresh import queue_refresh

    queue_refresh()
    return job.run
