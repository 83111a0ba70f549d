"""Pricing writes: bulk recompute of stored sale prices, manual overrides, feed exclusions, the
audit of rule changes, and the preview of a change before it is saved.

A recompute loads every rule once (`selectors.pricing_book`), reads the products as tuples,
prices each with the pure `engine.price_product`, and writes only the rows whose stored results
differ (`Plan.changes`: `Change(product_id, old, new)` of `Stored` columns), with a
`SalePriceChange` for every changed price. The preview runs the very same plan without writing;
`preview_override` (a manual price) and `preview_save` / `preview_delete` (a rule, commission or
exclusion) measure a change by making it in a transaction that is rolled back (the admin only
shows the result). After a recompute has
committed, `catalog_changed(reason="pricing")` is sent.
"""

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from statistics import median_low
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.forms.models import model_to_dict
from django.utils import timezone, translation

from kaspisync.models import RunStatus, RunTrigger
from kaspisync.runs import queue_after_commit, run_job

from .. import selectors
from ..models import (
    FeedExclusion,
    PriceChangeCause,
    PriceOverride,
    PricingAudit,
    PricingRun,
    Product,
    SalePriceChange,
)
from ..pricing import engine
from ..signals import catalog_changed
from ..wiring import PRICING_LOCK
from . import notices

log = logging.getLogger(__name__)

LOCK_NAME = PRICING_LOCK
WRITE_BATCH = 5000
SAMPLE_SIZE = 20
EXPLANATION_MAX = Product._meta.get_field("price_explanation").max_length
# Product fields a recompute writes, in the order of selectors.PRICING_RESULT_FIELDS.
RESULT_FIELDS = (
    "sale_price",
    "price_rule",
    "price_explanation",
    "net_margin",
    "net_margin_percent",
    "below_margin_floor",
    "feed_excluded",
    "publish_min_stock",
)


# --- planning (shared by the recompute and the preview) -------------------------------------
class Stored(NamedTuple):
    """A product's pricing columns as stored (RESULT_FIELDS, selectors.PRICING_RESULT_FIELDS)."""

    sale_price: int | None
    rule_id: int | None
    explanation: str
    net_margin: int | None
    net_margin_percent: Decimal | None
    below_floor: bool
    excluded: bool
    min_stock: int


class Change(NamedTuple):
    """A product whose stored pricing columns differ from what they should be now."""

    product_id: int
    old: Stored
    new: Stored


class PriceChange(NamedTuple):
    product_id: int
    old: int | None
    new: int | None


@dataclass
class Plan:
    examined: int = 0
    changes: list[Change] = field(default_factory=list)  # only the products whose results differ
    # Products whose manual price has run out but is still stored (the expiry job removes it
    # within PRICING_EXPIRY_INTERVAL): their price change is recorded as an expiry, whatever ran.
    expired: set = field(default_factory=set)

    @property
    def price_changes(self) -> list[PriceChange]:
        return [
            PriceChange(c.product_id, c.old.sale_price, c.new.sale_price)
            for c in self.changes
            if c.old.sale_price != c.new.sale_price
        ]

    @property
    def fell_below_floor(self) -> list[int]:
        """Products that were at or above their margin floor and are below it now."""
        return [c.product_id for c in self.changes if c.new.below_floor and not c.old.below_floor]


def _stored(result: engine.PriceResult) -> Stored:
    return Stored(
        result.sale_price,
        result.rule_id,
        result.explanation[:EXPLANATION_MAX],
        result.net_margin,
        result.net_margin_percent,
        result.below_floor,
        result.excluded,
        result.min_stock,
    )


def plan_prices(product_ids=None, book: engine.Book | None = None) -> Plan:
    """What a recompute of these products (None: all) would write; writes nothing."""
    plan = Plan()
    with translation.override(settings.LANGUAGE_CODE):  # stored explanations read in the UI language
        book = book or selectors.pricing_book()
        overrides, now = book.overrides, book.now
        for product, stored in selectors.pricing_rows(product_ids):
            plan.examined += 1
            new = _stored(engine.price_product(product, book))
            if new != stored:  # `stored` is the row's plain tuple: named only when it changes
                plan.changes.append(Change(product.id, Stored._make(stored), new))
                override = overrides.get(product.id)
                if override is not None and not override.active(now):
                    plan.expired.add(product.id)
    return plan


def _write(plan: Plan, run: PricingRun | None, cause: str, user_id: int | None) -> None:
    """Store the changed results and a history row per changed price, each as one prepared
    statement run with executemany: Django's bulk_update builds a CASE per column and row (minutes
    for 50,000 rows on SQLite) and bulk_create builds a model instance per row."""
    # Plain values: ints, str, bool, None and Decimal, which both drivers adapt themselves.
    updates = [(*change.new, change.product_id) for change in plan.changes]
    columns = [Product._meta.get_field(name).column for name in RESULT_FIELDS]
    _executemany(Product, columns, updates, update=True)

    now = timezone.now()
    changed_at = SalePriceChange._meta.get_field("changed_at").get_db_prep_save(now, connection)
    expiry = PriceChangeCause.EXPIRY
    history = [
        (
            pid,
            old,
            new,
            expiry if pid in plan.expired else cause,
            None if pid in plan.expired else user_id,
            run.pk if run else None,
            changed_at,
        )
        for pid, old, new in plan.price_changes
    ]
    _executemany(
        SalePriceChange, ["product_id", "old_price", "new_price", "cause", "user_id", "run_id", "changed_at"], history
    )


def _executemany(model, columns: list[str], rows: list, update: bool = False) -> None:
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    if update:  # rows are (values..., id)
        sql = f"UPDATE {table} SET {', '.join(f'{quote(c)} = %s' for c in columns)} WHERE {quote('id')} = %s"
    else:
        sql = f"INSERT INTO {table} ({', '.join(map(quote, columns))}) VALUES ({', '.join(['%s'] * len(columns))})"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), WRITE_BATCH):
            cursor.executemany(sql, rows[start : start + WRITE_BATCH])


def recompute_prices(
    product_ids=None,
    *,
    cause: str = PriceChangeCause.RECOMPUTE,
    user_id: int | None = None,
    trigger: str = RunTrigger.CHAIN,
    notify: bool = True,
) -> PricingRun:
    """Recompute and store the prices of these products (None: all). One run at a time: a run
    that finds the lock taken is recorded as skipped (the task retries it)."""
    username = _username(user_id)
    with run_job(PricingRun, LOCK_NAME, trigger=trigger, triggered_by=username, cause=cause) as job:
        if job.skipped:
            return job.run
        with transaction.atomic():
            plan = plan_prices(product_ids)
            _write(plan, job.run, cause, user_id)
            if cause == PriceChangeCause.IMPORT:  # one digest per run, with the prices that caused it
                notices.margin_floor_digest(job.run, plan.fell_below_floor)
        job.run.examined, job.run.changed = plan.examined, len(plan.changes)
        job.run.stats = {"price_changes": len(plan.price_changes)}
        log.info(
            "pricing (%s): %s products examined, %s rows written, %s prices changed",
            cause,
            plan.examined,
            len(plan.changes),
            len(plan.price_changes),
        )
    if notify and plan.changes:
        transaction.on_commit(
            lambda: catalog_changed.send(sender=PricingRun, reason="pricing", product_count=len(plan.changes))
        )
    return job.run


def _username(user_id) -> str:
    if user_id is None:
        return ""
    return get_user_model().objects.filter(pk=user_id).values_list("username", flat=True).first() or ""


def _recompute_now(
    product_ids, cause: str, user_id: int | None = None, *, trigger: str = RunTrigger.ADMIN, notify: bool = True
) -> PricingRun:
    """Small sets (an admin action, an import's changes, expired overrides) are priced at once; if
    a bulk run holds the lock, the task takes over once this transaction commits."""
    run = recompute_prices(product_ids, cause=cause, user_id=user_id, trigger=trigger, notify=notify)
    if run.status == RunStatus.SKIPPED:
        schedule_recompute(product_ids, cause=cause, user_id=user_id)
    return run


def schedule_recompute(product_ids=None, *, cause: str, user_id: int | None = None) -> None:
    """Queue the recompute task once the current transaction commits."""
    from ..tasks import recompute_prices as task

    ids = None if product_ids is None else sorted(set(product_ids))
    queue_after_commit(task, product_ids=ids, cause=cause, user_id=user_id)


# --- after an import --------------------------------------------------------------------------
def reprice_after_import(product_ids) -> PricingRun:
    """Dealer prices changed: reprice those products now (the import then tells the feed)."""
    return _recompute_now(product_ids, PriceChangeCause.IMPORT, trigger=RunTrigger.CHAIN, notify=False)


# --- manual overrides -----------------------------------------------------------------------
@transaction.atomic
def set_override(product_ids, price: int, *, user, expires_at=None) -> PricingRun:
    if price is None or price <= 0:
        raise ValueError("an override price must be a positive number of tenge")
    if expires_at is not None and expires_at <= timezone.now():
        raise ValueError("an override expiring in the past would never apply")
    now = timezone.now()
    PriceOverride.objects.bulk_create(
        [
            PriceOverride(product_id=pid, price=price, expires_at=expires_at, created_by=user, created_at=now)
            for pid in product_ids
        ],
        update_conflicts=True,
        unique_fields=["product"],
        update_fields=["price", "expires_at", "created_by", "created_at"],
    )
    return _recompute_now(product_ids, PriceChangeCause.OVERRIDE, user.pk)


@transaction.atomic
def clear_override(product_ids, *, user) -> PricingRun:
    PriceOverride.objects.filter(product_id__in=list(product_ids)).delete()
    return _recompute_now(product_ids, PriceChangeCause.OVERRIDE_CLEARED, user.pk)


def expire_overrides(now=None) -> PricingRun | None:
    """Remove overrides whose time is up and reprice their products (history cause "expiry")."""
    now = now or timezone.now()
    with transaction.atomic():
        expired = list(PriceOverride.objects.filter(expires_at__lte=now).values_list("product_id", flat=True))
        if not expired:
            return None
        PriceOverride.objects.filter(product_id__in=expired, expires_at__lte=now).delete()
        return _recompute_now(expired, PriceChangeCause.EXPIRY, trigger=RunTrigger.SCHEDULE)


# --- feed exclusions of single products ---------------------------------------------------
@transaction.atomic
def exclude_products(product_ids, *, user) -> PricingRun:
    ids = list(product_ids)
    FeedExclusion.objects.bulk_create(
        [FeedExclusion(product_id=pid, created_by=user) for pid in ids], ignore_conflicts=True
    )
    _audit(user, PricingAudit.Action.CREATED, "feedexclusion", None, f"{len(ids)} products", {"products": [None, ids]})
    return _recompute_now(ids, PriceChangeCause.RECOMPUTE, user.pk)


@transaction.atomic
def include_products(product_ids, *, user) -> PricingRun:
    """Lift product-level exclusions (a category or brand exclusion still applies)."""
    ids = list(product_ids)
    FeedExclusion.objects.filter(product_id__in=ids).delete()
    _audit(user, PricingAudit.Action.DELETED, "feedexclusion", None, f"{len(ids)} products", {"products": [ids, None]})
    return _recompute_now(ids, PriceChangeCause.RECOMPUTE, user.pk)


# --- rules, commissions, exclusions edited in the admin: audit + recompute -----------------
def snapshot(obj) -> dict:
    """JSON-ready values of a pricing object (a rule with its bands) for the audit."""
    data = {k: _json_value(v) for k, v in model_to_dict(obj).items() if k != "id"}
    if hasattr(obj, "bands") and obj.pk:
        data["bands"] = [
            f"{b.low}–{'' if b.high is None else b.high}: {engine.percent(b.markup_percent)} % + {b.markup_fixed}"
            for b in obj.bands.order_by("low")
        ]
    return data


def _json_value(value):
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Decimal):
        return engine.percent(value)  # 10.00 and 10 are the same value: "10"
    return str(value)


def _scope(data: dict) -> tuple:
    return data.get("category"), data.get("brand"), data.get("product")


def _audit(user, action, object_type, object_id, object_repr, changes) -> PricingAudit:
    return PricingAudit.objects.create(
        user=user if user and user.pk else None,
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=str(object_repr)[:300],
        changes=changes,
    )


def record_change(obj, *, user, before: dict | None) -> PricingAudit | None:
    """Audit a saved rule, commission or exclusion, and queue the recompute of the products it
    touches (its old and its new scope). `before` is `snapshot()` taken before the change (None
    for a new object)."""
    after = snapshot(obj)
    if before is None:
        action, changes = PricingAudit.Action.CREATED, {k: [None, v] for k, v in after.items()}
    else:
        action = PricingAudit.Action.CHANGED
        changes = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
        if not changes:
            return None
    entry = _audit(user, action, obj._meta.model_name, obj.pk, obj, changes)
    schedule_recompute(affected_products(before, after), cause=PriceChangeCause.RULE, user_id=_user_id(user))
    return entry


@transaction.atomic
def delete_pricing_object(obj, *, user) -> PricingAudit:
    """Delete a rule, commission or exclusion: audit it and reprice the products it touched."""
    before, pk, text = snapshot(obj), obj.pk, str(obj)
    affected = affected_products(before)
    obj.delete()
    entry = _audit(
        user, PricingAudit.Action.DELETED, obj._meta.model_name, pk, text, {k: [v, None] for k, v in before.items()}
    )
    schedule_recompute(affected, cause=PriceChangeCause.RULE, user_id=_user_id(user))
    return entry


def recompute_scopes(objects, *, user) -> None:
    """Queue a recompute of the products these rules (commissions, exclusions) cover."""
    schedule_recompute(
        affected_products(*(snapshot(obj) for obj in objects)), cause=PriceChangeCause.RECOMPUTE, user_id=_user_id(user)
    )


def _user_id(user) -> int | None:
    return user.pk if user is not None else None


def affected_products(*snapshots) -> list[int] | None:
    """Products in the scopes of these snapshots (None: every product)."""
    ids = set()
    for data in filter(None, snapshots):
        scoped = selectors.products_in_scope(*_scope(data))
        if scoped is None:
            return None
        ids.update(scoped)
    return sorted(ids)


# --- preview ----------------------------------------------------------------------------------
@dataclass
class Preview:
    examined: int
    changed: int
    newly_priced: int
    unpriced: int
    below_floor: int  # products that would newly fall below their margin floor
    delta: dict | None  # {"min", "median", "max"} in tenge
    delta_percent: dict | None  # the same in percent of the old price
    sample: list  # [{product, old, new, delta, delta_percent, below_floor, explanation}]
    new_prices: dict  # {product id: new sale price} of every changed price
    below_floor_sample: list = field(default_factory=list)  # [{product, new, explanation}]: the first ones


def _percent(old: int, new: int) -> Decimal:
    return (Decimal(new - old) * 100 / old).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _spread(values):
    return {"min": min(values), "median": median_low(values), "max": max(values)} if values else None


def preview_prices(product_ids=None) -> Preview:
    """What a recompute of these products would change now (same plan as the real one)."""
    plan = plan_prices(product_ids)
    moved = plan.price_changes
    both = [change for change in moved if change.old is not None and change.new is not None]
    new_results = {change.product_id: change.new for change in plan.changes}
    biggest = sorted(both, key=lambda change: abs(change.new - change.old), reverse=True)[:SAMPLE_SIZE]
    below_floor = [
        c.product_id
        for c in plan.changes
        if c.new.below_floor and not c.old.below_floor and c.new.sale_price is not None
    ]
    products = Product.objects.in_bulk([c.product_id for c in biggest] + below_floor[:SAMPLE_SIZE])
    sample = [
        {
            "product": products[change.product_id],
            "old": change.old,
            "new": change.new,
            "delta": change.new - change.old,
            "delta_percent": _percent(change.old, change.new),
            "below_floor": new_results[change.product_id].below_floor,
            "explanation": new_results[change.product_id].explanation,
        }
        for change in biggest
    ]
    return Preview(
        examined=plan.examined,
        changed=len(moved),
        newly_priced=sum(1 for change in moved if change.old is None),
        unpriced=sum(1 for change in moved if change.new is None),
        below_floor=len(below_floor),
        below_floor_sample=[
            {
                "product": products[pid],
                "new": new_results[pid].sale_price,
                "explanation": new_results[pid].explanation,
            }
            for pid in below_floor[:SAMPLE_SIZE]
        ],
        delta=_spread([change.new - change.old for change in both]),
        delta_percent=_spread([_percent(change.old, change.new) for change in both]),
        sample=sample,
        new_prices={change.product_id: change.new for change in moved},
    )


# --- manual price preview ------------------------------------------------------------------
@dataclass
class OverridePreview:
    """What a manual price would do, measured by setting it and rolling back."""

    rows: list  # [{product, dealer_price, old, new, net_margin, net_margin_percent, below_dealer, below_floor}]
    below_dealer: int  # products whose sale price would be below their dealer price
    below_floor: int  # products that would be below their margin floor
    unsellable: int  # products that stay without a price (no dealer price, not sold by the supplier)

    @property
    def needs_confirmation(self) -> bool:
        return bool(self.below_dealer or self.below_floor)


@contextlib.contextmanager
def _rolled_back():
    """The one way a preview measures a change: the block makes it for real (the same code as the
    save, audit included) in a transaction that is then rolled back, so nothing is kept."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def preview_override(product_ids, price: int, *, user, expires_at=None, limit: int = 50) -> OverridePreview:
    """`set_override` done for real and rolled back: the same numbers as the save, nothing kept."""
    ids = sorted(set(product_ids))
    before = dict(Product.objects.filter(pk__in=ids).values_list("pk", "sale_price"))
    with _rolled_back():
        set_override(ids, price, user=user, expires_at=expires_at)
        products = list(Product.objects.filter(pk__in=ids).order_by("net_margin", "pk"))
    rows = [
        {
            "product": p,
            "dealer_price": p.dealer_price,
            "old": before.get(p.pk),
            "new": p.sale_price,
            "net_margin": p.net_margin,
            "net_margin_percent": p.net_margin_percent,
            "below_dealer": p.sale_price is not None and p.dealer_price is not None and p.sale_price < p.dealer_price,
            "below_floor": p.below_margin_floor,
        }
        for p in products
    ]
    return OverridePreview(
        rows=rows[:limit],
        below_dealer=sum(row["below_dealer"] for row in rows),
        below_floor=sum(bool(row["below_floor"]) for row in rows),
        unsellable=sum(row["new"] is None for row in rows),
    )


def preview_delete(obj, *, user) -> Preview:
    """What deleting this rule, commission or exclusion would do to prices: the delete is made
    (audit included), measured with the recompute's own plan, and rolled back."""
    obj = type(obj)._default_manager.get(pk=obj.pk)  # a copy: deleting clears the caller's pk
    with _rolled_back():
        before = snapshot(obj)
        delete_pricing_object(obj, user=user)
        preview = preview_prices(affected_products(before))
    return preview


def preview_save(save: Callable[[], tuple]) -> tuple:
    """What saving a rule, commission or exclusion as edited would do to prices. `save()` saves it
    the way staff do (the admin's own form handling, which audits it through `record_change`) and
    returns (its outcome, the object saved or None when nothing was saved, `snapshot()` of the
    object before the change or None for a new one). Everything it wrote is rolled back.
    Returns (the outcome, the Preview or None when nothing was saved)."""
    with _rolled_back():
        outcome, saved, before = save()
        preview = None if saved is None else preview_prices(affected_products(before, snapshot(saved)))
    return outcome, preview
