"""What the alerts app adds to the shared plumbing (kaspisync.registry), registered in
AlertsConfig.ready(): its dashboard panel and the Telegram and mail connection checks."""

import smtplib

from django.conf import settings
from django.core.mail import get_connection

from kaspisync import registry
from kaspisync.secrets import mask


def check_telegram() -> str:
    """`getMe` with the bot token: says in words whether Telegram accepts it (never shows it)."""
    from .telegram import TelegramClient

    if not settings.TELEGRAM_BOT_TOKEN:
        return "not set up (TELEGRAM_BOT_TOKEN is empty): no Telegram alerts"
    bot = TelegramClient().get_me()
    chats = ", ".join(settings.TELEGRAM_CHAT_IDS) or "none (only subscribed staff)"
    return f"{settings.TELEGRAM_API_URL} — bot @{bot.get('username', '?')}; default chats: {chats}"


def check_mail() -> str:
    if not settings.EMAIL_URL:
        return "not set up (EMAIL_URL is empty): no e-mail alerts"
    connection = get_connection(fail_silently=False)
    try:
        connection.open()
    except (smtplib.SMTPException, OSError) as exc:
        raise RuntimeError(mask(f"the mail server cannot be reached or refused the login: {exc}")) from None
    finally:
        connection.close()
    return f"{settings.EMAIL_HOST}:{settings.EMAIL_PORT} accepts the connection"


def register() -> None:
    registry.dashboard_panel("admin/alerts/dashboard_panel.html")
    # A failed delivery may be sent again by either manager (kaspisync.roles); viewers only look.
    for role in (registry.PRICE_MANAGERS, registry.ORDER_MANAGERS):
        registry.role_permissions(role, ["alerts.resend_delivery"])
    registry.connection_check("telegram", check_telegram, external=True)
    registry.connection_check("mail", check_mail, external=True)
