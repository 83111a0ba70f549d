"""Catalog import from Al-Style: the full import and the quick price/stock refresh.

    run = import_catalog()                       # full: categories, brands, every product
    run = import_catalog(quick=True)             # one `quantity-price` call: prices and stock
    run.status, run.created, run.updated, run.unchanged, run.deactivated, run.skipped

One import (full or quick) runs at a time across all workers (job lock "catalog.import"); a
second trigger meanwhile leaves a SKIPPED run row. Products are upserted by article in bulk and
only rows whose supplier data changed are written (a fingerprint of the normalised supplier
values is kept in `Product.supplier_hash`). A product missing from a *complete* full run is
marked inactive, never deleted: deactivation happens only after every page was read, the total
stayed the same on every page and every product of that total was seen (offset paging over a
catalog that changes can shift products between pages). A run that fails midway has only
upserted what a later complete run would write too. Every change of dealer price, retail price,
stock and the active flag is recorded in `ProductChange`. Once committed, the products that
changed go to `hooks.after_import` (pricing) and `catalog_changed` is sent.
"""

import logging
import time
from collections import Counter
from functools import partial

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kaspisync.models import RunTrigger
from kaspisync.runs import queue_after_commit, run_job
from kaspisync.secrets import mask

from ..alstyle import AlstyleClient
from ..models import Brand, Category, ImportKind, ImportRun, Product, ProductChange
from ..normalize import ProductData, SkipProduct
from ..selectors import products_in_scope
from ..signals import catalog_changed
from . import hooks
from .upsert import bulk_upsert

log = logging.getLogger(__name__)

LOCK_NAME = "catalog.import"
WRITE_BATCH = 2000  # products per write transaction
LOCK_REFRESH_SECONDS = 30
SUPPLIER_FIELDS = (
    "article_pn",
    "name",
    "full_name",
    "category",
    "brand",
    "dealer_price",
    "retail_price",
    "rrp",
    "unsellable_reason",
    "stock",
    "stock_qualifier",
    "warehouse_stock",
    "is_new",
    "barcode",
    "weight",
    "warranty",
    "description",
    "url",
    "images",
    "markdown_stock",
    "markdown_price",
)
UPSERT_FIELDS = SUPPLIER_FIELDS + ("supplier_hash", "is_active", "changed_at")
QUICK_FIELDS = ("dealer_price", "retail_price", "unsellable_reason", "stock", "stock_qualifier", "warehouse_stock")
# Tracked in ProductChange, in this order in the "old values" tuples below.
HISTORY_FIELDS = (ProductChange.Field.DEALER_PRICE, ProductChange.Field.RETAIL_PRICE, ProductChange.Field.STOCK)


def import_catalog(
    *,
    quick: bool = False,
    trigger: str = RunTrigger.SCHEDULE,
    triggered_by: str = "",
    progress=None,
    client: AlstyleClient | None = None,
) -> ImportRun:
    """Run a full import (or a quick refresh); returns its ImportRun (SKIPPED if one was running).

    `progress(done, total)` is called after every page (the management command draws a bar)."""
    kind = ImportKind.QUICK if quick else ImportKind.FULL
    changed: set[int] = set()
    try:
        with run_job(ImportRun, LOCK_NAME, trigger=trigger, triggered_by=triggered_by, kind=kind) as job:
            if job.skipped:
                return job.run
            if job.abandoned:
                # A run whose worker died may have written batches it never repriced: reprice all.
                changed.update(Product.objects.values_list("pk", flat=True))
            client = client or AlstyleClient()

            def report(done, total):  # live progress on the run row (the admin), and the caller's
                counters = {name: getattr(job.run, name) for name in ("created", "updated", "unchanged")}
                job.progress(_("reading products"), done, total, requests_made=client.requests_made, **counters)
                if progress:
                    progress(done, total)

            importer = (QuickRefresh if quick else FullImport)(job, client, report)
            try:
                importer.execute()
            finally:
                job.run.requests_made = client.requests_made
                job.run.skipped = dict(importer.skipped)
                if importer.stock_unreadable:
                    job.run.stats["stock_unreadable"] = importer.stock_unreadable
                changed |= importer.changed_ids
    finally:
        # Batches written stay written, a failed run's too: reprice them and tell the feed, or the
        # next run would find them unchanged and never reprice them.
        if changed:
            transaction.on_commit(partial(_after_commit, job.run, sorted(changed)))
    return job.run


def queue_import(*, quick: bool = False, triggered_by: str = "") -> None:
    """Queue an import on the workers once the caller's transaction commits (admin buttons)."""
    from ..tasks import import_catalog as task

    queue_after_commit(task, quick=quick, trigger=RunTrigger.ADMIN, triggered_by=triggered_by)


def _after_commit(run: ImportRun, changed_ids: list[int]) -> None:
    if not changed_ids:
        return
    try:
        hooks.after_import(run, changed_ids)
    except Exception as exc:  # the import itself is committed; pricing reports its own failure
        log.error("after_import failed for import run #%s: %s", run.pk, mask(exc), exc_info=True)
    catalog_changed.send(
        sender=ImportRun, reason="quick" if run.kind == ImportKind.QUICK else "import", product_count=len(changed_ids)
    )


def nested_set_parents(rows) -> dict[int, tuple[int | None, int]]:
    """{category id: (parent id, depth)} from the supplier's nested set (left/right)."""
    result, stack = {}, []
    for row in sorted(rows, key=lambda r: r.left):
        while stack and not (stack[-1].left < row.left < stack[-1].right):
            stack.pop()
        result[row.id] = (stack[-1].id if stack else None, len(stack) + 1)
        stack.append(row)
    return result


class _Importer:
    def __init__(self, job, client: AlstyleClient, progress=None):
        self.job = job
        self.run: ImportRun = job.run
        self.lock = job.lock
        self.client = client
        self.progress = progress or (lambda done, total: None)
        self.now = timezone.now()
        self.skipped: Counter = Counter()
        self.stock_unreadable = 0  # products whose `quantity` was garbage: stored with stock 0
        self.changed_ids: set[int] = set()
        self._refreshed = time.monotonic()

    def keep_lock(self) -> None:
        """Long runs keep their lock, and show their progress in the admin meanwhile."""
        if time.monotonic() - self._refreshed < LOCK_REFRESH_SECONDS:
            return
        self.lock.refresh()
        self.run.requests_made = self.client.requests_made
        self.run.save(update_fields=["created", "updated", "unchanged", "requests_made"])
        self._refreshed = time.monotonic()

    def history(self, product_id: int, old: tuple, new: tuple) -> list[ProductChange]:
        return [
            ProductChange(
                product_id=product_id, field=name, old_value=before, new_value=after, changed_at=self.now, run=self.run
            )
            for name, before, after in zip(HISTORY_FIELDS, old, new)
            if before != after
        ]

    def active_change(self, product_id: int, active: bool) -> ProductChange:
        return ProductChange(
            product_id=product_id,
            field=ProductChange.Field.ACTIVE,
            old_value=int(not active),
            new_value=int(active),
            changed_at=self.now,
            run=self.run,
        )


class FullImport(_Importer):
    def execute(self) -> None:
        self.job.progress(_("reading categories"))
        self.categories = self.import_categories()
        self.job.progress(_("reading brands"))
        self.brands = self.import_brands()
        # article -> (id, supplier_hash, is_active), read once; old prices only for rows that changed.
        self.existing = {
            row[0]: row[1:] for row in Product.objects.values_list("article", "id", "supplier_hash", "is_active")
        }
        seen: set[int] = set()
        totals: set[int] = set()
        pending: list = []
        for page in self.client.product_pages():
            totals.add(page.total_count)
            for skip in page.skipped:
                self.skip(skip, seen)
            for item in page.products:
                if item.article in seen:
                    self.skipped["duplicate_across_pages"] += 1
                    continue
                seen.add(item.article)
                old = self.existing.get(item.article)
                if old is not None and old[1] == item.fingerprint and old[2]:
                    self.run.unchanged += 1
                    continue
                try:
                    pending.append((item.data(), item.fingerprint, old))
                except SkipProduct as skip:
                    self.skip(skip, seen)
            if len(pending) >= WRITE_BATCH:
                self.write(pending)
                pending = []
            self.progress(len(seen), page.total_count)
            self.keep_lock()
        self.write(pending)
        self.deactivate_missing(seen, totals)

    def skip(self, skip: SkipProduct, seen: set[int]) -> None:
        self.skipped[skip.reason] += 1
        if skip.article:
            seen.add(skip.article)  # a bad row of a product that exists: do not deactivate it

    # --- categories and brands ----------------------------------------------------------------------
    def import_categories(self) -> set[int]:
        rows = self.client.categories()
        links = nested_set_parents(rows)
        fields = ("name", "parent_id", "level", "left", "right", "elements", "is_active")
        existing = {row[0]: row[1:] for row in Category.objects.values_list("id", *fields)}
        changed = []
        for row in rows:
            parent_id, depth = links[row.id]
            values = (row.name, parent_id, row.level or depth, row.left, row.right, row.elements, True)
            if existing.get(row.id) != values:
                changed.append(Category(id=row.id, **dict(zip(fields, values))))
        seen = {row.id for row in rows}
        with transaction.atomic():
            Category.objects.bulk_create(
                changed,
                update_conflicts=True,
                unique_fields=["id"],
                update_fields=[f.removesuffix("_id") for f in fields],
            )
            gone = [pk for pk, values in existing.items() if pk not in seen and values[-1]]
            if rows and gone:
                Category.objects.filter(id__in=gone).update(is_active=False)
        # A category re-filed under another parent changes which category rules and commission
        # apply to every product below it: they are repriced with the products that changed.
        for moved in (c.id for c in changed if c.id in existing and existing[c.id][1] != c.parent_id):
            self.changed_ids.update(products_in_scope(category_id=moved))
        return seen

    def import_brands(self) -> dict[str, int]:
        existing = {row[0]: row[1:] for row in Brand.objects.values_list("name", "alstyle_guid", "product_count")}
        changed, guids = [], set()
        for row in self.client.brands():
            guid = row.guid or None
            if guid in guids:
                guid = None  # the GUID is unique: keep the first name that claims it
            guids.add(guid)
            if existing.get(row.name) != (guid, row.count):
                changed.append(Brand(name=row.name, alstyle_guid=guid, product_count=row.count))
        with transaction.atomic():
            taken = [b.name for b in changed if b.alstyle_guid]
            # A GUID that moved to another name must leave the old one first.
            Brand.objects.filter(alstyle_guid__in=[b.alstyle_guid for b in changed if b.alstyle_guid]).exclude(
                name__in=taken
            ).update(alstyle_guid=None)
            Brand.objects.bulk_create(
                changed, update_conflicts=True, unique_fields=["name"], update_fields=["alstyle_guid", "product_count"]
            )
        return dict(Brand.objects.values_list("name", "id"))

    def brand_ids(self, names: set[str]) -> None:
        """Brands named by products but missing from `brands` are created on the fly."""
        missing = {n for n in names if n and n not in self.brands}
        if missing:
            Brand.objects.bulk_create([Brand(name=n) for n in sorted(missing)], ignore_conflicts=True)
            self.brands.update(Brand.objects.filter(name__in=missing).values_list("name", "id"))

    # --- products -----------------------------------------------------------------------------------
    def write(self, pending: list) -> None:
        if not pending:
            return
        self.brand_ids({item.brand for item, _digest, _old in pending})
        rows = [self.row(item, digest) for item, digest, _old in pending]
        self.stock_unreadable += sum(item.stock_unreadable for item, _digest, _old in pending)
        ids = [old[0] for _item, _digest, old in pending if old is not None]
        before = {row[0]: row[1:] for row in Product.objects.filter(id__in=ids).values_list("id", *HISTORY_FIELDS)}
        changes = []
        for item, _digest, old in pending:
            if old is None:
                self.run.created += 1
                continue
            self.run.updated += 1
            self.changed_ids.add(old[0])
            changes += self.history(old[0], before[old[0]], (item.dealer_price, item.retail_price, item.stock))
            if not old[2]:
                changes.append(self.active_change(old[0], True))
        with transaction.atomic():
            bulk_upsert(Product, rows, unique_field="article", update_fields=UPSERT_FIELDS)
            ProductChange.objects.bulk_create(changes, batch_size=1000)
        created = [item.article for item, _digest, old in pending if old is None]
        if created:
            self.changed_ids.update(Product.objects.filter(article__in=created).values_list("id", flat=True))

    def row(self, item: ProductData, digest: str) -> dict:
        """The product's columns. A row whose category is unknown keeps an empty fingerprint, so it
        is written again (and linked) once the category exists."""
        category_id = item.category_id if item.category_id in self.categories else None
        return {
            "article": item.article,
            "article_pn": item.article_pn,
            "name": item.name,
            "full_name": item.full_name,
            "category_id": category_id,
            "brand_id": self.brands.get(item.brand),
            "dealer_price": item.dealer_price,
            "retail_price": item.retail_price,
            "rrp": item.rrp,
            "unsellable_reason": item.unsellable_reason,
            "stock": item.stock,
            "stock_qualifier": item.stock_qualifier,
            "warehouse_stock": item.warehouse_stock,
            "is_new": item.is_new,
            "barcode": item.barcode,
            "weight": item.weight,
            "warranty": item.warranty,
            "description": item.description,
            "url": item.url,
            "images": item.images,
            "markdown_stock": item.markdown_stock,
            "markdown_price": item.markdown_price,
            "supplier_hash": digest if category_id == item.category_id else "",
            "is_active": True,
            "changed_at": self.now,
        }

    def deactivate_missing(self, seen: set[int], totals: set[int]) -> None:
        reason = None
        if not seen:
            reason = _("the supplier returned no products")
        elif not all(totals):
            reason = _("the supplier did not say how many products there are (no pagination total)")
        elif len(totals) > 1:
            reason = _("the catalog changed while it was being read (total %(totals)s)") % {
                "totals": " → ".join(map(str, sorted(totals)))
            }
        elif len(seen) < max(totals):
            reason = _("%(seen)d distinct products read of %(total)d announced (offset paging shifted)") % {
                "seen": len(seen),
                "total": max(totals),
            }
        if reason:
            self.run.stats["deactivation_skipped"] = str(reason)
            log.warning("Import run #%s: not deactivating missing products: %s", self.run.pk, reason)
            return
        gone = [row[0] for article, row in self.existing.items() if row[2] and article not in seen]
        with transaction.atomic():
            for start in range(0, len(gone), WRITE_BATCH):
                chunk = gone[start : start + WRITE_BATCH]
                Product.objects.filter(id__in=chunk).update(is_active=False, changed_at=self.now)
                ProductChange.objects.bulk_create([self.active_change(pk, False) for pk in chunk], batch_size=1000)
        self.run.deactivated = len(gone)
        self.changed_ids.update(gone)


class QuickRefresh(_Importer):
    """Prices and stock of every known product from one `quantity-price` call; no deactivation."""

    def execute(self) -> None:
        self.job.progress(_("reading prices and stock"))
        entries, skipped = self.client.quantity_price()
        for skip in skipped:
            self.skipped[skip.reason] += 1
        existing = {row[0]: row[1:] for row in Product.objects.values_list("article", "id", *QUICK_FIELDS)}
        products, changes = [], []
        for entry in entries:
            old = existing.get(entry.article)
            if old is None:
                self.skipped["unknown_article"] += 1
                continue
            self.stock_unreadable += entry.stock_unreadable
            by_warehouse = old[6] if entry.warehouse_stock is None else entry.warehouse_stock
            new = (
                entry.dealer_price,
                entry.retail_price,
                entry.unsellable_reason,
                entry.stock,
                entry.stock_qualifier,
                by_warehouse,
            )
            if old[1:] == new:
                self.run.unchanged += 1
                continue
            # The stored fingerprint no longer describes the row: the next full import rewrites it.
            products.append(Product(id=old[0], supplier_hash="", changed_at=self.now, **dict(zip(QUICK_FIELDS, new))))
            changes += self.history(
                old[0], (old[1], old[2], old[4]), (entry.dealer_price, entry.retail_price, entry.stock)
            )
        with transaction.atomic():
            Product.objects.bulk_update(products, QUICK_FIELDS + ("supplier_hash", "changed_at"), batch_size=500)
            ProductChange.objects.bulk_create(changes, batch_size=1000)
        self.run.updated = len(products)
        self.changed_ids.update(p.pk for p in products)
        self.progress(len(entries), len(entries))
