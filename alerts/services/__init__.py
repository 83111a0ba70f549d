"""Alerts: tell staff what needs them, on Telegram and by e-mail.

Other apps call one service, inside the transaction that causes the event (so the alert exists
exactly when the event does, and is rolled back with it):

    from alerts.services import alert_language, notify
    from alerts.models import Kind

    with alert_language():                      # texts in the portal's language (Russian)
        notify(
            Kind.ORDER_WAITING,                 # one of alerts.models.KINDS
            f"order:{order.pk}",                # unique within the kind: a second call is a no-op
            title=_("Order %(code)s waits for acceptance") % {...},
            lines=[...],                        # plain text lines; any characters are safe
            link=reverse("admin:orders_order_change", args=[order.pk]),   # a portal path
            permission="orders.view_order",     # optional: narrower than the kind's own
        )

`notify` returns the new `Alert`, or None when (kind, key) exists already: choose the key so that
the same event gives the same key (an order's waiting alert: the order; a daily summary: the
date; a job that is late: the job and the last success it is late after). No customer phone or
address ever goes into an alert: the order number, total, items and a link are enough.
Recipients: TELEGRAM_CHAT_IDS / ALERT_EMAILS get every alert; staff users subscribed in the
admin get the kinds they chose and their permissions allow. A sending task is queued when the
transaction commits; beat also sends what waits every ALERT_SEND_INTERVAL seconds, and
`python manage.py send_alerts` sends it in the foreground.
"""

from .outbox import alert_language, email_enabled, notify, recipients, send_test, telegram_enabled
from .sending import SendReport, release_stale_claims, resend, send_pending

__all__ = [
    "SendReport",
    "alert_language",
    "email_enabled",
    "notify",
    "recipients",
    "release_stale_claims",
    "resend",
    "send_pending",
    "send_test",
    "telegram_enabled",
]
