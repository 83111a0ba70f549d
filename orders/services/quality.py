"""Kaspi quality alerts (through the alerts app): when the 30-day share of cancelled orders
crosses 3 % or 4 %, once per crossing, up or back down.

The level last seen is one row (QualityWatch); a check that finds another level records the new
one and puts one alert in the outbox in the same transaction, keyed by the crossing's number, so
a crossing is alerted exactly once however often the check runs (beat runs it every order-pull
interval). A level is left downward only when the share is half a percentage point below its
threshold, so a share hovering at 3 % does not alert at every pull.
"""

from datetime import datetime

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from alerts.models import Kind
from alerts.services import alert_language, notify

from .. import quality
from ..models import QualityWatch

HYSTERESIS_TENTHS = 5  # tenths of a percentage point below a threshold before its level is left
THRESHOLDS = {quality.Level.AMBER: quality.AMBER_FROM_PERCENT, quality.Level.RED: quality.RED_FROM_PERCENT}


def watched_level(cancelled: int, orders: int, previous: str) -> str:
    """The level now, moving down only HYSTERESIS_TENTHS below the threshold of `previous`."""
    raw = quality.level_for(cancelled, orders)
    rank = quality.LEVEL_ORDER.index
    if rank(raw) >= rank(previous):
        return raw
    # as if the share were half a point higher: the level it would still hold
    held = quality.Level.GREEN
    for level, percent in THRESHOLDS.items():
        if orders and cancelled * 1000 + HYSTERESIS_TENTHS * orders >= percent * 10 * orders:
            held = level
    return min(previous, held, key=rank)


def check_cancellation_share(now: datetime | None = None) -> QualityWatch:
    """Compare the 30-day share with the level last seen; alert a crossing. Returns the watch."""
    now = now or timezone.now()
    figures = quality.rolling(quality.WATCHED_DAYS, now, actors=False)
    with transaction.atomic():
        watch, _created = QualityWatch.objects.select_for_update().get_or_create(id=QualityWatch.SINGLETON_ID)
        level = watched_level(figures.cancelled, figures.orders, watch.level)
        if level != watch.level:
            watch.crossings += 1
            _alert_crossing(watch.crossings, watch.level, level, figures)
            watch.level, watch.changed_at = level, now
        watch.orders, watch.cancelled, watch.checked_at = figures.orders, figures.cancelled, now
        watch.save()
    return watch


def _alert_crossing(number: int, before: str, after: str, figures: quality.Figures) -> None:
    rank = quality.LEVEL_ORDER.index
    with alert_language():
        share = quality.format_share(figures.cancelled_share)
        if rank(after) > rank(before):
            title = _("Cancelled orders in 30 days: %(share)s, above %(threshold)s %%") % {
                "share": share,
                "threshold": THRESHOLDS[after],
            }
        else:
            threshold = THRESHOLDS[before]
            title = _("Cancelled orders in 30 days: back to %(share)s, below %(threshold)s %%") % {
                "share": share,
                "threshold": threshold,
            }
        lines = [
            ngettext(
                "%(cancelled)s of %(orders)s order created in the last 30 days is cancelled; "
                "merchant-side reasons: %(merchant)s.",
                "%(cancelled)s of %(orders)s orders created in the last 30 days are cancelled; "
                "merchant-side reasons: %(merchant)s.",
                figures.orders,
            )
            % {
                "cancelled": figures.cancelled,
                "orders": figures.orders,
                "merchant": quality.format_share(figures.merchant_share),
            },
            _("Kaspi switches a shop off for 7 days when more than %(limit)s %% of its orders are cancelled.")
            % {"limit": quality.KASPI_LIMIT_PERCENT},
        ]
        reasons = [f"{row.label} — {row.count}" for row in figures.reasons[:3]]
        if reasons:
            lines.append(_("Main reasons: %(reasons)s.") % {"reasons": "; ".join(reasons)})
        notify(
            Kind.CANCELLATION_SHARE,
            f"crossing:{number}:{before}-{after}",
            title=title,
            lines=lines,
            link=reverse("admin:orders_qualityreport_changelist"),
        )


def summary_line(now: datetime | None = None) -> str:
    """The daily summary's line about the share (for the alerts' daily summary)."""
    figures = quality.rolling(quality.WATCHED_DAYS, now, reasons=False, actors=False)
    with alert_language():
        return _(
            "Cancelled orders in 30 days: %(share)s (%(cancelled)s of %(orders)s; merchant-side %(merchant)s); "
            "Kaspi's limit is %(limit)s %%."
        ) % {
            "share": quality.format_share(figures.cancelled_share),
            "cancelled": figures.cancelled,
            "orders": figures.orders,
            "merchant": quality.format_share(figures.merchant_share),
            "limit": quality.KASPI_LIMIT_PERCENT,
        }
