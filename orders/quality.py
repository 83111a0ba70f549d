"""Kaspi quality figures from the stored orders: how many were cancelled or returned, why, by
whom, and how long acceptance took. Read by the dashboard panel, the quality page, the cancel
confirmation, `quality_report` and the quality alerts.

The rules, stated once:
- An order counts in the period it was **created** in: rolling windows are [now − N days, now],
  calendar months run from the 1st, 00:00 Almaty time.
- Its **current** status decides, so an order that went through several statuses counts once:
  cancelled = CANCELLED or CANCELLING; returned = a return requested, accepted or done.
- Kaspi does not publish exactly which cancellations count toward its 5 % limit, so two shares
  are kept: **all reasons** (compared with the 5 % line: the cautious reading) and
  **merchant-side** (the three reasons only a merchant sends: out of stock, the buyer asked to
  cancel, the buyer cannot be reached). Reasons Kaspi sets itself (TIMEOUT_BUYER_PICKUP, …) and
  unknown ones are kept as they came.
- **Who cancelled** comes from the timeline, one answer per cancelled order: auto-accept if an
  auto-accept rule had accepted the order (its rule let through an order that was then
  cancelled), else staff if a person cancelled it in kaspisync, else Kaspi, the buyer or someone
  in the Kaspi cabinet (the cancellation was only seen by a pull).
- **Acceptance time** runs from "approved by bank" (Kaspi's approvedByBankDate, else the order's
  creation) to the moment the order was seen going from APPROVED_BY_BANK to ACCEPTED_BY_MERCHANT
  (its first such timeline event): exact for acceptances made here, up to one pull interval late
  for those seen by a pull; orders first seen already accepted are not measured. It is stored on
  the order where that happens (Order.accepted_at, Order.acceptance_time). Median and 90th
  percentile are nearest-rank values, to the minute.
- Counting happens in the database: each figure is a grouped query (totals over an index, the
  details over cancelled and returned orders only, acceptance times as counts per minute);
  Python adds up a few hundred result rows. Rows are counted with COUNT(*), not of a column
  outside the index, so that PostgreSQL can answer from the index alone.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import connection
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    Func,
    IntegerField,
    Min,
    OuterRef,
    Q,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kaspisync import display

from .models import CancellationReason, EventSource, Order, OrderEvent, OrderStatus

# --- the vocabulary -------------------------------------------------------------------------------
KASPI_LIMIT_PERCENT = 5  # above it Kaspi switches the shop off for 7 days
AMBER_FROM_PERCENT = 3
RED_FROM_PERCENT = 4
WATCHED_DAYS = 30  # the rolling window on the gauge and in the alerts
WINDOWS = (WATCHED_DAYS, 90)  # rolling windows shown, days
MONTHS = 12  # calendar months shown
TREND_DAYS = 90

CANCELLED_STATUSES = (OrderStatus.CANCELLED, OrderStatus.CANCELLING)
RETURN_STATUSES = (
    OrderStatus.KASPI_DELIVERY_RETURN_REQUESTED,
    OrderStatus.RETURN_ACCEPTED_BY_MERCHANT,
    OrderStatus.RETURNED,
)
MERCHANT_REASONS = (  # what a merchant sends when cancelling (the reasons it can prevent first)
    CancellationReason.MERCHANT_OUT_OF_STOCK,
    CancellationReason.BUYER_CANCELLATION_BY_MERCHANT,
    CancellationReason.BUYER_NOT_REACHABLE,
)
KASPI_REASONS = {  # reasons Kaspi sets itself that we know of; others are shown as they came
    "TIMEOUT_BUYER_PICKUP": _("the buyer did not pick the order up in time"),
    "BUYER_CANCELLATION": _("the buyer cancelled"),
}
NO_REASON = ""


class Level:
    GREEN = "green"
    AMBER = "amber"
    RED = "red"


LEVEL_ORDER = (Level.GREEN, Level.AMBER, Level.RED)
LEVEL_LABELS = {
    Level.GREEN: _("safe: below 3 %"),
    Level.AMBER: _("watch: from 3 %"),
    Level.RED: _("danger: from 4 %"),
}
SIDE_LABELS = {"merchant": _("merchant"), "kaspi": _("Kaspi"), "unknown": _("unknown")}


class Actor:
    STAFF = "staff"
    AUTO = "auto"
    KASPI = "kaspi"


ACTOR_LABELS = {
    Actor.STAFF: _("staff in kaspisync"),
    Actor.AUTO: _("accepted by auto-accept, then cancelled"),
    Actor.KASPI: _("Kaspi, the buyer or the Kaspi cabinet"),
}
# The timeline source of auto-accept's actions (EventSource.AUTO, issue 12); a person's actions are
# EventSource.USER, what a pull saw EventSource.PULL.
AUTO_SOURCE = EventSource.AUTO


def level_for(cancelled: int, orders: int) -> str:
    """green below 3 %, amber from 3 %, red from 4 % (exact integer comparison, no rounding)."""
    if cancelled and cancelled * 100 >= RED_FROM_PERCENT * orders:
        return Level.RED
    if cancelled and cancelled * 100 >= AMBER_FROM_PERCENT * orders:
        return Level.AMBER
    return Level.GREEN


def share(part: int, whole: int) -> float:
    """A fraction 0–1 (0 when there is nothing to divide)."""
    return part / whole if whole else 0.0


def format_share(fraction: float | None) -> str:
    """0.0325 -> "3.25 %" ("3,25 %" in Russian); None -> "—" (kaspisync.display.percent)."""
    return display.percent(None if fraction is None else fraction * 100, 2)


def format_wait(value: timedelta | None) -> str:
    """A wait in whole minutes, with hours from an hour on: "42 min", "7 h 05 min"."""
    if value is None:
        return "—"
    hours, minutes = divmod(max(0, int(value.total_seconds() // 60)), 60)
    if hours:
        return gettext("%(hours)s h %(minutes)02d min") % {"hours": hours, "minutes": minutes}
    return gettext("%(minutes)s min") % {"minutes": minutes}


def reason_label(code: str) -> str:
    if code == NO_REASON:
        return str(_("no reason given"))
    if code in MERCHANT_REASONS:
        return str(CancellationReason(code).label)
    return str(KASPI_REASONS.get(code, _("a reason unknown to kaspisync")))


def reason_side(code: str) -> str:
    """'merchant' (a reason only a merchant sends), 'kaspi' (Kaspi's own, known) or 'unknown'."""
    if code in MERCHANT_REASONS:
        return "merchant"
    return "kaspi" if code in KASPI_REASONS else "unknown"


# --- database expressions --------------------------------------------------------------------------
class _EpochBucket(Func):
    """Index of the `step`-second period since `origin` (epoch seconds) a datetime falls in
    (SQLite stores UTC text: integer seconds; PostgreSQL timestamptz: the interval since origin in
    double precision seconds, exact at these magnitudes and several times cheaper than EXTRACT's
    numeric)."""

    output_field = IntegerField()

    def __init__(self, expression, origin: int, step: int):
        super().__init__(expression)
        self.origin, self.step = int(origin), int(step)

    def as_sqlite(self, compiler, connection, **extra):
        template = f"((CAST(strftime('%%%%s', %(expressions)s) AS INTEGER) - {self.origin}) / {self.step})"
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_postgresql(self, compiler, connection, **extra):
        template = (
            f"CAST(FLOOR(DATE_PART('epoch', %(expressions)s - TO_TIMESTAMP({self.origin})) / {self.step}) AS INTEGER)"
        )
        return self.as_sql(compiler, connection, template=template, **extra)


class _WholeMinutes(Func):
    """Whole minutes (rounded down) of a stored duration (a column): SQLite stores microseconds
    (integer division truncates, hence the case for negative values), PostgreSQL an interval
    (its seconds in double precision: exact to the microsecond for waits of years)."""

    output_field = IntegerField()
    template = "CAST(FLOOR(DATE_PART('epoch', %(expressions)s) / 60) AS INTEGER)"

    def as_sqlite(self, compiler, connection, **extra):
        template = (
            "(CASE WHEN %(expressions)s >= 0 THEN %(expressions)s / 60000000 "
            "ELSE -((59999999 - %(expressions)s) / 60000000) END)"
        )
        return self.as_sql(compiler, connection, template=template, **extra)


def _epoch_step(bounds: list[datetime]) -> int | None:
    """The common length in seconds of the periods (the last may be shorter: it ends now), if
    they are equal and the database can compute the index (days: yes; months: no)."""
    steps = {(b - a).total_seconds() for a, b in zip(bounds[:-2], bounds[1:-1], strict=True)}
    if connection.vendor not in ("sqlite", "postgresql") or len(steps) != 1:
        return None
    step = steps.pop()
    last = (bounds[-1] - bounds[-2]).total_seconds()
    whole = step == int(step) and bounds[0].timestamp() == int(bounds[0].timestamp())
    return int(step) if whole and last <= step else None


def period_bucket(bounds: list[datetime]):
    """Index i of the period [bounds[i], bounds[i + 1]) an order was created in: computed for
    periods of equal length (days), looked up for others (months, windows)."""
    step = _epoch_step(bounds)
    if step:
        return _EpochBucket("created_at", bounds[0].timestamp(), step)
    return Case(
        *[When(created_at__lt=upper, then=Value(i)) for i, upper in enumerate(bounds[1:])],
        output_field=IntegerField(),
    )


def _counts(queryset, bounds: list[datetime]) -> list[int]:
    """How many rows of `queryset` fall in each period: grouped by the computed index for equal
    periods, otherwise one indexed range count per period (cheaper than a CASE over every row)."""
    if _epoch_step(bounds):
        counts = [0] * (len(bounds) - 1)
        rows = queryset.filter(created_at__gte=bounds[0], created_at__lt=bounds[-1]).annotate(
            bucket=period_bucket(bounds)
        )
        for row in rows.values("bucket").annotate(n=Count("*")).order_by():
            counts[row["bucket"]] = row["n"]
        return counts
    return [queryset.filter(created_at__gte=a, created_at__lt=b).count() for a, b in zip(bounds, bounds[1:])]


def _is_cancelled() -> Q:
    return Q(status__in=CANCELLED_STATUSES)


def _outcome():
    return Case(When(_is_cancelled(), then=Value("cancelled")), default=Value("returned"), output_field=CharField())


def _cancelled_by_staff() -> Exists:
    return Exists(
        OrderEvent.objects.filter(order=OuterRef("pk"), to_status__in=CANCELLED_STATUSES, source=EventSource.USER)
    )


def _auto_accepted() -> Exists:
    return Exists(OrderEvent.objects.filter(order=OuterRef("pk"), source=AUTO_SOURCE))


def _reason(*, merchant_only: bool = False):
    """The cancellation reason of a cancelled order ("" otherwise); with `merchant_only`, every
    reason that is not a merchant's reads "" (enough for the merchant-side share)."""
    condition = _is_cancelled() & (Q(cancellation_reason__in=MERCHANT_REASONS) if merchant_only else Q())
    return Case(When(condition, then=F("cancellation_reason")), default=Value(NO_REASON), output_field=CharField())


# --- the figures ----------------------------------------------------------------------------------
@dataclass
class Reason:
    code: str

    @property
    def label(self) -> str:
        return reason_label(self.code)

    @property
    def side(self) -> str:
        return reason_side(self.code)

    @property
    def side_label(self) -> str:
        return str(SIDE_LABELS[self.side])


@dataclass
class ReasonRow(Reason):
    count: int
    orders: int  # of the period, for the share

    @property
    def share(self) -> float:
        return share(self.count, self.orders)


@dataclass
class Figures:
    """One period's figures: orders created in [start, end)."""

    start: datetime
    end: datetime
    orders: int = 0
    cancelled: int = 0
    merchant_cancelled: int = 0
    returns: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)
    by_actor: dict[str, int] = field(default_factory=dict)

    @property
    def cancelled_share(self) -> float:
        return share(self.cancelled, self.orders)

    @property
    def merchant_share(self) -> float:
        return share(self.merchant_cancelled, self.orders)

    @property
    def returns_share(self) -> float:
        return share(self.returns, self.orders)

    @property
    def level(self) -> str:
        return level_for(self.cancelled, self.orders)

    @property
    def reasons(self) -> list[ReasonRow]:
        """Merchant reasons first (in their fixed order), then the others, most frequent first."""
        rows = [
            ReasonRow(code, self.by_reason[code], self.orders) for code in MERCHANT_REASONS if code in self.by_reason
        ]
        others = [ReasonRow(code, n, self.orders) for code, n in self.by_reason.items() if code not in MERCHANT_REASONS]
        return rows + sorted(others, key=lambda row: (-row.count, row.code))

    @property
    def actors(self) -> list[tuple[str, str, int]]:
        """(actor, label, count) for every actor, zeros included."""
        return [(actor, str(label), self.by_actor.get(actor, 0)) for actor, label in ACTOR_LABELS.items()]

    def add_detail(self, outcome: str, reason: str, n: int) -> None:
        if outcome == "returned":
            self.returns += n
            return
        self.cancelled += n
        self.by_reason[reason] = self.by_reason.get(reason, 0) + n
        if reason in MERCHANT_REASONS:
            self.merchant_cancelled += n

    def set_actors(self, staff: int, auto: int) -> None:
        self.by_actor = {Actor.STAFF: staff, Actor.AUTO: auto, Actor.KASPI: self.cancelled - staff - auto}

    def add(self, other: "Figures") -> None:
        self.orders += other.orders
        self.cancelled += other.cancelled
        self.merchant_cancelled += other.merchant_cancelled
        self.returns += other.returns
        for key, n in other.by_reason.items():
            self.by_reason[key] = self.by_reason.get(key, 0) + n
        for key, n in other.by_actor.items():
            self.by_actor[key] = self.by_actor.get(key, 0) + n

    def as_json(self) -> dict:
        """The JSON of `quality_report --json` (a stable interface: keys are added, never removed)."""
        return {
            "since": self.start.isoformat(),
            "until": self.end.isoformat(),
            "orders": self.orders,
            "cancelled": self.cancelled,
            "cancelled_share": round(self.cancelled_share, 6),
            "merchant_cancelled": self.merchant_cancelled,
            "merchant_cancelled_share": round(self.merchant_share, 6),
            "by_reason": dict(sorted(self.by_reason.items())),
            "by_actor": {actor: self.by_actor.get(actor, 0) for actor in ACTOR_LABELS},
            "returns": self.returns,
            "returns_share": round(self.returns_share, 6),
            "level": self.level,
            "limit_share": KASPI_LIMIT_PERCENT / 100,
        }


def period_figures(bounds: list[datetime], *, reasons: bool = True, actors: bool = True) -> list[Figures]:
    """Figures of the periods [bounds[i], bounds[i + 1]): order counts per period (over the
    created_at index), one grouped query over the cancelled and returned orders only (period,
    outcome, reason: every reason, or with `reasons=False` merchant ones and the rest as ""),
    and with `actors` who cancelled (one count per kind of actor)."""
    result = [Figures(start, end) for start, end in zip(bounds[:-1], bounds[1:], strict=True)]
    for figures_, n in zip(result, _counts(Order.objects.all(), bounds), strict=True):
        figures_.orders = n
    in_range = Q(created_at__gte=bounds[0], created_at__lt=bounds[-1])
    columns = {"bucket": period_bucket(bounds), "outcome": _outcome(), "reason": _reason(merchant_only=not reasons)}
    rows = (
        Order.objects.filter(in_range, status__in=(*CANCELLED_STATUSES, *RETURN_STATUSES))
        .annotate(**columns)
        .values(*columns)
        .annotate(n=Count("*"))
        .order_by()
    )
    for row in rows:
        result[row["bucket"]].add_detail(row["outcome"], row["reason"], row["n"])
    if actors:
        for figures_, (n_staff, n_auto) in zip(result, _actor_counts(bounds), strict=True):
            figures_.set_actors(n_staff, n_auto)
    return result


def _actor_counts(bounds: list[datetime]) -> list[tuple[int, int]]:
    """(cancelled by staff, accepted by auto-accept) per period; the rest is Kaspi's side."""
    cancelled = Order.objects.filter(_is_cancelled())
    auto = _counts(cancelled.filter(_auto_accepted()), bounds)
    staff = _counts(cancelled.filter(_cancelled_by_staff()).exclude(_auto_accepted()), bounds)
    return list(zip(staff, auto, strict=True))


def figures(start: datetime, end: datetime, **parts) -> Figures:
    return period_figures([start, end], **parts)[0]


def _end(now: datetime) -> datetime:
    return now + timedelta(microseconds=1)  # "until now", now included


def window(days: int, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The rolling window of the last `days` days: [now − days, now] (now included)."""
    now = now or timezone.now()
    return now - timedelta(days=days), _end(now)


def rolling(days: int = WATCHED_DAYS, now: datetime | None = None, **parts) -> Figures:
    """Figures of the last `days` days (`parts`: see `period_figures`)."""
    return figures(*window(days, now), **parts)


def local_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.get_current_timezone())


def month_starts(months: int, now: datetime | None = None) -> list[datetime]:
    """The first instants of the last `months` calendar months (oldest first), local time."""
    today = timezone.localdate(now or timezone.now())
    year, month = today.year, today.month
    starts = []
    for _i in range(months):
        starts.append(local_midnight(date(year, month, 1)))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts[::-1]


@dataclass
class Overview:
    """Everything the quality page shows about shares and reasons."""

    windows: dict[int, Figures]  # {30: …, 90: …}
    months: list[Figures]  # oldest first, the current month to now

    @property
    def watched(self) -> Figures:
        return self.windows[WATCHED_DAYS]


def overview(now: datetime | None = None, *, windows=WINDOWS, months: int = MONTHS) -> Overview:
    """Rolling windows and calendar months from one split of time; who cancelled is counted for
    the windows only (the months do not show it)."""
    now = now or timezone.now()
    end = _end(now)
    window_starts = {days: now - timedelta(days=days) for days in windows}
    starts = month_starts(months, now) if months else []
    bounds = sorted({*starts, *window_starts.values()}) + [end]
    parts = period_figures(bounds, actors=False)
    window_bounds = sorted(set(window_starts.values())) + [end]
    actor_parts = list(zip(window_bounds, _actor_counts(window_bounds)))

    def total(start: datetime, stop: datetime) -> Figures:
        result = Figures(start, stop)
        for part in parts:
            if start <= part.start and part.end <= stop:
                result.add(part)
        return result

    def window_total(start: datetime) -> Figures:
        result = total(start, end)
        counts = [n for part_start, n in actor_parts if part_start >= start]
        result.set_actors(sum(staff for staff, _auto in counts), sum(auto for _staff, auto in counts))
        return result

    return Overview(
        windows={days: window_total(start) for days, start in window_starts.items()},
        months=[total(start, stop) for start, stop in zip(starts, [*starts[1:], end], strict=True)],
    )


@dataclass
class TrendPoint(Figures):
    """The rolling window as it stood at the end of `day` (reasons and actors not kept)."""

    day: date | None = None


def trend(days: int = TREND_DAYS, window_days: int = WATCHED_DAYS, now: datetime | None = None) -> list[TrendPoint]:
    """For each of the last `days` days (oldest first): the `window_days`-day share as it stood
    at the day's end (today: now), from the days' counts (two grouped queries)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    day_list = [today - timedelta(days=i) for i in range(days + window_days - 2, -1, -1)]
    per_day = period_figures([local_midnight(d) for d in day_list] + [_end(now)], reasons=False, actors=False)
    points = []
    for i in range(window_days - 1, len(day_list)):
        span = per_day[i - window_days + 1 : i + 1]
        points.append(
            TrendPoint(
                span[0].start,
                span[-1].end,
                orders=sum(f.orders for f in span),
                cancelled=sum(f.cancelled for f in span),
                merchant_cancelled=sum(f.merchant_cancelled for f in span),
                day=day_list[i],
            )
        )
    return points


# --- acceptance times -----------------------------------------------------------------------------
@dataclass
class SlowOrder:
    pk: int
    code: str
    waited: timedelta


@dataclass
class Acceptance:
    start: datetime
    end: datetime
    measured: int = 0
    median: timedelta | None = None
    p90: timedelta | None = None
    slowest: list[SlowOrder] = field(default_factory=list)
    waiting_now: int = 0  # orders of the period still waiting for acceptance
    oldest_waiting: timedelta | None = None

    def as_json(self) -> dict:
        def minutes(value):
            return None if value is None else round(value.total_seconds() / 60, 1)

        return {
            "measured": self.measured,
            "median_minutes": minutes(self.median),
            "p90_minutes": minutes(self.p90),
            "slowest": [{"code": s.code, "minutes": minutes(s.waited)} for s in self.slowest],
            "waiting_now": self.waiting_now,
            "oldest_waiting_minutes": minutes(self.oldest_waiting),
        }


def _measured(start: datetime, end: datetime):
    """Orders created in [start, end) whose acceptance time is stored (Order.acceptance_time)."""
    return Order.objects.filter(created_at__gte=start, created_at__lt=end, acceptance_time__isnull=False)


def _minute_histograms(pieces: list[tuple[datetime, datetime]]) -> list[dict[int, int]]:
    """{whole minutes waited: orders} of each piece: one query per piece over the index on
    (created_at, acceptance_time), grouped by minute (a few hundred rows each)."""
    return [
        {
            row["minute"]: row["n"]
            for row in _measured(start, end).values(minute=_WholeMinutes("acceptance_time")).annotate(n=Count("*"))
        }
        for start, end in pieces
    ]


def _nearest_rank(histogram: list[tuple[int, int]], fraction: float) -> int | None:
    """The value at rank ceil(fraction × n) of a sorted (value, count) histogram."""
    n = sum(count for _value, count in histogram)
    if not n:
        return None
    rank, seen = max(1, -(-int(fraction * 100) * n // 100)), 0
    for value, count in histogram:
        seen += count
        if seen >= rank:
            return value
    return histogram[-1][0]


def _slowest(start: datetime, end: datetime, n: int) -> list[SlowOrder]:
    """The `n` longest acceptance times of the period, longest first: the n-th longest read from
    the index alone, then the few orders at or above it."""
    measured = _measured(start, end)
    longest = list(measured.order_by(F("acceptance_time").desc()).values_list("acceptance_time", flat=True)[:n])
    if not longest:
        return []
    worst = (
        measured.filter(acceptance_time__gte=longest[-1])
        .order_by(F("acceptance_time").desc(), "pk")
        .values_list("pk", "code", "acceptance_time")[:n]
    )
    return [SlowOrder(pk, code, waited) for pk, code, waited in worst]


def acceptance_periods(
    periods: list[tuple[datetime, datetime]], *, slowest: int = 10, now: datetime | None = None
) -> list[Acceptance]:
    """Acceptance times of the orders created in each period [start, end) (periods may nest or
    follow each other: rolling windows, calendar months). Time is cut at every start and end
    into pieces; each piece's measured orders are counted by whole minute (`_minute_histograms`)
    and a period's median and 90th percentile are read from the sum of its pieces' counts.
    Also the `slowest` orders of the first period, and the orders of each period still waiting
    (one query for all periods)."""
    now = now or timezone.now()
    bounds = sorted({moment for period in periods for moment in period})
    pieces = [(a, b) for a, b in zip(bounds, bounds[1:]) if any(start <= a and b <= end for start, end in periods)]
    histograms = dict(zip(pieces, _minute_histograms(pieces), strict=True))
    result = []
    for start, end in periods:
        merged: Counter[int] = Counter()
        for (a, b), histogram in histograms.items():
            if start <= a and b <= end:
                merged.update(histogram)
        sorted_minutes = sorted(merged.items())
        acc = Acceptance(start, end, measured=merged.total())
        if acc.measured:
            acc.median = timedelta(minutes=_nearest_rank(sorted_minutes, 0.5))
            acc.p90 = timedelta(minutes=_nearest_rank(sorted_minutes, 0.9))
        result.append(acc)
    if result and slowest and result[0].measured:
        result[0].slowest = _slowest(result[0].start, result[0].end, slowest)
    if not result:
        return result
    waiting_since = Coalesce("approved_by_bank_at", "created_at")
    in_period = [Q(created_at__gte=start, created_at__lt=end) for start, end in periods]
    waiting = Order.objects.filter(
        created_at__gte=bounds[0], created_at__lt=bounds[-1], status=OrderStatus.APPROVED_BY_BANK
    ).aggregate(
        **{f"n{i}": Count("pk", filter=condition) for i, condition in enumerate(in_period)},
        **{f"since{i}": Min(waiting_since, filter=condition) for i, condition in enumerate(in_period)},
    )
    for i, acc in enumerate(result):
        acc.waiting_now = waiting[f"n{i}"]
        if waiting[f"since{i}"] is not None:
            acc.oldest_waiting = now - waiting[f"since{i}"]
    return result


def acceptance_windows(
    starts: list[datetime], end: datetime, *, slowest: int = 10, now: datetime | None = None
) -> list[Acceptance]:
    """Acceptance times of several windows ending at `end` (the slowest orders of the first)."""
    return acceptance_periods([(start, end) for start in starts], slowest=slowest, now=now)


def acceptance(start: datetime, end: datetime, *, slowest: int = 10, now: datetime | None = None) -> Acceptance:
    return acceptance_periods([(start, end)], slowest=slowest, now=now)[0]


# --- prevention: the share before and after one more cancellation --------------------------------
@dataclass
class CancelPreview:
    figures: Figures  # the watched window now
    counted: bool  # the order is in the window and not cancelled yet: cancelling it moves the share

    @property
    def cancelled_after(self) -> int:
        return self.figures.cancelled + self.counted

    @property
    def share_after(self) -> float:
        return share(self.cancelled_after, self.figures.orders)

    @property
    def merchant_after(self) -> int:
        return self.figures.merchant_cancelled + self.counted

    @property
    def merchant_share_after(self) -> float:
        return share(self.merchant_after, self.figures.orders)

    @property
    def level_after(self) -> str:
        return level_for(self.cancelled_after, self.figures.orders)


def cancel_preview(order: Order, now: datetime | None = None) -> CancelPreview:
    """The watched share now and after cancelling `order` for a merchant reason."""
    current = rolling(WATCHED_DAYS, now, reasons=False, actors=False)
    counted = current.start <= order.created_at < current.end and order.status not in CANCELLED_STATUSES
    return CancelPreview(current, counted)


# --- the report (quality_report) ------------------------------------------------------------------
@dataclass
class Report:
    days: int
    figures: Figures
    acceptance: Acceptance

    def as_json(self) -> dict:
        return {"days": self.days, **self.figures.as_json(), "acceptance": self.acceptance.as_json()}


def report(days: int = WATCHED_DAYS, now: datetime | None = None, *, slowest: int = 5) -> Report:
    """Orders created in the last `days` days: figures and acceptance times."""
    now = now or timezone.now()
    current = rolling(days, now)
    return Report(days, current, acceptance(current.start, current.end, slowest=slowest, now=now))


# --- the orders behind a number (the order list's "quality" filter) -------------------------------
QUALITY_FILTERS = {
    "cancelled": _("cancelled"),
    "merchant": _("cancelled for a merchant reason"),
    Actor.STAFF: _("cancelled by staff in kaspisync"),
    Actor.AUTO: _("accepted by auto-accept, then cancelled"),
    Actor.KASPI: _("cancelled by Kaspi, the buyer or in the Kaspi cabinet"),
    "returned": _("returned"),
    "accepted": _("acceptance time measured"),
}


def orders_behind(kind: str) -> Q | None:
    """The condition selecting the orders behind one figure (a QUALITY_FILTERS key), else None."""
    cancelled = _is_cancelled()
    staff, auto = Q(_cancelled_by_staff()), Q(_auto_accepted())
    conditions = {
        "cancelled": cancelled,
        "merchant": cancelled & Q(cancellation_reason__in=MERCHANT_REASONS),
        Actor.AUTO: cancelled & auto,
        Actor.STAFF: cancelled & staff & ~auto,
        Actor.KASPI: cancelled & ~staff & ~auto,
        "returned": Q(status__in=RETURN_STATUSES),
        "accepted": Q(acceptance_time__isnull=False),
    }
    return conditions.get(kind)


# --- what the dashboard panel and the quality page show -------------------------------------------
@dataclass
class Dashboard:
    watched: Figures  # the last 30 days
    trend: list[TrendPoint]
    acceptance: Acceptance


def dashboard(now: datetime | None = None, *, slowest: int = 5) -> Dashboard:
    now = now or timezone.now()
    watched = rolling(WATCHED_DAYS, now, actors=False)
    return Dashboard(watched, trend(now=now), acceptance(watched.start, watched.end, slowest=slowest, now=now))


@dataclass
class ReasonLine(Reason):
    cells: list[tuple[int, Figures, int, float]]  # (days, window, count, share) per window


@dataclass
class Page:
    overview: Overview
    trend: list[TrendPoint]
    acceptance: dict[int, Acceptance]  # per rolling window; the slowest orders for the watched one
    month_acceptance: list[Acceptance]  # per calendar month, as overview.months

    @property
    def windows(self) -> list[tuple[int, Figures]]:
        return [(days, self.overview.windows[days]) for days in WINDOWS]

    @property
    def watched_acceptance(self) -> Acceptance:
        return self.acceptance[WATCHED_DAYS]

    @property
    def acceptance_rows(self) -> list[tuple[int, Acceptance]]:
        return [(days, self.acceptance[days]) for days in WINDOWS]

    @property
    def month_rows(self) -> list[tuple[Figures, Acceptance]]:
        """Each calendar month's figures and acceptance times, newest first."""
        return list(zip(self.overview.months, self.month_acceptance, strict=True))[::-1]

    @property
    def reason_table(self) -> list[ReasonLine]:
        """Every reason seen in the longest window, in its order, with its count in each window."""
        longest = self.overview.windows[max(WINDOWS)]
        return [
            ReasonLine(
                row.code,
                [
                    (d, f, f.by_reason.get(row.code, 0), share(f.by_reason.get(row.code, 0), f.orders))
                    for d, f in self.windows
                ],
            )
            for row in longest.reasons
        ]

    @property
    def actor_table(self) -> list[tuple[str, str, list[tuple[int, Figures, int]]]]:
        return [
            (actor, str(label), [(d, f, f.by_actor.get(actor, 0)) for d, f in self.windows])
            for actor, label in ACTOR_LABELS.items()
        ]


def page(now: datetime | None = None) -> Page:
    now = now or timezone.now()
    result = overview(now)
    windows = [(result.windows[days].start, result.windows[days].end) for days in WINDOWS]
    times = acceptance_periods([*windows, *((m.start, m.end) for m in result.months)], now=now)
    by_window = dict(zip(WINDOWS, times[: len(WINDOWS)], strict=True))
    return Page(result, trend(now=now), by_window, times[len(WINDOWS) :])
