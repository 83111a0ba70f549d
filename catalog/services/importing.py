"""Catalog import from Al-Style: the full import and the quick price/stock refresh.

    run = import_catalog()                       # full: categories, brands, every product
    run = import_catalog(quick=True)             # one `quantity-price` call: prices and stock
    run.status, run.created, run.updated, run.unchanged, run.deactivated, run.skipped

One import (full or quick) runs at a time across all workers (job lock "catalog.import"); a
second trigger meanwhile leaves a SKIPPED run row. Products are upserted by article in bulk and
only rows whose supplier data changed are written (a fingerprint of the supplier's values is kept
in `Product.supplier_hash`). Pages are streamed, one at a time; changed products are written
every WRITE_BATCH, and what the run remembers of the stored catalog (article, id, fingerprint,
active) lives in compact arrays (`KnownProducts`), the articles read and the ids of the products
changed in bit sets (`IntBits`), not Python objects.

A product missing from a *complete* full run is marked inactive, never deleted. Complete means:
every page was read, the supplier's total stayed the same on every page, and that total is
explained by what was read: distinct products + records repeating one already read + records
without a usable article (`Records`). Otherwise the run says in words why it deactivated nothing
(`stats["deactivation_skipped"]`). A run that fails midway has only upserted what a later complete
run would write too. Every change of dealer price, retail price, stock and the active flag is
recorded in `ProductChange`. Supplier values that could not be used (unreadable, out of bounds:
catalog.normalize) are counted per field and kind with a few examples (`stats["value_problems"]`).
Once committed, the products that changed go to `hooks.after_import` (pricing) and
`catalog_changed` is sent.
"""

import logging
import time
from array import array
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass
from functools import partial

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kaspisync.models import RunTrigger
from kaspisync.runs import queue_after_commit, run_job
from kaspisync.secrets import mask

from ..alstyle import AlstyleClient
from ..models import Brand, Category, ImportKind, ImportRun, Product, ProductChange
from ..normalize import Problem, ProductData, SkipProduct
from ..selectors import products_in_scope
from ..signals import catalog_changed
from ..wiring import IMPORT_LOCK
from . import hooks
from .upsert import bulk_upsert

log = logging.getLogger(__name__)

LOCK_NAME = IMPORT_LOCK
WRITE_BATCH = 500  # changed products per write transaction (what is held in memory meanwhile)
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
    "unsellable_value",
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
QUICK_FIELDS = (
    "dealer_price",
    "retail_price",
    "unsellable_reason",
    "unsellable_value",
    "stock",
    "stock_qualifier",
    "warehouse_stock",
)
DUPLICATE, UNKNOWN_ARTICLE = "duplicate_across_pages", "unknown_article"  # skip reasons of the run
EXAMPLES_KEPT = 5  # unusable supplier values listed per field and kind on the run (all are counted)
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
    changed = IntBits()  # product ids to reprice (a bit each; in order, each once)
    try:
        with run_job(ImportRun, LOCK_NAME, trigger=trigger, triggered_by=triggered_by, kind=kind) as job:
            if job.skipped:
                return job.run
            if job.abandoned:
                # A run whose worker died may have written batches it never repriced: reprice all.
                changed.extend(Product.objects.values_list("pk", flat=True).iterator(chunk_size=5000))
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
                if importer.problems:
                    job.run.stats["value_problems"] = importer.problems.as_stats()
                changed.extend(importer.changed_ids)
    finally:
        # Batches written stay written, a failed run's too: reprice them and tell the feed, or the
        # next run would find them unchanged and never reprice them.
        if changed:
            transaction.on_commit(partial(_after_commit, job.run, array("q", changed)))
    return job.run


def queue_import(*, quick: bool = False, triggered_by: str = "") -> None:
    """Queue an import on the workers once the caller's transaction commits (admin buttons)."""
    from ..tasks import import_catalog as task

    queue_after_commit(task, quick=quick, trigger=RunTrigger.ADMIN, triggered_by=triggered_by)


def _after_commit(run: ImportRun, changed_ids: array) -> None:
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


class ValueProblems:
    """The supplier values a run could not use, per supplier field and kind: every one counted,
    the first EXAMPLES_KEPT kept with their article ("много" for article 20908)."""

    def __init__(self):
        self.counts: Counter = Counter()
        self.examples: dict[tuple[str, str], list] = {}

    def __bool__(self) -> bool:
        return bool(self.counts)

    def add(self, article: int, problems: tuple[Problem, ...]) -> None:
        for problem in problems:
            key = (problem.field, problem.kind)
            self.counts[key] += 1
            kept = self.examples.setdefault(key, [])
            if len(kept) < EXAMPLES_KEPT:
                kept.append([article, problem.value])

    def as_stats(self) -> list[dict]:
        """[{"field", "kind", "count", "examples": [[article, value as sent], ...]}] (JSON)."""
        return [
            {"field": field, "kind": kind, "count": count, "examples": self.examples[(field, kind)]}
            for (field, kind), count in sorted(self.counts.items())
        ]


@dataclass
class Records:
    """What the pages of one full run held, against the total the supplier announced."""

    read: int = 0  # distinct products (articles), usable or not
    duplicates: int = 0  # records repeating an article already read (offset paging, or the supplier's own)
    unusable: int = 0  # records without a usable article (not an object, a bad article)
    totals: frozenset = frozenset()  # every total the pages announced (one when the catalog held still)
    complete: bool = False  # the last page read reached the announced total

    @property
    def explained(self) -> int:
        return self.read + self.duplicates + self.unusable

    def as_stats(self) -> dict:
        total = max(self.totals) if self.totals else 0
        return {"read": self.read, "duplicates": self.duplicates, "unusable": self.unusable, "total": total}


class IntBits:
    """A set of non-negative integers (articles, product ids) as bits: {n // 64: a 64-bit mask}.
    Articles and ids run close together, so 50,000 of them take some 800 small ints (a Python set
    of them: about 3 MB, and 4 MB more to sort it); far apart, it is no bigger than a set.
    Iterating yields them in ascending order."""

    __slots__ = ("_masks",)

    def __init__(self):
        self._masks: dict[int, int] = {}

    def __bool__(self) -> bool:
        return bool(self._masks)

    def __len__(self) -> int:
        return sum(mask.bit_count() for mask in self._masks.values())

    def __iter__(self):
        for key in sorted(self._masks):
            mask, base = self._masks[key], key << 6
            while mask:
                lowest = mask & -mask
                yield base + lowest.bit_length() - 1
                mask ^= lowest

    def add(self, number: int) -> bool:
        """Add the number; False when it was there already."""
        key, bit = number >> 6, 1 << (number & 63)
        mask = self._masks.get(key, 0)
        if mask & bit:
            return False
        self._masks[key] = mask | bit
        return True

    def extend(self, numbers) -> None:
        add = self.add
        for number in numbers:
            add(number)

    def clear(self) -> None:
        self._masks.clear()


class KnownProducts:
    """The stored catalog as a full run needs it: article -> id, fingerprint, active, and whether
    this run read it. Compact arrays sorted by article (about 35 bytes a product; a dict of tuples
    and hex strings took about 250) searched by bisection; articles not stored yet are noted in
    `IntBits`."""

    DIGEST = 16  # bytes of an MD5 fingerprint

    def __init__(self):
        self.articles = array("q")
        self.ids = array("q")
        self.digests = bytearray()
        self.active = bytearray()
        empty = bytes(self.DIGEST)  # never the digest of anything read: the row is written again
        rows = Product.objects.order_by("article").values_list("article", "id", "supplier_hash", "is_active")
        for article, pk, digest, active in rows.iterator(chunk_size=5000):
            self.articles.append(article)
            self.ids.append(pk)
            self.digests += bytes.fromhex(digest) if len(digest) == 2 * self.DIGEST else empty
            self.active.append(active)
        self.seen = bytearray(len(self.articles))
        self.new_seen = IntBits()

    def find(self, article: int) -> int:
        """The article's position, or -1 when it is not stored."""
        index = bisect_left(self.articles, article)
        return index if index < len(self.articles) and self.articles[index] == article else -1

    def unchanged(self, index: int, digest: bytes) -> bool:
        """Stored, active and with this very fingerprint: nothing to write."""
        start = index * self.DIGEST
        return self.active[index] and self.digests[start : start + self.DIGEST] == digest

    def mark_seen(self, article: int, index: int) -> bool:
        """Note the article as read; False if this run read it already."""
        if index >= 0:
            if self.seen[index]:
                return False
            self.seen[index] = 1
            return True
        return self.new_seen.add(article)

    def active_not_seen(self) -> list[int]:
        """Ids of the stored active products this run did not read."""
        return [self.ids[i] for i in range(len(self.articles)) if self.active[i] and not self.seen[i]]


class _Importer:
    def __init__(self, job, client: AlstyleClient, progress=None):
        self.job = job
        self.run: ImportRun = job.run
        self.lock = job.lock
        self.client = client
        self.progress = progress or (lambda done, total: None)
        self.now = timezone.now()
        self.skipped: Counter = Counter()
        self.problems = ValueProblems()
        self.changed_ids = IntBits()  # products written (to reprice)
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
        self.known = known = KnownProducts()
        records = Records()
        totals: set[int] = set()
        pending: list = []  # (normalised product, fingerprint, KnownProducts index or -1): written every WRITE_BATCH
        for page in self.client.product_pages():
            totals.add(page.total_count)
            records.complete = bool(page.total_count) and page.offset + page.limit >= page.total_count
            for skip in page.skipped:  # records without a usable article
                records.unusable += 1
                self.skipped[skip.reason] += 1
            for item in page.products:
                index = known.find(item.article)
                if not known.mark_seen(item.article, index):
                    records.duplicates += 1
                    self.skipped[DUPLICATE] += 1
                    continue
                records.read += 1
                if index >= 0 and known.unchanged(index, item.fingerprint):
                    self.run.unchanged += 1
                    continue
                try:
                    data = item.data()
                except SkipProduct as skip:  # read (it exists: never deactivated), but not stored
                    self.skipped[skip.reason] += 1
                    continue
                pending.append((data, item.fingerprint, index))
                if data.problems:
                    self.problems.add(data.article, data.problems)
            page = item = None  # the page's raw products go before the next page is waited for
            if len(pending) >= WRITE_BATCH:
                self.write(pending)
                pending = []
            self.progress(records.read, max(totals))
            self.keep_lock()
        self.write(pending)
        records.totals = frozenset(totals)
        self.run.stats["records"] = records.as_stats()
        known.new_seen.clear()  # no longer needed: memory for what follows
        self.deactivate_missing(records)

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
            self.changed_ids.extend(products_in_scope(category_id=moved))
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
        known = self.known
        self.brand_ids({item.brand for item, _digest, _index in pending})
        ids = [known.ids[index] for _item, _digest, index in pending if index >= 0]
        before = {row[0]: row[1:] for row in Product.objects.filter(id__in=ids).values_list("id", *HISTORY_FIELDS)}
        changes = []
        for item, _digest, index in pending:
            if index < 0:
                self.run.created += 1
                continue
            pk = known.ids[index]
            self.run.updated += 1
            self.changed_ids.add(pk)
            changes += self.history(pk, before[pk], (item.dealer_price, item.retail_price, item.stock))
            if not known.active[index]:
                changes.append(self.active_change(pk, True))
        with transaction.atomic():
            rows = (self.row(item, digest) for item, digest, _index in pending)  # made as they are sent
            bulk_upsert(Product, rows, unique_field="article", update_fields=UPSERT_FIELDS)
            ProductChange.objects.bulk_create(changes, batch_size=1000)
        created = [item.article for item, _digest, index in pending if index < 0]
        if created:
            self.changed_ids.extend(Product.objects.filter(article__in=created).values_list("id", flat=True))

    def row(self, item: ProductData, digest: bytes) -> dict:
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
            "unsellable_value": item.unsellable_value,
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
            "supplier_hash": digest.hex() if category_id == item.category_id else "",
            "is_active": True,
            "changed_at": self.now,
        }

    def deactivate_missing(self, records: Records) -> None:
        reason = self.why_not_deactivate(records)
        if reason:
            self.run.stats["deactivation_skipped"] = str(reason)
            log.warning("Import run #%s: not deactivating missing products: %s", self.run.pk, reason)
            return
        gone = self.known.active_not_seen()
        with transaction.atomic():
            for start in range(0, len(gone), WRITE_BATCH):
                chunk = gone[start : start + WRITE_BATCH]
                Product.objects.filter(id__in=chunk).update(is_active=False, changed_at=self.now)
                ProductChange.objects.bulk_create([self.active_change(pk, False) for pk in chunk], batch_size=1000)
        self.run.deactivated = len(gone)
        self.changed_ids.extend(gone)

    @staticmethod
    def why_not_deactivate(records: Records) -> str | None:
        """Why the products this run did not read cannot be taken for dropped (None: they can)."""
        totals = records.totals
        if not records.read:
            return _("the supplier returned no products")
        if not all(totals):
            return _("the supplier did not say how many products there are (no pagination total)")
        if len(totals) > 1:
            return _("the catalog changed while it was being read (total %(totals)s)") % {
                "totals": " → ".join(map(str, sorted(totals)))
            }
        total = max(totals)
        if not records.complete:
            return _("the supplier's pages ended before its total (%(total)d)") % {"total": total}
        if records.explained != total:
            return _(
                "the supplier's total (%(total)d) is not explained by its pages: distinct products %(read)d, "
                "repeated records %(duplicates)d, records without a usable article %(unusable)d "
                "(%(explained)d in all)"
            ) % {
                "total": total,
                "read": records.read,
                "duplicates": records.duplicates,
                "unusable": records.unusable,
                "explained": records.explained,
            }
        return None


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
                self.skipped[UNKNOWN_ARTICLE] += 1
                continue
            if entry.problems:
                self.problems.add(entry.article, entry.problems)
            new = (
                entry.dealer_price,
                entry.retail_price,
                entry.unsellable_reason,
                entry.unsellable_value,
                entry.stock,
                entry.stock_qualifier,
                old[-1] if entry.warehouse_stock is None else entry.warehouse_stock,
            )
            if old[1:] == new:
                self.run.unchanged += 1
                continue
            # The stored fingerprint no longer describes the row: the next full import rewrites it.
            products.append(Product(id=old[0], supplier_hash="", changed_at=self.now, **dict(zip(QUICK_FIELDS, new))))
            changes += self.history(
                old[0], (old[1], old[2], old[5]), (entry.dealer_price, entry.retail_price, entry.stock)
            )
        with transaction.atomic():
            Product.objects.bulk_update(products, QUICK_FIELDS + ("supplier_hash", "changed_at"), batch_size=500)
            ProductChange.objects.bulk_create(changes, batch_size=1000)
        self.run.updated = len(products)
        self.changed_ids.extend(p.pk for p in products)
        self.progress(len(entries), len(entries))
