"""Readiness: each product of a mapped category gets its card built and checked, and its status
stored (`ProductCard`) so the product list can filter on it and the mapping page count it.

    counts = refresh_readiness()                 # every product in a mapped category
    counts = refresh_readiness(product_ids=[...])

Statuses: no mapping / not ready (with reasons) / ready / sent / created / error. A card that was
created or is waiting for Kaspi keeps that status whatever its data does; a refused card shows
"error" until its data or mapping changes (its card fingerprint differs from the one sent), then
"ready" again so the next upload resends it. Only rows whose status, reasons or card changed are
written. Runs after every full catalog import (catalog_changed, cards/refresh.py), after mapping changes, after
properties and Kaspi attributes are refreshed, and at the start of every upload.
"""

import logging

import orjson
from django.db import transaction
from django.db.models import F, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from catalog.services.upsert import bulk_upsert
from catalog.sku import merchant_sku
from feeds.selectors import sku_prefix
from kaspisync.gcpause import gc_paused

from ..card import build_card, card_hash
from ..models import CardStatus, ProductCard, UploadState
from ..selectors import category_product_rows, mapped_specs, product_ids_in, product_rows

log = logging.getLogger(__name__)

BATCH = 2000  # products read, built and written at a time: memory stays flat at any catalog size
UPDATE_FIELDS = ("status", "reasons", "card_hash", "sku", "kaspi_category", "checked_at")
_EXISTING = ("product_id", "status", "reasons_json", "card_hash", "sku", "kaspi_category", "upload_state", "sent_hash")


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


def _spans(product_ids, specs):
    """(products with their properties, ids of the products whose card rows they cover), by
    ascending id, at most BATCH at a time. A full refresh (product_ids None) reads the products
    of mapped categories, then the card rows of products outside every mapped category."""
    if product_ids is not None:
        ids = sorted(set(product_ids))
        for start in range(0, len(ids), BATCH):
            part = ids[start : start + BATCH]
            yield product_rows(part), part
        return
    ids, categories = product_ids_in(specs), list(specs)
    for start in range(0, len(ids), BATCH):
        part = ids[start : start + BATCH]
        yield category_product_rows(categories, part[0], part[-1]), part
    orphans = ProductCard.objects.exclude(product__category_id__in=list(specs)).order_by("product_id")
    last = 0
    while ids := list(orphans.filter(product_id__gt=last).values_list("product_id", flat=True)[:BATCH]):
        yield [], ids
        last = ids[-1]


def _existing(ids: list[int], rows) -> dict[int, tuple]:
    """{product id: stored card row} of these products (ascending ids) and of these rows."""
    wanted = {*ids, *(row.id for row, _properties in rows)}
    first, last = min(wanted), max(wanted)
    if last - first < 2 * len(wanted):  # dense (a full refresh): a range is cheaper than thousands of ids
        cards = ProductCard.objects.filter(product_id__gte=first, product_id__lte=last)
    else:
        cards = ProductCard.objects.filter(product_id__in=wanted)
    reasons = Cast("reasons", TextField())  # decoded by orjson, not Django's json
    return {
        row[0]: (row[1], orjson.loads(row[2]), *row[3:])
        for row in cards.annotate(reasons_json=reasons).values_list(*_EXISTING)
        if row[0] in wanted
    }


def _built(rows, specs, prefix):
    for row, properties in rows:
        covered = specs.get(row.category_id)
        if covered is None:
            yield row, None, None, None, ""
            continue
        mapping_id, spec = covered
        card, reasons = build_card(row, merchant_sku(row.article, prefix), spec, properties)
        yield row, mapping_id, card, reasons, card_hash(card)


def evaluate(product_ids=None, *, specs=None):
    """Yield (row, mapping id, card, reasons, hash) for the products of mapped categories (or
    these products: those outside every mapped category come with mapping id None)."""
    specs = mapped_specs() if specs is None else specs
    prefix = sku_prefix()  # the price list's: a card's SKU is exactly the offer's
    for rows, _ids in _spans(product_ids, specs):
        yield from _built(rows, specs, prefix)


def ready_cards(product_ids) -> tuple[dict[int, tuple[dict, str]], int]:
    """({product id: (card, hash)} of these products whose card is ready to send, how many of
    them are not: outside every mapped category, or with reasons)."""
    cards, not_ready = {}, 0
    with gc_paused():
        for row, mapping_id, card, reasons, current_hash in evaluate(product_ids):
            if mapping_id is None or reasons:
                not_ready += 1
            else:
                cards[row.id] = (card, current_hash)
    return cards, not_ready


def refresh_readiness(product_ids=None) -> dict[str, int]:
    """Recompute and store the card status of these products (None: all); {status: count} of
    the products looked at."""
    with gc_paused():
        counts = _refresh(product_ids)
    _settle_upload_states()
    return counts


def _refresh(product_ids) -> dict[str, int]:
    now = timezone.now()
    specs, prefix = mapped_specs(), sku_prefix()
    counts: dict[str, int] = {}
    for rows, ids in _spans(product_ids, specs):
        existing = _existing(ids, rows)
        states = []  # (product id, (status, reasons, card hash, sku, Kaspi category), old row)
        for row, mapping_id, card, reasons, current_hash in _built(rows, specs, prefix):
            old = existing.pop(row.id, None)
            if mapping_id is not None:
                upload_state, sent_hash = (old[5], old[6]) if old else ("", "")
                status = derive_status(True, reasons, upload_state, current_hash, sent_hash)
                states.append((row.id, (status, reasons, current_hash, card["sku"], card["category"]), old))
            elif old is not None:
                states.append((row.id, _unmapped(old), old))
        # Cards of products no longer in a mapped category (a full refresh visits mapped ones only).
        states.extend((product_id, _unmapped(old), old) for product_id, old in existing.items())
        writes = []
        for product_id, new, old in states:
            counts[new[0]] = counts.get(new[0], 0) + 1
            if old is None or old[:5] != new:
                status, reasons, current_hash, sku, category = new
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
        with transaction.atomic():
            bulk_upsert(ProductCard, writes, unique_field="product", update_fields=UPDATE_FIELDS)
    return counts


def _unmapped(old: tuple) -> tuple:
    """The stored state of a card whose product is outside every mapped category."""
    _status, _reasons, current_hash, sku, _category, upload_state, sent_hash = old
    return derive_status(False, [], upload_state, current_hash, sent_hash), [], current_hash, sku, ""


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
