"""Alerts: an outbox of messages to staff, one row per alert and one per recipient.

- `Alert`: what happened, once. (`kind`, `key`) is unique: the same alert cannot be created twice,
  however often its cause is seen (a re-pulled order, a check that runs every few minutes).
- `Delivery`: the alert for one recipient on one channel (a Telegram chat, an e-mail address),
  with its own status, attempts and error, so one unreachable recipient never holds up or
  repeats the others.
- `Subscription`: a staff user's own Telegram chat id and e-mail, and the kinds they want on each.

Kinds are plain strings (no database choices): `KINDS` below names each one and the permission a
subscriber needs to receive it. Adding a kind is one entry here, no migration.
"""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Kind:
    """Alert kinds (the `kind` argument of `alerts.services.notify`)."""

    ORDER_WAITING = "order_waiting"
    ORDER_REMINDER = "order_reminder"
    ORDER_AUTO_ACCEPTED = "order_auto_accepted"
    JOB_FAILED = "job_failed"
    JOB_LATE = "job_late"
    WORKER_SILENT = "worker_silent"
    FEED_HELD = "feed_held"
    FEED_OFFERS_DROPPED = "feed_offers_dropped"
    FEED_NOT_FETCHED = "feed_not_fetched"
    MARGIN_FLOOR = "margin_floor"
    CARD_ERRORS = "card_errors"
    CANCELLATION_SHARE = "cancellation_share"
    DAILY_SUMMARY = "daily_summary"
    TEST = "test"


# kind -> (label, the permission a subscriber needs to receive it; "" = any staff user).
# Callers may ask for a narrower permission per alert (`notify(..., permission=...)`).
KINDS = {
    Kind.ORDER_WAITING: (_("an order waits for acceptance"), "orders.view_order"),
    Kind.ORDER_REMINDER: (_("an order still waits for acceptance (reminder)"), "orders.view_order"),
    Kind.ORDER_AUTO_ACCEPTED: (_("an order was accepted automatically"), "orders.view_order"),
    Kind.JOB_FAILED: (_("a background job failed"), ""),
    Kind.JOB_LATE: (_("a background job has not succeeded for too long"), ""),
    Kind.WORKER_SILENT: (_("no background worker answers"), ""),
    Kind.FEED_HELD: (_("a price list build was held or is invalid"), "feeds.view_feedversion"),
    Kind.FEED_OFFERS_DROPPED: (_("offers were left out of a price list build"), "feeds.view_feedversion"),
    Kind.FEED_NOT_FETCHED: (_("Kaspi has not fetched the price list"), "feeds.view_feedversion"),
    Kind.MARGIN_FLOOR: (_("products fell below the margin floor"), "catalog.view_product"),
    Kind.CARD_ERRORS: (_("product card uploads with errors"), "cards.view_uploadrun"),
    Kind.CANCELLATION_SHARE: (_("the share of cancelled orders crossed a threshold"), "orders.view_order"),
    Kind.DAILY_SUMMARY: (_("daily summary"), "orders.view_order"),
    Kind.TEST: (_("test message"), ""),
}
SUBSCRIBABLE = [kind for kind in KINDS if kind != Kind.TEST]


def kind_label(kind: str) -> str:
    return str(KINDS[kind][0]) if kind in KINDS else kind


class Channel(models.TextChoices):
    TELEGRAM = "telegram", _("Telegram")
    EMAIL = "email", _("e-mail")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("waiting to be sent")
    SENDING = "sending", _("being sent")
    SENT = "sent", pgettext_lazy("alert delivery", "sent")
    FAILED = "failed", pgettext_lazy("alert delivery", "failed")
    # The sender stopped between sending and recording the result (or the channel's answer was
    # lost): the message may have arrived. It is not sent again on its own, so nobody gets it twice.
    UNCERTAIN = "uncertain", _("outcome unknown")


class Alert(models.Model):
    kind = models.CharField(_("kind"), max_length=40, db_index=True)
    key = models.CharField(_("key"), max_length=200, help_text=_("What makes this alert unique within its kind."))
    title = models.CharField(_("title"), max_length=300)
    lines = models.JSONField(_("text"), default=list, blank=True)
    link = models.CharField(_("link"), max_length=500, blank=True)
    permission = models.CharField(_("permission needed to receive it"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created"), db_index=True)

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["kind", "key"], name="alerts_alert_unique_key")]
        permissions = [("resend_delivery", _("Can send an alert again"))]

    def __str__(self):
        return self.title

    @property
    def kind_display(self) -> str:
        return kind_label(self.kind)


class Delivery(models.Model):
    alert = models.ForeignKey(Alert, verbose_name=_("alert"), on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    address = models.CharField(_("recipient"), max_length=254, help_text=_("Telegram chat id or e-mail address."))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("subscriber"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"))
    claimed_by = models.CharField(_("claimed by"), max_length=64, blank=True, editable=False)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True, editable=False)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["-alert__created_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["alert", "channel", "address"], name="alerts_delivery_unique_recipient")
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="alerts_delivery_due")]

    def __str__(self):  # also kept in the admin's history: never the whole address
        return f"{self.get_channel_display()} {self.masked_address}"

    @property
    def masked_address(self) -> str:
        """The address as shown to colleagues: enough to tell recipients apart, not to write to
        them ("b•••@example.kz", "•••4567")."""
        return mask_address(self.address)


def mask_address(address: str) -> str:
    name, at, domain = address.partition("@")
    if at:
        return f"{name[:1]}•••@{domain}"
    return f"•••{address[-4:]}" if len(address) > 4 else "•••"


TELEGRAM_CHAT_ID = re.compile(r"-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{3,31}")


def validate_chat_id(value: str) -> None:
    if not TELEGRAM_CHAT_ID.fullmatch(value or ""):
        raise ValidationError(
            _("A Telegram chat id is a number (a group's is negative, e.g. -1001234567890) or @channel_name.")
        )


class Subscription(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="alert_subscription",
    )
    telegram_chat_id = models.CharField(
        _("Telegram chat id"),
        max_length=64,
        blank=True,
        validators=[validate_chat_id],
        help_text=_(
            "Your chat with the portal's bot: write /start to the bot, then ask @userinfobot for your id. "
            "For a group, add the bot to it and use the group's id."
        ),
    )
    email = models.EmailField(_("e-mail"), blank=True)
    telegram_kinds = models.JSONField(_("in Telegram"), default=list, blank=True)
    email_kinds = models.JSONField(_("by e-mail"), default=list, blank=True)
    is_active = models.BooleanField(pgettext_lazy("alert subscription", "active"), default=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("alert subscription")
        verbose_name_plural = _("alert subscriptions")

    def __str__(self):
        return str(self.user)
