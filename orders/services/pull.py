"""Pull orders from Kaspi into the database.

Kaspi has no webhooks: every state is listed in creation-date windows of at most 14 days, page
by page, each list call asking Kaspi to include the orders' entries (`include[orders]=entries`).
An order whose attributes did not change (same hash) is not written and nothing more is asked
about it, so an unchanged re-pull costs only the list pages. New and changed orders get their
entries from the list answer (or, for the orders an answer left out, one entries call each) and
their SKUs from `services.skus` (a hint that is one of our SKUs, else Kaspi's answer per master
product, asked once and kept); they are upserted by their Kaspi id a page at a time, and each
state/status change becomes a timeline event. Open orders older than the window are refreshed
one by one by their code, and so, now and then, are orders completed lately, which a buyer may
still return. A known order is written only if its row is unchanged since the pull read it
(`Order.version`): an action a user took meanwhile is newer than the pulled payload and is never
overwritten."""

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from kaspisync.http import ExternalServiceError, read_ahead_of
from kaspisync.models import RunStatus, RunTrigger
from kaspisync.runs import queue_after_commit, run_job
from kaspisync.secrets import mask

from .. import selectors
from ..kaspi import KaspiClient, KaspiEntry, KaspiOrder, OrdersPage, refused_for_good
from ..models import (
    EventSource,
    Order,
    OrderEntry,
    OrderEvent,
    OrderState,
    OrderStatus,
    PullRun,
    acceptance_values,
)
from ..wiring import PULL_LOCK
from . import notices
from .purchases import reservations_may_have_changed
from .skus import SkuResolver, call_or_error

log = logging.getLogger(__name__)

LOCK_NAME = PULL_LOCK
MAX_WINDOW = timedelta(days=14)
MAX_STORED_ERRORS = 50
WRITE_BATCH = 200

ORDER_FIELDS = [
    "code",
    "state",
    "status",
    "total_price",
    "payment_mode",
    "delivery_mode",
    "is_kaspi_delivery",
    "delivery_cost",
    "delivery_cost_for_seller",
    "signature_required",
    "pre_order",
    "credit_term",
    "pickup_point_id",
    "city",
    "customer_name",
    "customer_phone",
    "delivery_address",
    "delivery_address_data",
    "created_at",
    "approved_by_bank_at",
    "planned_delivery_at",
    "reservation_at",
    "waybill",
    "waybill_number",
    "courier_transmission_at",
    "courier_transmission_planned_at",
    "express",
    "returned_to_warehouse",
    "cancellation_reason",
    "raw",
    "attributes_hash",
]
ENTRY_FIELDS = [
    "entry_number",
    "sku",
    "product",
    "name",
    "master_product_code",
    "quantity",
    "unit_type",
    "base_price",
    "total_price",
    "delivery_cost",
    "category_code",
    "sku_error",
    "raw",
]


def order_values(kaspi_order: KaspiOrder) -> dict:
    """Order model field values from a normalised Kaspi order."""
    return {name: getattr(kaspi_order, name) for name in ORDER_FIELDS}


def update_values(kaspi_order: KaspiOrder) -> dict:
    """The values a pulled order writes over a stored one. A cancellation reason that Kaspi's
    payload leaves out does not blank the one stored (the user chose it when cancelling here),
    nor does a creation date it leaves out (or sends as something that is no date)."""
    values = order_values(kaspi_order)
    if not values["cancellation_reason"]:
        del values["cancellation_reason"]
    if values["created_at"] is None:
        del values["created_at"]
    return values


def write_pulled(before: dict, kaspi_order: KaspiOrder, now: datetime) -> bool:
    """Write a pulled order over its stored row only if nobody wrote the row since `before` (its
    fingerprint) was read: an action taken meanwhile is newer than this payload. Returns whether
    it was written; a skipped order is read again by the next pull (its stored hash is older).
    An order seen accepted that was stored waiting gets its acceptance time (`at` = `now`, the
    time of its timeline event)."""
    accepted = acceptance_values(
        before["status"],
        before["accepted_at"],
        kaspi_order.status,
        now,
        kaspi_order.approved_by_bank_at or kaspi_order.created_at,
    )
    updated = Order.objects.filter(pk=before["pk"], version=before["version"]).update(
        **update_values(kaspi_order), **accepted, version=F("version") + 1, changed_at=now
    )
    return updated == 1


def status_event(
    order_pk: int,
    before: dict | None,
    kaspi_order: KaspiOrder,
    now: datetime,
    *,
    source: str = EventSource.PULL,
    user=None,
    note: str = "",
) -> OrderEvent:
    """A timeline event for a read order: "first seen" (no `before`) or its change from `before`."""
    return OrderEvent(
        order_id=order_pk,
        at=now,
        source=source,
        user=user,
        from_state=before["state"] if before else "",
        to_state=kaspi_order.state,
        from_status=before["status"] if before else "",
        to_status=kaspi_order.status,
        note=note if before else note or _("first seen"),
    )


def store_read_order(before: dict, found: KaspiOrder, now: datetime, **event) -> bool:
    """Store an order read again on its own (by its code, outside a pull) as the pull stores it:
    Kaspi's values over the row unless it was written since `before` (its fingerprint) was read
    (`write_pulled`), and a changed state or status as a timeline event (`event`: its source, user
    and note, the pull's by default); an order whose attributes did not change (same hash) is not
    written. Returns whether a changed state or status was stored. Call it inside a transaction."""
    if before["attributes_hash"] == found.attributes_hash:
        return False
    if not (write_pulled(before, found, now) and status_changed(before, found)):
        return False
    status_event(before["pk"], before, found, now, **event).save()
    return True


def refresh_by_code(orders, client: KaspiClient) -> tuple[dict[int, str], list[tuple[str, ExternalServiceError]]]:
    """Read these orders ((pk, code) pairs) again from Kaspi, one call each (`filter[orders][code]`,
    retried by the client's policy), and store each as the pull does (`store_read_order`).
    Returns ({pk: the status Kaspi shows} for the orders Kaspi answered about, [(code, failure)]).
    A refusal about one order (400, 404) leaves that order out; any other failure (timeout, 5xx,
    a refused token) would fail the others too, so they are not asked."""
    statuses, failures = {}, []
    for pk, code in orders:
        try:
            found = client.order_by_code(code)
        except ExternalServiceError as exc:
            failures.append((code, exc))
            if refused_for_good(exc):
                continue
            break
        if found is None:
            continue
        with transaction.atomic():
            if store_read_order(selectors.order_fingerprint(pk), found, timezone.now()):
                reservations_may_have_changed("order pull")
        statuses[pk] = found.status
    return statuses, failures


def was_waiting(before: dict | None) -> bool:
    return before is not None and before["status"] == OrderStatus.APPROVED_BY_BANK


def status_changed(before: dict, kaspi_order: KaspiOrder) -> bool:
    return (before["state"], before["status"]) != (kaspi_order.state, kaspi_order.status)


def windows(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """[start, end] split into creation-date windows Kaspi accepts (≤ 14 days, bounds inclusive)."""
    result, cursor = [], start
    while cursor < end:
        upper = min(cursor + MAX_WINDOW, end)
        result.append((cursor, upper))
        cursor = upper + timedelta(milliseconds=1)
    return result


def pull_start(now: datetime, days: int | None) -> datetime:
    """First run: backfill ORDERS_BACKFILL_DAYS; later runs re-read the last ORDERS_REVISIT_DAYS
    (statuses change long after creation), reaching back further if the last successful pull
    is older than that (nothing created meanwhile is missed)."""
    if days is not None:
        return now - timedelta(days=days)
    last = PullRun.objects.filter(status=RunStatus.SUCCESS, window_end__isnull=False).order_by("-started_at").first()
    if last is None:
        return now - timedelta(days=settings.ORDERS_BACKFILL_DAYS)
    start = now - timedelta(days=settings.ORDERS_REVISIT_DAYS)
    return min(start, last.window_end - timedelta(hours=1))


def rematch_unmatched_entries() -> int:
    """Entries whose SKU matched no catalog product when stored are matched once the product
    has been imported (no request to Kaspi; nothing is written when nothing matches). Run by
    every pull and as soon as an import has committed (a first pull often runs before the
    first import ends). Returns how many entries were matched."""
    found = selectors.product_ids_for_skus(selectors.unmatched_skus())
    rematched = 0
    for sku, product_id in found.items():
        rematched += OrderEntry.objects.filter(product__isnull=True, sku=sku).update(product=product_id)
    return rematched


def pull_orders(
    *,
    days: int | None = None,
    trigger: str = RunTrigger.SCHEDULE,
    triggered_by: str = "",
    client: KaspiClient | None = None,
    progress=None,
) -> PullRun:
    """Run one pull (or record a SKIPPED run if another pull holds the lock). Returns the run."""
    with run_job(PullRun, LOCK_NAME, trigger=trigger, triggered_by=triggered_by) as job:
        if job.skipped:
            return job.run

        def report(message):  # live progress on the run row (the admin), and the caller's
            counters = {name: getattr(job.run, name) for name in ("orders_seen", "created", "updated")}
            job.progress(message, **counters)
            if progress:
                progress(message)

        puller = _Puller(job, client or KaspiClient(), report)
        try:
            puller.pull(days)
        finally:
            job.run.requests_made = puller.client.requests_made
            if job.run.created or job.run.updated or job.run.stats.get("rematched_entries"):
                reservations_may_have_changed("order pull")  # orders hold stock the price list offers
    return job.run


def queue_pull(*, triggered_by: str = "") -> None:
    """ "Pull orders now" from the admin: queued once the caller's transaction commits."""
    from ..tasks import pull_orders_task

    queue_after_commit(pull_orders_task, trigger=RunTrigger.ADMIN, triggered_by=triggered_by)


class _Puller:
    """Lists pages (entries included), resolves the SKUs of new and changed orders' entries and
    writes them, a page at a time, in this thread; a small pool only sends the calls a page needs
    besides its list call (entries Kaspi left out, SKU lookups), concurrently."""

    def __init__(self, job, client: KaspiClient, progress=None):
        self.job = job
        self.run: PullRun = job.run
        self.client = client
        self.progress = progress or (lambda message: None)
        self.error_texts: list[str] = []
        self.seen: set[str] = set()
        self.entries_fetched = 0  # orders whose entries the list answer did not include

    def pull(self, days: int | None) -> None:
        now = timezone.now()
        start = pull_start(now, days)
        self.run.window_start, self.run.window_end = start, now
        self.run.save(update_fields=["window_start", "window_end"])
        spans = windows(start, now)
        workers = max(1, settings.ORDERS_ENTRY_WORKERS)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kaspi-entries") as self.pool:
            self.skus = SkuResolver(self.client, self.pool)
            try:
                for state in OrderState.values:
                    for ge, le in spans:
                        self.list_window(state, ge, le)
                    self.job.lock.refresh()
                self.refresh_open_orders()
                self.rematch_entries()
            finally:
                self.run.stats = {
                    **self.run.stats,
                    "windows": len(spans),
                    "sku_lookups": self.skus.lookups,
                    "entries_fetched": self.entries_fetched,
                    "error_messages": self.error_texts,
                }

    def rematch_entries(self) -> None:
        rematched = rematch_unmatched_entries()
        if rematched:
            self.run.stats = {**self.run.stats, "rematched_entries": rematched}

    def list_window(self, state: str, ge: datetime, le: datetime) -> None:
        """Every page of one state's window; the next page is fetched while this one is written."""
        for page, result in enumerate(read_ahead_of(self.pages(state, ge, le), "kaspi-read-ahead")):
            self.store(result)
            self.progress(
                _("%(state)s %(from)s…%(to)s: page %(page)s of %(pages)s")
                % {
                    "state": OrderState(state).label,
                    "from": timezone.localdate(ge),
                    "to": timezone.localdate(le),
                    "page": page + 1,
                    "pages": max(result.page_count, 1),
                }
            )

    def pages(self, state: str, ge: datetime, le: datetime):
        page = 0
        while True:
            result = self.client.list_orders(state=state, ge=ge, le=le, page=page, include_entries=True)
            yield result
            page += 1
            if page >= result.page_count or not result.orders:
                return

    def refresh_open_orders(self) -> None:
        """Orders the lists did not show (older than the window, or moved between lists while we
        paged) are refreshed by their code: open ones on every pull, completed ones now and then
        during the return period (`selectors.orders_to_refresh`)."""
        now = timezone.now()
        return_checked = []
        for pk, code, return_check in selectors.orders_to_refresh(now, exclude_kaspi_ids=self.seen):
            try:
                found = self.client.list_orders(state=None, code=code, include_entries=True)
            except ExternalServiceError as exc:
                self.fail(_("order %(code)s: %(error)s") % {"code": code, "error": exc})
                continue
            if return_check:
                return_checked.append(pk)
            if found.orders:
                self.store(found)
                self.run.refreshed_by_code += 1
        for start in range(0, len(return_checked), WRITE_BATCH):
            Order.objects.filter(pk__in=return_checked[start : start + WRITE_BATCH]).update(return_checked_at=now)
        if self.run.refreshed_by_code:
            self.progress(_("refreshed %(n)s open orders by code") % {"n": self.run.refreshed_by_code})

    def fail(self, text: str) -> None:
        self.run.errors += 1
        if len(self.error_texts) < MAX_STORED_ERRORS:
            self.error_texts.append(mask(text))
        log.warning("order pull: %s", mask(text))

    def store(self, page: OrdersPage) -> None:
        """Write the page's new and changed orders with their entries; unchanged ones cost nothing
        more. An order whose entries or SKUs cannot be had now is not written: its stored hash
        stays old, so the next pull reads it again."""
        orders = [o for o in page.orders if o.id not in self.seen]  # an order can move between lists
        self.seen.update(o.id for o in orders)
        self.run.orders_seen += len(orders)
        known = selectors.order_fingerprints([o.id for o in orders]) if orders else {}
        todo = []
        for o in orders:
            before = known.get(o.id)
            if before is None and o.created_at is None:  # one broken order never stops the others
                self.fail(_("order %(code)s: Kaspi's answer has no creation date") % {"code": o.code or o.id})
                continue
            if before is not None and before["attributes_hash"] == o.attributes_hash:
                self.run.unchanged += 1
            else:
                todo.append((o, before))
        if not todo:
            return
        entries = self.entries_of([o for o, _before in todo], page.entries)
        resolved, failed = self.skus.resolve([e for order_entries in entries.values() for e in order_entries])
        by_id = {e.id: e for e in resolved}
        batch = []
        for o, before in todo:
            if o.id not in entries:
                continue
            failure = next((failed[e.id] for e in entries[o.id] if e.id in failed), None)
            if failure is not None:
                self.fail(_("entries of order %(code)s: %(error)s") % {"code": o.code, "error": failure})
                continue
            batch.append((o, [by_id[e.id] for e in entries[o.id]], before))
        for start in range(0, len(batch), WRITE_BATCH):
            save_orders(batch[start : start + WRITE_BATCH], self.run)

    def entries_of(self, orders: list[KaspiOrder], included: dict[str, list[KaspiEntry]]) -> dict:
        """{order id: entries}: as included in the list answer, or fetched (concurrently) for the
        orders it left out; an order whose entries cannot be fetched is reported and left out."""
        result = {o.id: included[o.id] for o in orders if o.id in included}
        missing = [o for o in orders if o.id not in included]
        self.entries_fetched += len(missing)
        fetched = self.pool.map(call_or_error, [self.client.order_entries] * len(missing), [o.id for o in missing])
        for o, answer in zip(missing, fetched):
            if isinstance(answer, ExternalServiceError):
                self.fail(_("entries of order %(code)s: %(error)s") % {"code": o.code, "error": answer})
            else:
                result[o.id] = answer
        return result


def save_orders(batch: list[tuple[KaspiOrder, list[KaspiEntry], dict | None]], run: PullRun) -> None:
    """Upsert orders with their entries and record the timeline, in one transaction per batch.
    `batch` holds (order, its entries, the stored fingerprint or None). New orders are inserted
    in bulk; a known order is written only if its row is unchanged since the fingerprint was read
    (`write_pulled`), otherwise it is skipped for this pull, entries and timeline included."""
    now = timezone.now()
    new = [o for o, _entries, before in batch if before is None]
    with transaction.atomic():
        # Only pulls create orders and one runs at a time (lock): nothing to overwrite here.
        Order.objects.bulk_create(
            [Order(kaspi_id=o.id, changed_at=now, **order_values(o)) for o in new], ignore_conflicts=True
        )
        pks = selectors.order_pks([o.id for o in new])
        written = []
        for o, order_entries, before in batch:
            if before is None:
                written.append((o, order_entries, before, pks[o.id]))
            elif write_pulled(before, o, now):
                written.append((o, order_entries, before, before["pk"]))
            else:
                run.stats["changed_meanwhile"] = run.stats.get("changed_meanwhile", 0) + 1
        product_ids = selectors.product_ids_for_skus({e.sku for _o, es, _b, _pk in written for e in es if e.sku})
        costs = selectors.costs_at_order(product_ids.values())
        rows, events = [], []
        for o, order_entries, before, order_pk in written:
            for e in order_entries:
                dealer_price, commission = costs.get(product_ids.get(e.sku), (None, None))
                rows.append(
                    OrderEntry(
                        order_id=order_pk,
                        kaspi_id=e.id,
                        entry_number=e.entry_number,
                        sku=e.sku,
                        product_id=product_ids.get(e.sku),
                        name=e.name[:1000],
                        master_product_code=e.master_product_code,
                        quantity=e.quantity,
                        unit_type=e.unit_type,
                        base_price=e.base_price,
                        total_price=e.total_price,
                        delivery_cost=e.delivery_cost,
                        category_code=e.category_code,
                        sku_error=e.sku_error[:500],
                        raw=e.raw,
                        # the cost when sold, kept from the first write (not in ENTRY_FIELDS)
                        dealer_price_at_order=dealer_price,
                        commission_percent_at_order=commission,
                    )
                )
            if before is None:
                events.append(status_event(order_pk, None, o, now))
                run.created += 1
                continue
            # an entry Kaspi no longer lists (partly cancelled order) goes
            OrderEntry.objects.filter(order_id=order_pk).exclude(kaspi_id__in=[e.id for e in order_entries]).delete()
            run.updated += 1
            if status_changed(before, o):
                events.append(status_event(order_pk, before, o, now))
        OrderEntry.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["order", "kaspi_id"], update_fields=ENTRY_FIELDS
        )
        OrderEvent.objects.bulk_create(events)
        # an order that starts waiting for acceptance is announced, in this same transaction
        notices.announce_waiting(
            [
                pk
                for o, _es, before, pk in written
                if o.status == OrderStatus.APPROVED_BY_BANK and not was_waiting(before)
            ]
        )
    run.entries_written += len(rows)
    run.unmatched_entries += sum(1 for r in rows if r.product_id is None)
    run.events += len(events)
