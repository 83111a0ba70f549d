"""Building, checking, publishing and serving the Kaspi price list.

build_feed(): one build at a time (job lock), a FeedVersion row per build. The candidate is
written and schema-validated in one streaming pass, compared with the published version by its
offers (not its bytes: the date changes every build), checked by the shrink guard, and only then
published: the file moved into storage whole, then the database pointer switched. Anything
wrong with the document keeps the last good price list live and says why on the version row;
a single offer that fails the checks is left out and listed on the version (`dropped_offers`,
`dropped`), the rest published, unless so many are left out that the shrink guard holds it.
"""

import logging
import os
import shutil
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog import reservations
from catalog.selectors import publishable_products
from kaspisync import locks
from kaspisync.models import RunTrigger
from kaspisync.runs import queue_after_commit, run_job

from . import notices, rebuild, selectors, storage
from .models import FeedResult, FeedSettings, FeedStore, FeedVersion, defaults_from_env
from .wiring import BUILD_LOCK
from .writer import drop_offer_lines, offers_from_products, write_feed

log = logging.getLogger(__name__)

LOCK_NAME = BUILD_LOCK
ROUTINE_ROWS_KEPT = timedelta(days=30)  # rows of builds that changed nothing (unchanged, skipped)
DIFF_LIST_LIMIT = 500  # SKUs listed per kind of change; the counts are always complete


class FeedError(Exception):
    """An action that cannot be done now (its message is shown to staff)."""


# --- settings ---------------------------------------------------------------------------------
def feed_settings() -> FeedSettings:
    """The settings row, created on first use from the environment (stores from FEED_STORE_IDS)."""
    feed, created = FeedSettings.objects.get_or_create(pk=FeedSettings.SINGLETON_ID, defaults=defaults_from_env())
    if created:
        FeedStore.objects.bulk_create(
            [FeedStore(feed=feed, store_id=code, position=i) for i, code in enumerate(settings.FEED_STORE_IDS)],
            ignore_conflicts=True,
        )
    return feed


def store_codes_changed(feed_id: int, *, added: str = "", removed: str = "") -> None:
    """A store was added, re-coded or deleted: a code no store uses any more is kept in
    `FeedSettings.retired_stores`, so the price list goes on listing it as available="no" (Kaspi
    keeps selling at a store the price list merely leaves out); a code in use again leaves it."""
    with transaction.atomic():
        feed = FeedSettings.objects.select_for_update().filter(pk=feed_id).first()
        if feed is None:  # the settings themselves are being deleted
            return
        codes = [c for c in (feed.retired_stores or []) if c != added]
        in_use = removed and FeedStore.objects.filter(feed_id=feed_id, store_id=removed).exists()
        if removed and removed != added and removed not in codes and not in_use:
            codes.append(removed)
        if codes != (feed.retired_stores or []):
            feed.retired_stores = codes
            feed.save(update_fields=["retired_stores"])


def on_store_saving(sender, instance: FeedStore, **kwargs) -> None:
    """pre_save of FeedStore: remember the code it had (a re-coded store retires the old code)."""
    instance._previous_code = (
        FeedStore.objects.filter(pk=instance.pk).values_list("store_id", flat=True).first() if instance.pk else None
    )


def on_store_saved(sender, instance: FeedStore, **kwargs) -> None:
    store_codes_changed(
        instance.feed_id, added=instance.store_id, removed=getattr(instance, "_previous_code", "") or ""
    )


def on_store_deleted(sender, instance: FeedStore, **kwargs) -> None:
    store_codes_changed(instance.feed_id, removed=instance.store_id)


def settings_changed() -> None:
    """After staff edit the settings: the SKU rule applies at once, and the price list follows."""
    selectors.forget_sku_prefix()
    rebuild.on_catalog_changed(reason="settings")


# --- building ---------------------------------------------------------------------------------
def build_feed(
    *, trigger: str = RunTrigger.SCHEDULE, triggered_by: str = "", force: bool = False, output: str | None = None
) -> FeedVersion:
    """Build, validate and publish (or, with `output`, only write the file there)."""
    with run_job(FeedVersion, LOCK_NAME, trigger=trigger, triggered_by=triggered_by) as job:
        if job.skipped:
            job.run.result = FeedResult.SKIPPED
            job.run.save(update_fields=["result"])
            return job.run
        job.progress(_("writing and validating the price list"))
        _build(job.run, force=force, output=output)
        if output is None:
            prune_versions()  # under the lock: a "publish anyway" cannot switch to a file being deleted
    return job.run


def _build(version: FeedVersion, *, force: bool, output: str | None) -> None:
    feed = feed_settings()
    config = selectors.feed_config(feed)
    previous = selectors.published_version()
    path = storage.scratch_file()
    held: dict = {}  # {sku: its stocks without the reservation} of the offers stock reserved for orders lowered
    try:
        offers = offers_from_products(publishable_products(), config, reservations.demands(), held)
        with open(path, "wb") as fh:
            written = write_feed(fh, offers, config)
        if written.schema_bad_lines:  # offers the schema alone refused: out of the file, which is checked again
            from .validation import validate_file  # lxml: loaded by builds only (see feeds.writer)

            drop_offer_lines(path, written)
            for message in validate_file(path):
                written.error(_("Schema: %(message)s") % {"message": message})
        for sku, unreserved in held.items():
            if sku in written.snapshot:  # kept beside the offer: the next diff tells the cause
                written.snapshot[sku] = (*written.snapshot[sku], unreserved)
        version.previous = previous
        version.offers, version.available_offers = written.offers, written.available_offers
        version.size, version.sha256, version.offers_sha256 = written.size, written.sha256, written.offers_sha256
        version.errors = written.errors
        version.dropped_offers, version.dropped = written.dropped_count, written.dropped
        version.stats = {
            "errors": written.error_count,
            "stores": len(config.stores),
            "cities": len(config.cities),
            "reserved_offers": len(held),
        }
        reasons = shrink_reasons(previous, written.offers, written.available_offers, feed.shrink_threshold)
        reasons += dropped_reasons(written.offers, written.dropped_count, feed.shrink_threshold)
        if not written.valid:
            version.result = FeedResult.INVALID
            reasons.insert(0, _("Failed validation: %(count)s error(s).") % {"count": written.error_count})
        if output is not None:
            shutil.move(path, output)  # an invalid file too, for inspection; the result says so
            if written.valid:
                version.result = FeedResult.WRITTEN
        elif written.valid and previous is not None and previous.offers_sha256 == written.offers_sha256:
            version.result = FeedResult.UNCHANGED  # Kaspi keeps the same file: no change to apply
        else:
            if previous is not None:
                version.diff = diff_snapshots(storage.read_json_gz(previous.snapshot_file), written.snapshot)
                reasons += removal_reasons(previous, version.diff, feed.shrink_threshold)
            _store(version, path, written.snapshot)
            if version.result == FeedResult.BUILDING:
                if reasons and not force:
                    version.result = FeedResult.REJECTED
                else:
                    _publish(version, version.triggered_by, forced=bool(reasons))
        version.reasons = reasons
        with transaction.atomic():  # the build's row and its alert (held, invalid) together
            version.save()
            notices.announce_build(version)
            notices.announce_dropped(version)
    finally:
        storage.discard(path)


def shrink_reasons(previous: FeedVersion | None, offers: int, available: int, threshold: int) -> list[str]:
    """Why a candidate must be held: it shrank by more than `threshold` % against `previous`."""
    if offers == 0:
        return [_("No offers: an empty price list would take every product off sale.")]
    if previous is None:
        return []
    reasons = []
    for label, before, after in (
        (_("offers"), previous.offers, offers),
        (_("available offers"), previous.available_offers, available),
    ):
        if before and (before - after) * 100 > before * threshold:
            reasons.append(
                _("%(what)s dropped from %(before)s to %(after)s (more than %(threshold)s %%).")
                % {"what": label, "before": before, "after": after, "threshold": threshold}
            )
    return reasons


def dropped_reasons(offers: int, dropped: int, threshold: int) -> list[str]:
    """Why a candidate must be held although no version came before it: more than `threshold` %
    of its offers failed the checks (a mass drop is a fault somewhere, not a few bad products)."""
    total = offers + dropped
    if total and dropped * 100 > total * threshold:
        return [
            _("%(dropped)s of %(total)s offers failed the checks and were left out (more than %(threshold)s %%).")
            % {"dropped": dropped, "total": total, "threshold": threshold}
        ]
    return []


def removal_reasons(previous: FeedVersion, diff: dict, threshold: int) -> list[str]:
    """Why a candidate must be held although it did not shrink: more than `threshold` % of the
    published SKUs would disappear (Kaspi takes those cards off sale), e.g. after the SKU rule
    changed, which renames every SKU while the counts stay the same."""
    removed = diff.get("counts", {}).get("removed", 0)
    if previous.offers and removed * 100 > previous.offers * threshold:
        return [
            _(
                "%(removed)s of the %(total)s SKUs published now would disappear (more than %(threshold)s %%): "
                "Kaspi would take their cards off sale. A changed SKU rule does this."
            )
            % {"removed": removed, "total": previous.offers, "threshold": threshold}
        ]
    return []


def _store(version: FeedVersion, path: str, snapshot: dict) -> None:
    """Keep the candidate (published, held or invalid) as a version file, its gzip and snapshot."""
    name = f"{storage.VERSIONS_DIR}/{version.pk}-{version.sha256[:12]}.xml"
    gz_path = storage.gzip_file(path)
    version.gzip_size = os.path.getsize(gz_path)
    storage.put(gz_path, name + ".gz")
    version.file = storage.put(path, name)
    storage.put_json_gz(snapshot, version.snapshot_file)


def diff_snapshots(old: dict | None, new: dict, limit: int = DIFF_LIST_LIMIT) -> dict:
    """Added, removed, price changed, stock changed — and of those, the stock changes caused by
    stock reserved for orders alone (Al-Style's own figure did not move): complete counts, lists
    up to `limit`. A snapshot entry is [price, stocks] or, for an offer stock reserved for orders
    lowered, [price, stocks, stocks without the reservation]."""
    if old is None:
        return {}
    added = [sku for sku in new if sku not in old]
    removed = [sku for sku in old if sku not in new]
    price, stock, reserved = [], [], []
    for sku, entry in new.items():
        before = old.get(sku)
        if before is None:
            continue
        if before[0] != entry[0]:
            price.append([sku, before[0], entry[0]])
        if list(before[1]) != list(entry[1]):
            change = [sku, before[1], list(entry[1])]
            stock.append(change)
            if list(before[-1]) == list(entry[-1]):  # the same stocks before reservations: only they moved
                reserved.append(change)
    lists = {
        "added": added,
        "removed": removed,
        "price_changed": price,
        "stock_changed": stock,
        "reserved_for_orders": reserved,
    }
    return {"counts": {k: len(v) for k, v in lists.items()}, **{k: v[:limit] for k, v in lists.items()}}


def _publish(version: FeedVersion, by: str, *, forced: bool) -> None:
    storage.link_current(version.file, version.gzip_file)
    version.result = FeedResult.PUBLISHED
    version.published_at = timezone.now()
    version.published_by = by
    version.forced = forced
    transaction.on_commit(selectors.forget_served_version)


def publish_anyway(version_id: int, *, user) -> FeedVersion:
    """Staff override of the shrink guard for a held version (never for an invalid one)."""
    lock = locks.acquire(LOCK_NAME)
    if lock is None:
        raise FeedError(_("A build is running; try again in a minute."))
    try:
        with transaction.atomic():
            version = FeedVersion.objects.select_for_update().get(pk=version_id)
            if version.result != FeedResult.REJECTED or not version.file:
                raise FeedError(_("Only a held version whose file is kept can be published."))
            if selectors.builds().filter(started_at__gt=version.started_at).exists():
                raise FeedError(
                    _("A newer build exists: its prices and stock are fresher. Publish that one, or build again.")
                )
            _publish(version, user.get_username(), forced=True)
            version.save(update_fields=["result", "published_at", "published_by", "forced"])
    finally:
        lock.release()
    log.info("price list version #%s published anyway by %s", version.pk, version.published_by)
    return version


def prune_versions(keep: int | None = None) -> int:
    """Delete the files of versions beyond the newest `keep`; never the published one, nor the
    newest held one (staff may still publish it). Called under the build lock."""
    keep = keep or feed_settings().keep_versions
    spared = {v.pk for v in (selectors.published_version(), selectors.held_version()) if v is not None}
    pruned = 0
    for version in selectors.versions_with_files()[keep:]:
        if version.pk in spared:
            continue
        storage.delete(version.file, version.gzip_file, version.snapshot_file)
        FeedVersion.objects.filter(pk=version.pk).update(file="")
        pruned += 1
    # A scheduled build every 30 minutes leaves ~17,000 "unchanged" rows a year: keep a month.
    FeedVersion.objects.filter(
        result__in=(FeedResult.UNCHANGED, FeedResult.SKIPPED), started_at__lt=timezone.now() - ROUTINE_ROWS_KEPT
    ).delete()
    return pruned


# --- queuing ----------------------------------------------------------------------------------
def queue_build(*, triggered_by: str = "") -> None:
    """ "Build now" from the admin: queued once the caller's transaction commits."""
    from .tasks import build_feed as task

    queue_after_commit(task, trigger=RunTrigger.ADMIN, triggered_by=triggered_by)
