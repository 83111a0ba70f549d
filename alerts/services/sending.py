"""Sending what waits in the outbox: each delivery at most once.

1. **Claim**: a conditional UPDATE moves one due row from PENDING to SENDING with this sender's
   token; it succeeds for exactly one sender, however many workers try (both databases).
2. **Send** it on its channel (Telegram Bot API, Django mail).
3. **Record** the result on the row, only if the claim is still ours:
   - sent -> SENT;
   - Telegram's 429 -> PENDING again after its `retry_after` (not counted as a failed try);
   - a failure that may pass -> PENDING after a backoff (30 s, doubled, at most an hour), and
     FAILED after ALERT_MAX_ATTEMPTS tries, with the reason in words;
   - a failure that cannot pass (the chat does not exist, the address is refused) -> FAILED;
   - the channel itself refused (a wrong bot token, a mail login refused, not set up) -> PENDING
     after a backoff, and the rest of this send leaves that channel alone (every other message
     on it would fail the same way; `send_alerts` exits non-zero, saying why);
   - the answer was lost (the message may have arrived) -> UNCERTAIN.
A sender that dies between 2 and 3 leaves its row in SENDING; after CLAIM_TIMEOUT it becomes
UNCERTAIN, never PENDING: the message may have gone out, and nobody must get it twice. Staff see
FAILED and UNCERTAIN rows in the admin and may send them again by hand (`resend`).
"""

import logging
import math
import smtplib
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import F, Min
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kaspisync.secrets import mask

from .. import render
from ..models import Channel, Delivery, DeliveryStatus
from ..telegram import SendError, TelegramClient
from .outbox import alert_language

log = logging.getLogger(__name__)

CLAIM_TIMEOUT = timedelta(minutes=10)  # far beyond one send's timeouts
BACKOFF_FIRST = 30  # seconds; doubled per failed try
BACKOFF_CAP = 3600


@dataclass
class SendReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    uncertain: int = 0
    errors: list[str] = field(default_factory=list)
    refused_channels: list[str] = field(default_factory=list)  # channels that refused us (token, login)

    def __str__(self):
        return _("sent: %(sent)s, to retry: %(retrying)s, failed: %(failed)s, outcome unknown: %(uncertain)s") % {
            "sent": self.sent,
            "retrying": self.retrying,
            "failed": self.failed,
            "uncertain": self.uncertain,
        }


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(BACKOFF_CAP, BACKOFF_FIRST * 2 ** max(0, attempts - 1)))


def release_stale_claims(now=None) -> int:
    """Rows left in SENDING by a sender that died: their outcome is unknown."""
    now = now or timezone.now()
    return Delivery.objects.filter(status=DeliveryStatus.SENDING, claimed_at__lt=now - CLAIM_TIMEOUT).update(
        status=DeliveryStatus.UNCERTAIN,
        error=_(
            "The sender stopped while sending (the process was stopped or crashed): the message may have "
            "arrived. It is not sent again on its own, so that nobody gets it twice."
        ),
    )


def claim_next(now=None, skip_channels=()) -> tuple[Delivery, str] | None:
    """Claim the next due row for this sender; (row, claim token) or None when nothing is due."""
    now = now or timezone.now()
    due = (
        Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .exclude(channel__in=skip_channels)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)
    )
    for pk in due[:20]:
        token = uuid.uuid4().hex
        claimed = Delivery.objects.filter(pk=pk, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.SENDING, claimed_by=token, claimed_at=now, attempts=F("attempts") + 1
        )
        if claimed:  # else another sender took it between the read and the update
            return Delivery.objects.select_related("alert").get(pk=pk), token
    return None


def _record(delivery: Delivery, token: str, **values) -> None:
    """Write the outcome only while the claim is ours (a stale-claim sweep may have run)."""
    Delivery.objects.filter(pk=delivery.pk, claimed_by=token).update(**values)


def deliver(delivery: Delivery, telegram: TelegramClient | None = None) -> str:
    """Send one claimed row on its channel; raises SendError. Returns a note for staff about a
    delivery that went through but needs their attention ("" when none)."""
    alert = delivery.alert
    if delivery.channel == Channel.TELEGRAM:
        text = render.telegram_text(alert.title, alert.lines, alert.link)
        telegram = telegram or TelegramClient()
        telegram.send_message(delivery.address, text)
        moved = telegram.migrated.get(delivery.address.strip())
        if moved is not None:
            return _(
                "Delivered to %(new)s: Telegram says the group %(chat)s became a supergroup with that id. "
                "Put %(new)s in place of %(chat)s in TELEGRAM_CHAT_IDS or the subscription."
            ) % {"new": moved, "chat": delivery.address}
    elif delivery.channel == Channel.EMAIL:
        _send_email(delivery.address, alert)
    else:
        raise SendError(_("Unknown channel %(channel)s.") % {"channel": delivery.channel}, permanent=True)
    return ""


def _send_email(address: str, alert) -> None:
    if not settings.EMAIL_URL:
        raise SendError(_("E-mail is not set up: EMAIL_URL is empty."), channel_down=True)
    message = EmailMessage(
        subject=render.email_subject(alert.title),
        body=render.email_body(alert.title, alert.lines, alert.link),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[address],
    )
    try:
        message.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as exc:
        raise SendError(
            _("The mail server refused the address %(address)s (%(error)s).")
            % {"address": address, "error": _smtp_detail(exc)},
            permanent=True,
        ) from None
    except smtplib.SMTPAuthenticationError as exc:
        raise SendError(
            _("The mail server did not accept the login in EMAIL_URL (%(error)s).") % {"error": _smtp_detail(exc)},
            channel_down=True,
        ) from None
    except smtplib.SMTPResponseException as exc:
        permanent = 500 <= exc.smtp_code < 600
        raise SendError(
            _("The mail server refused the message (%(error)s).") % {"error": _smtp_detail(exc)},
            permanent=permanent,
        ) from None
    except (smtplib.SMTPException, OSError) as exc:  # OSError: refused, timed out, reset
        # No "250 accepted" came back: by SMTP's rules the message was not taken; try again.
        raise SendError(_("The mail server cannot be reached (%(error)s).") % {"error": _smtp_detail(exc)}) from None


def _smtp_detail(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        message = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        return mask(f"{exc.smtp_code} {message}")[:300]
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return mask("; ".join(f"{code} {msg.decode(errors='replace')}" for code, msg in exc.recipients.values()))[:300]
    return mask(f"{type(exc).__name__}: {exc}")[:300]


def _after_failure(delivery: Delivery, token: str, error: SendError, now, report: SendReport) -> None:
    text = str(error)
    report.errors.append(f"{delivery}: {text}")
    if error.uncertain:
        _record(delivery, token, status=DeliveryStatus.UNCERTAIN, error=text)
        report.uncertain += 1
    elif error.retry_after is not None:  # the channel asked us to wait: not a failed try
        _record(
            delivery,
            token,
            status=DeliveryStatus.PENDING,
            attempts=F("attempts") - 1,
            next_attempt_at=now + timedelta(seconds=error.retry_after),
            error=text,
        )
        report.retrying += 1
    elif error.permanent or delivery.attempts >= settings.ALERT_MAX_ATTEMPTS:
        if not error.permanent:
            text = ngettext(
                "Not delivered after %(n)s try. Last error: %(error)s",
                "Not delivered after %(n)s tries. Last error: %(error)s",
                delivery.attempts,
            ) % {"n": delivery.attempts, "error": text}
        _record(delivery, token, status=DeliveryStatus.FAILED, error=text)
        report.failed += 1
    else:
        _record(
            delivery,
            token,
            status=DeliveryStatus.PENDING,
            next_attempt_at=now + backoff(delivery.attempts),
            error=text,
        )
        report.retrying += 1
    log.warning("alert %s to %s: %s", delivery.alert_id, delivery, text)


def send_pending(*, wait: float = 0, sleep=time.sleep) -> SendReport:
    """Send every due row now; with `wait`, also wait (up to that many seconds in all) for rows
    whose next try comes within it, e.g. after Telegram's `retry_after`."""
    report = SendReport()
    deadline = time.monotonic() + wait
    paused: dict[str, float] = {}  # channel -> monotonic time until which it is not used (429)
    telegram = TelegramClient()
    with alert_language():
        release_stale_claims()
        while True:
            now = timezone.now()
            skip = [channel for channel, until in paused.items() if until > time.monotonic()]
            claimed = claim_next(now, skip_channels=skip)
            if claimed is None:
                pause = _next_due_in(now, paused) if wait else None
                if pause is None or time.monotonic() + pause > deadline:
                    break
                sleep(max(0.05, pause))
                continue
            delivery, token = claimed
            try:
                note = deliver(delivery, telegram)
            except SendError as exc:
                _after_failure(delivery, token, exc, now, report)
                if exc.retry_after is not None:
                    paused[delivery.channel] = time.monotonic() + exc.retry_after
                elif exc.channel_down:  # the rest of this send leaves the channel alone
                    paused[delivery.channel] = math.inf
                    report.refused_channels.append(delivery.get_channel_display())
            except Exception as exc:  # a bug must not leave the row claimed forever, nor stop the others
                log.exception("alert %s to %s: unexpected error", delivery.alert_id, delivery)
                _after_failure(
                    delivery,
                    token,
                    SendError(_("Unexpected error: %(error)s") % {"error": f"{type(exc).__name__}: {exc}"}),
                    now,
                    report,
                )
            else:
                _record(delivery, token, status=DeliveryStatus.SENT, sent_at=timezone.now(), error=note)
                if note:
                    log.warning("alert %s to %s: %s", delivery.alert_id, delivery, note)
                report.sent += 1
    return report


def _next_due_in(now, paused: dict[str, float]) -> float | None:
    """Seconds until a pending row may be sent: its next try, and its channel's pause if any."""
    firsts = (
        Delivery.objects.filter(status=DeliveryStatus.PENDING)
        .order_by()
        .values("channel")
        .annotate(at=Min("next_attempt_at"))
        .values_list("channel", "at")
    )
    waits = [max((at - now).total_seconds(), paused.get(channel, 0) - time.monotonic(), 0.0) for channel, at in firsts]
    return min(waits) if waits else None


def resend(deliveries) -> int:
    """Staff send failed or uncertain rows again (a person decided a repeat is fine)."""
    return Delivery.objects.filter(
        pk__in=[d.pk for d in deliveries], status__in=[DeliveryStatus.FAILED, DeliveryStatus.UNCERTAIN]
    ).update(
        status=DeliveryStatus.PENDING,
        attempts=0,
        next_attempt_at=timezone.now(),
        claimed_by="",
        claimed_at=None,
        error="",
    )
