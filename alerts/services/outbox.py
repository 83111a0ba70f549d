"""Writing alerts: `notify()` puts an alert and its deliveries in the outbox, inside the caller's
transaction (see the package docstring for how to call it)."""

import logging
import uuid
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from kaspisync.runs import queue_after_commit

from ..models import KINDS, Alert, Channel, Delivery, Kind, Subscription
from ..render import TITLE_LIMIT, clip

log = logging.getLogger(__name__)


def alert_language():
    """Build alert texts inside this: alerts are in the portal's language (Russian), whatever
    language the request or command that caused them speaks."""
    return translation.override(settings.LANGUAGE_CODE)


def telegram_enabled() -> bool:
    return bool(settings.TELEGRAM_BOT_TOKEN)


def email_enabled() -> bool:
    return bool(settings.EMAIL_URL)


def recipients(kind: str, permission: str) -> list[tuple[str, str, int | None]]:
    """(channel, address, user id or None) for an alert: the default recipients from the settings
    (TELEGRAM_CHAT_IDS, ALERT_EMAILS) get every alert; a subscribed staff user gets the kinds they
    chose, if their permissions allow them to see it. Each address once."""
    found: dict[tuple[str, str], int | None] = {}
    telegram, email = telegram_enabled(), email_enabled()
    if telegram:
        for chat in settings.TELEGRAM_CHAT_IDS:
            found.setdefault((Channel.TELEGRAM, chat.strip()), None)
    if email:
        for address in settings.ALERT_EMAILS:
            found.setdefault((Channel.EMAIL, address.strip().lower()), None)
    if telegram or email:
        subscriptions = Subscription.objects.filter(
            is_active=True, user__is_active=True, user__is_staff=True
        ).select_related("user")
        for sub in subscriptions:
            wants_telegram = telegram and sub.telegram_chat_id and kind in sub.telegram_kinds
            wants_email = email and sub.email and kind in sub.email_kinds
            if not (wants_telegram or wants_email) or (permission and not sub.user.has_perm(permission)):
                continue
            if wants_telegram:
                found.setdefault((Channel.TELEGRAM, sub.telegram_chat_id.strip()), sub.user_id)
            if wants_email:
                found.setdefault((Channel.EMAIL, sub.email.strip().lower()), sub.user_id)
    return [(channel, address, user) for (channel, address), user in found.items() if address]


def notify(
    kind: str,
    key,
    *,
    title: str,
    lines=(),
    link: str = "",
    permission: str | None = None,
    at: datetime | None = None,
) -> Alert | None:
    """Put an alert in the outbox; returns it, or None when this (kind, key) exists already."""
    if kind not in KINDS:
        raise ValueError(f"unknown alert kind {kind!r} (alerts.models.KINDS)")
    if permission is None:
        permission = KINDS[kind][1]
    now = at or timezone.now()
    with transaction.atomic():  # joins the caller's transaction; alone, it is the transaction
        try:
            with transaction.atomic():  # a savepoint: a duplicate key leaves the caller's work intact
                alert = Alert.objects.create(
                    kind=kind,
                    key=str(key)[:200],
                    title=clip(title, TITLE_LIMIT),
                    lines=[str(line) for line in lines],
                    link=str(link)[:500],
                    permission=permission,
                    created_at=now,
                )
        except IntegrityError:
            return None
        Delivery.objects.bulk_create(
            [
                Delivery(alert=alert, channel=channel, address=address, user_id=user, next_attempt_at=now)
                for channel, address, user in recipients(kind, permission)
            ]
        )
        _send_after_commit()
    return alert


def send_test(subscription: Subscription) -> Alert:
    """A test message to one subscription's own chat and e-mail (the channels set up here)."""
    now = timezone.now()
    with alert_language(), transaction.atomic():
        alert = Alert.objects.create(
            kind=Kind.TEST,
            key=uuid.uuid4().hex,
            title=_("Test message from kaspisync"),
            lines=[_("Alerts reach you here. Choose what you receive in the admin: Alerts → Alert subscriptions.")],
            link="/admin/alerts/subscription/",
            created_at=now,
        )
        targets = []
        if telegram_enabled() and subscription.telegram_chat_id:
            targets.append((Channel.TELEGRAM, subscription.telegram_chat_id.strip()))
        if email_enabled() and subscription.email:
            targets.append((Channel.EMAIL, subscription.email.strip().lower()))
        Delivery.objects.bulk_create(
            [
                Delivery(alert=alert, channel=c, address=a, user_id=subscription.user_id, next_attempt_at=now)
                for c, a in targets
            ]
        )
        _send_after_commit()
    return alert


def _send_after_commit() -> None:
    """Queue one sending task when the outermost transaction commits (not one per alert); if the
    broker is down, beat's next send picks the rows up."""
    from ..tasks import send_alerts_task  # the task module imports the services

    queue_after_commit(send_alerts_task, once=True, robust=True)
