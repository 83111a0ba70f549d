"""What the price list tells staff through the alerts (`alerts.services.notify`):

- `announce_build(version)`: a candidate held by the shrink guard, or invalid — called in the
  transaction that stores the build; one alert per result and published version it was compared
  with (a build held again and again while nothing is published is announced once);
- `announce_dropped(version)`: offers a build left out because they failed the checks (the rest
  was built), once per set of offers left out (a build every half hour that leaves out the same
  offers is announced once) — in the build's transaction;
- `check_fetches(now)`: Kaspi has not fetched the published price list for FETCH_OVERDUE (2 hours),
  once per last fetch (beat).
"""

import hashlib
from datetime import datetime

from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from alerts.models import Kind
from alerts.services import alert_language, notify
from kaspisync.display import group

from . import selectors
from .models import FeedResult, FeedVersion

ERRORS_SHOWN = 5
DROPPED_SHOWN = 20


def announce_build(version: FeedVersion):
    """A held or invalid build; call inside the transaction that saves it."""
    if version.result not in (FeedResult.REJECTED, FeedResult.INVALID):
        return None
    with alert_language():
        if version.result == FeedResult.REJECTED:
            title = _("The new price list was held: the live one stays (check it and publish it, or find the cause)")
            lines = [str(reason) for reason in version.reasons]
        else:
            title = _("The new price list is invalid: the live one stays")
            lines = [str(reason) for reason in version.reasons]
            lines += [str(error) for error in version.errors[:ERRORS_SHOWN]]
        lines.append(
            _("Offers: %(offers)s, available: %(available)s")
            % {"offers": version.offers, "available": version.available_offers}
        )
        return notify(
            Kind.FEED_HELD,
            f"{version.result}-against:{version.previous_id or 'none'}",
            title=title,
            lines=lines,
            link=reverse("admin:feeds_feedversion_change", args=[version.pk]),
        )


def announce_dropped(version: FeedVersion):
    """Offers left out of a build (`dropped_offers`, `dropped`: sku, article, reason)."""
    if not version.dropped_offers:
        return None
    listed = sorted(version.dropped, key=lambda d: str(d.get("sku", "")))
    fingerprint = hashlib.sha256(
        "\n".join(f"{d.get('sku')}:{d.get('reason')}" for d in listed).encode() + str(version.dropped_offers).encode()
    ).hexdigest()[:32]
    with alert_language():
        lines = [f"{d.get('sku')} ({d.get('article')}): {d.get('reason')}" for d in listed[:DROPPED_SHOWN]]
        if version.dropped_offers > len(lines):
            left = version.dropped_offers - len(lines)
            lines.append(ngettext("… and %(n)s more offer", "… and %(n)s more offers", left) % {"n": group(left)})
        return notify(
            Kind.FEED_OFFERS_DROPPED,
            f"dropped:{fingerprint}",
            title=ngettext(
                "%(n)s offer was left out of the price list: it failed the checks",
                "%(n)s offers were left out of the price list: they failed the checks",
                version.dropped_offers,
            )
            % {"n": group(version.dropped_offers)},
            lines=lines,
            link=reverse("admin:feeds_feedversion_change", args=[version.pk]),
        )


def check_fetches(now: datetime | None = None):
    """Kaspi has not fetched the published price list for FETCH_OVERDUE: once per last fetch."""
    now = now or timezone.now()
    published = selectors.published_version()
    if published is None:
        return None
    fetch = selectors.last_fetch()
    if fetch is not None:
        since = fetch.fetched_at
    else:  # never fetched: counted from the first publication
        since = (
            FeedVersion.objects.filter(published_at__isnull=False)
            .order_by("published_at")
            .values_list("published_at", flat=True)
            .first()
        )
    if since is None or now - since <= selectors.FETCH_OVERDUE:
        return None
    with alert_language():
        if fetch is not None:
            title = _("Kaspi has not fetched the price list for %(time)s") % {"time": timesince(since, now, depth=1)}
            lines = [
                _("Last fetch: %(when)s (HTTP %(status)s)")
                % {"when": date_format(timezone.localtime(since), "DATETIME_FORMAT"), "status": fetch.status}
            ]
        else:
            title = _("Kaspi has never fetched the price list (published %(time)s ago)") % {
                "time": timesince(since, now, depth=1)
            }
            lines = []
        lines.append(
            _(
                "Prices and stock at Kaspi are getting old. Check the price list URL in the Kaspi merchant cabinet "
                "and that the portal can be reached from the internet."
            )
        )
        return notify(
            Kind.FEED_NOT_FETCHED,
            f"since:{since.isoformat()}",
            title=title,
            lines=lines,
            link=reverse("admin:feeds_feedfetch_changelist"),
        )
