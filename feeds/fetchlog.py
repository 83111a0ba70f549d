"""The log of requests for the price list URL, kept bounded.

- A fetch with the right token (Kaspi's robot, or anyone holding it) is a `FeedFetch` row, kept
  FEED_FETCH_KEEP_DAYS (90): "when did Kaspi last fetch it" and the fetch list in the admin.
- A request with a wrong token only adds to a `FeedProbe` count per day and address (one row
  whatever their number; past FEED_PROBE_MAX_ADDRESSES addresses a day the rest share one row),
  kept FEED_PROBE_KEEP_DAYS (30): guessing is visible, and a flood of 404s cannot fill the database.

Both are written by a timer at most every FEED_FETCH_LOG_SECONDS in one batch (0: at once), so
the 304 path never waits for a database write lock; at worst the last second is lost with a
killed process. `prune_fetch_log()` (daily, feeds.tasks.prune_fetch_log) deletes what is older.
"""

import atexit
import logging
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connections, transaction
from django.db.models import F
from django.utils import timezone

from .models import FeedFetch, FeedProbe

log = logging.getLogger(__name__)

PROBE_USER_AGENT = 100  # characters of a wrong-token request's user agent kept


@dataclass
class _Probes:
    """Wrong-token requests of one day and address, not written yet."""

    count: int
    first_at: datetime
    last_at: datetime
    user_agent: str


class FetchLog:
    """This process's fetches and wrong-token counts, written in one batch by a timer."""

    def __init__(self):
        self._rows: list[FeedFetch] = []
        self._probes: dict[tuple[date, str], _Probes] = {}
        self._lock = threading.Lock()

    def add(self, row: FeedFetch) -> None:
        with self._lock:
            self._rows.append(row)
        self._written_later()

    def add_probe(self, ip: str | None, user_agent: str, at: datetime) -> None:
        key = (timezone.localdate(at), ip or "")
        with self._lock:
            pending = self._probes.get(key)
            if pending is None:
                self._probes[key] = _Probes(1, at, at, user_agent[:PROBE_USER_AGENT])
            else:
                pending.count += 1
                pending.last_at, pending.user_agent = at, user_agent[:PROBE_USER_AGENT]
        self._written_later()

    def _written_later(self) -> None:
        delay = settings.FEED_FETCH_LOG_SECONDS
        if delay <= 0:
            self.flush()
            return
        with self._lock:
            if getattr(self, "_timer", None) is not None:
                return  # a flush is already scheduled
            self._timer = threading.Timer(delay, self.flush_in_thread)
            self._timer.daemon = True
        self._timer.start()

    def flush(self) -> int:
        with self._lock:
            rows, self._rows = self._rows, []
            probes, self._probes = self._probes, {}
            self._timer = None
        if rows:
            FeedFetch.objects.bulk_create(rows, batch_size=500)
        for (day, ip), pending in probes.items():
            _count_probes(day, ip, pending)
        return len(rows) + sum(p.count for p in probes.values())

    def flush_in_thread(self) -> None:
        try:
            self.flush()
        except Exception as exc:  # never break the serving process for a log line
            log.warning("could not write price list fetches: %s", exc)
        finally:
            connections.close_all()  # this timer thread's own connections


def _count_probes(day: date, ip: str, pending: _Probes) -> None:
    """Add to the day's row of this address (created if missing; past the cap, the shared row)."""
    for _attempt in range(3):
        if _add_to(day, ip, pending):
            return
        if ip and FeedProbe.objects.filter(day=day).count() >= settings.FEED_PROBE_MAX_ADDRESSES:
            ip = ""  # beyond the day's cap of addresses: counted together
            if _add_to(day, ip, pending):
                return
        try:
            with transaction.atomic():
                FeedProbe.objects.create(
                    day=day,
                    ip=ip,
                    count=pending.count,
                    first_at=pending.first_at,
                    last_at=pending.last_at,
                    user_agent=pending.user_agent,
                )
            return
        except IntegrityError:
            continue  # another process created it meanwhile: add to it


def _add_to(day: date, ip: str, pending: _Probes) -> bool:
    return bool(
        FeedProbe.objects.filter(day=day, ip=ip).update(
            count=F("count") + pending.count, last_at=pending.last_at, user_agent=pending.user_agent
        )
    )


fetch_log = FetchLog()
atexit.register(fetch_log.flush)


def record_fetch(
    *,
    ip: str | None,
    user_agent: str,
    method: str,
    status: int,
    bytes_sent: int,
    gzip: bool = False,
    version_id: int | None = None,
) -> None:
    """A request with the right token."""
    fetch_log.add(
        FeedFetch(
            fetched_at=timezone.now(),
            ip=ip or None,
            user_agent=user_agent[:300],
            method=method[:8],
            status=status,
            bytes_sent=bytes_sent,
            gzip=gzip,
            version_id=version_id,
        )
    )


def record_wrong_token(*, ip: str | None, user_agent: str) -> None:
    """A request with a wrong (or no) token: counted, not stored."""
    fetch_log.add_probe(ip, user_agent, timezone.now())


def prune_fetch_log(now: datetime | None = None) -> dict[str, int]:
    """Delete fetches older than FEED_FETCH_KEEP_DAYS and wrong-token counts older than
    FEED_PROBE_KEEP_DAYS; returns how many rows of each went."""
    now = now or timezone.now()
    fetches, _ = FeedFetch.objects.filter(fetched_at__lt=now - timedelta(days=settings.FEED_FETCH_KEEP_DAYS)).delete()
    probes, _ = FeedProbe.objects.filter(
        day__lt=timezone.localdate(now) - timedelta(days=settings.FEED_PROBE_KEEP_DAYS)
    ).delete()
    if fetches or probes:
        log.info("price list fetch log: %s fetches and %s wrong-token counts pruned", fetches, probes)
    return {"fetches": fetches, "wrong_token": probes}
