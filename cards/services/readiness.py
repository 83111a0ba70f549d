"""Readiness: each product of a mapped category gets its card built and checked, and its status
stored (`ProductCard`) so the product list can filter on it and the mapping page count it.

    counts = refresh_readiness()                 # every product in a mapped category
    counts = refresh_readiness(product_ids=[...])

Statuses: no mapping / not ready (with reasons) / ready / sent / created / error. A card that was
created or is waiting for Kaspi keeps that status whatever its data does; a refused card shows
"error" until its data or mapping changes (its card fingerprint differs from the one sent), then
"ready" again so the next upload resends it. Only rows whose status, reasons or card changed are
written. Runs after every full catalog import (catalog_changed), after mapping changes, after
properties and Kaspi attributes are refreshed, and at the start of every upload.
"""

import logging
from functools import partial

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from catalog.services.upsert import bulk_upsert
from catalog.sku import merchant_sku
from feeds.selectors import sku_prefix
from kaspisync.secrets import mask

from ..card import build_card, card_hash
from ..models import AlstyleProperties, CardStatus, ProductCard, UploadState
from ..selectors import mapped_specs, product_rows

log = logging.getLogger(__name__)

WRITE_BATCH = 5000
UPDATE_FIELDS = ("status", "reasons", "card_hash", "sku", "kaspi_category", "checked_at")


def derive_status(mapped: bool, reasons: list, upload_state: str, current_hash: str, sent_hash: str) -> str:
    if upload_state in (UploadState.SENT, UploadState.UNKNOWN):
        return CardStatus.SENT
    if upload_state == UploadState.CREATED:
        return CardStatus.CREATED
    if not mapped:
        return CardStatus.NO_MAPPING
    if reasons:
        return CardStatus.NOT_READY
    if upload_state == UploadState.ERROR and current_hash == sent_hash:
        return CardStatus.ERROR
    return CardStatus.READY


def _properties(product_ids=None) -> dict[int, dict]:
    qs = AlstyleProperties.objects.values_list("product_id", "values")
    if product_ids is None:
        return dict(qs.iterator(chunk_size=5000))
    ids = sorted(set(product_ids))
    result = {}
    for start in range(0, len(ids), WRITE_BATCH):
        result.update(qs.filter(product_id__in=ids[start : start + WRITE_BATCH]))
    return result


def _existing(product_ids=None) -> dict[int, tuple]:
    fields = ("product_id", "status", "reasons", "card_hash", "sku", "kaspi_category", "upload_state", "sent_hash")
    qs = ProductCard.objects.values_list(*fields)
    if product_ids is None:
        return {row[0]: row[1:] for row in qs.iterator(chunk_size=5000)}
    ids = sorted(set(product_ids))
    result = {}
    for start in range(0, len(ids), WRITE_BATCH):
        result.update((row[0], row[1:]) for row in qs.filter(product_id__in=ids[start : start + WRITE_BATCH]))
    return result


def evaluate(product_ids=None, *, specs=None):
    """Yield (row, mapping id, card, reasons, hash) for the products of mapped categories."""
    specs = mapped_specs() if specs is None else specs
    prefix = sku_prefix()  # the price list's: a card's SKU is exactly the offer's
    properties = _properties(product_ids)
    rows = product_rows(product_ids=product_ids) if product_ids is not None else product_rows(category_ids=list(specs))
    for row in rows:
        covered = specs.get(row.category_id)
        if covered is None:
            yield row, None, None, None, ""
            continue
        mapping_id, spec = covered
        card, reasons = build_card(row, merchant_sku(row.article, prefix), spec, properties.get(row.id))
        yield row, mapping_id, card, reasons, card_hash(card)


def refresh_readiness(product_ids=None) -> dict[str, int]:
    """Recompute and store the card status of these products (None: all); {status: count} of
    the products looked at."""
    now = timezone.now()
    existing = _existing(product_ids)
    writes: list[dict] = []
    counts: dict[str, int] = {}

    def keep(product_id, status, reasons, current_hash, sku, category):
        counts[status] = counts.get(status, 0) + 1
        old = existing.pop(product_id, None)
        new = (status, reasons, current_hash, sku, category)
        if old is not None and old[:5] == new:
            return
        writes.append(
            {
                "product_id": product_id,
                "status": status,
                "reasons": reasons,
                "card_hash": current_hash,
                "sku": sku,
                "kaspi_category": category,
                "checked_at": now,
            }
        )

    for row, mapping_id, card, reasons, current_hash in evaluate(product_ids):
        old = existing.get(row.id)
        upload_state, sent_hash = (old[5], old[6]) if old else ("", "")
        if mapping_id is None:
            if old is not None:
                keep(row.id, derive_status(False, [], upload_state, old[2], sent_hash), [], old[2], old[3], "")
            continue
        status = derive_status(True, reasons, upload_state, current_hash, sent_hash)
        keep(row.id, status, reasons, current_hash, card["sku"], card["category"])
    # Cards of products no longer in a mapped category (a full refresh visits mapped ones only).
    for product_id, old in list(existing.items()):
        status = derive_status(False, [], old[5], old[2], old[6])
        keep(product_id, status, [], old[2], old[3], "")
    for start in range(0, len(writes), WRITE_BATCH):
        with transaction.atomic():
            bulk_upsert(
                ProductCard, writes[start : start + WRITE_BATCH], unique_field="product", update_fields=UPDATE_FIELDS
            )
    _settle_upload_states()
    return counts


def _settle_upload_states() -> None:
    """An upload may have changed a card's upload state while this refresh was computing: the
    upload state wins (it is never overwritten here, and the status follows it)."""
    ProductCard.objects.filter(upload_state__in=(UploadState.SENT, UploadState.UNKNOWN)).exclude(
        status=CardStatus.SENT
    ).update(status=CardStatus.SENT)
    ProductCard.objects.filter(upload_state=UploadState.CREATED).exclude(status=CardStatus.CREATED).update(
        status=CardStatus.CREATED
    )
    ProductCard.objects.filter(
        upload_state=UploadState.ERROR, status=CardStatus.READY, card_hash=F("sent_hash")
    ).update(status=CardStatus.ERROR)


def queue_refresh(product_ids=None) -> None:
    """Recompute readiness on the workers once the caller's transaction commits."""
    from ..tasks import refresh_readiness as task

    transaction.on_commit(partial(task.delay, product_ids=product_ids))


def on_catalog_changed(sender=None, reason: str = "", **kwargs) -> None:
    """Receiver of catalog.signals.catalog_changed (connected in CardsConfig.ready): a full
    import may change names, brands, images and categories; prices do not touch cards."""
    if reason != "import":
        return
    try:
        queue_refresh()
    except Exception as exc:  # never fail the import that sent the signal
        log.error("could not queue a card readiness refresh: %s", mask(exc))
