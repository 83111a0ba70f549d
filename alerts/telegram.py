"""Telegram Bot API client: `sendMessage` only.

    TelegramClient().send_message(chat_id, html_text) -> message id

The bot token is part of every URL path (`/bot<token>/sendMessage`): it is registered as a secret
and every error text is masked, so it never reaches a log, an exception or a stored row.
Failures raise `SendError` (kaspisync-wide meaning of its flags in `alerts.services.sending`):
`retry_after` on 429, `permanent` when trying again cannot help this message, `uncertain` when
the request may have reached Telegram but its answer was lost (not repeated: nobody gets it twice).

`chat_id` goes out as the Bot API types it: a JSON integer for a numeric id (a group's is
negative), a string for `@channelname`. A group that became a supergroup is answered 400 with
`parameters.migrate_to_chat_id`: Telegram refused the message, so it is sent once to the new id,
and `migrated` remembers the move so that staff are told to update the id.

No retry loop here: retries are the outbox's (`alerts.services.sending`: each try recorded on
its row, backoff across runs, bounded), not an in-process loop like the API clients'
`kaspisync.http.RetryPolicy`, so a message is never sent twice by a retry nobody recorded.
"""

import re

import requests
from django.conf import settings
from django.utils.translation import gettext as _
from urllib3.exceptions import NewConnectionError

from kaspisync.http import make_session, retry_after, timeouts
from kaspisync.secrets import mask, register_secret

NUMERIC_CHAT = re.compile(r"-?\d+")


def chat_value(chat_id: str) -> int | str:
    """The chat id as the Bot API types it: Integer for a numeric id, String for @channelname."""
    chat_id = str(chat_id).strip()
    return int(chat_id) if NUMERIC_CHAT.fullmatch(chat_id) else chat_id


class SendError(Exception):
    """A message was not delivered. The text is for staff (in words, masked)."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        permanent=False,
        uncertain=False,
        channel_down=False,
    ):
        super().__init__(mask(message))
        self.retry_after = retry_after
        self.permanent = permanent
        self.uncertain = uncertain
        # the channel itself is refused (a wrong token, nothing set up): every other message on it
        # would fail the same way, so a send stops using it (the rows wait for their next try)
        self.channel_down = channel_down


class ChatMigrated(SendError):
    """The group became a supergroup with another id: Telegram refused the message."""

    def __init__(self, message: str, new_chat_id: int):
        super().__init__(message, permanent=True)
        self.new_chat_id = new_chat_id


def _not_sent(exc: requests.RequestException) -> bool:
    """True when the request surely never reached the server (no connection was made)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(exc, requests.ConnectionError) and isinstance(reason, NewConnectionError)


class TelegramClient:
    def __init__(self, token: str | None = None, api_url: str | None = None, session: requests.Session | None = None):
        self.token = settings.TELEGRAM_BOT_TOKEN if token is None else token
        self.api_url = (api_url or settings.TELEGRAM_API_URL).rstrip("/")
        register_secret(self.token)
        self.session = session or make_session()
        self.migrated: dict[str, int] = {}  # old group id -> the supergroup's id, as Telegram said

    def send_message(self, chat_id: str, text: str) -> int | None:
        payload = {
            "chat_id": chat_value(chat_id),
            "text": text,
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": True},
        }
        try:
            result = self._call("sendMessage", payload, chat_id)
        except ChatMigrated as moved:  # refused, so nothing arrived yet: once to the new id
            payload["chat_id"] = moved.new_chat_id
            result = self._call("sendMessage", payload, str(moved.new_chat_id))
            self.migrated[str(chat_id).strip()] = moved.new_chat_id
        return (result or {}).get("message_id")

    def get_me(self) -> dict:
        """The bot's own record: a cheap check that the token is accepted."""
        return self._call("getMe", {}, "") or {}

    def _call(self, method: str, payload: dict, chat_id: str):
        if not self.token:
            raise SendError(_("Telegram is not set up: TELEGRAM_BOT_TOKEN is empty."), channel_down=True)
        url = f"{self.api_url}/bot{self.token}/{method}"
        try:
            response = self.session.post(url, json=payload, timeout=timeouts())
        except requests.RequestException as exc:
            detail = mask(f"{type(exc).__name__}: {exc}")[:300]
            if _not_sent(exc):
                raise SendError(
                    _("Telegram cannot be reached (%(error)s): the message will be sent again.") % {"error": detail}
                ) from None
            raise SendError(
                _(
                    "Telegram's answer was lost (%(error)s): the message may have arrived. It is not sent again "
                    "on its own, so that nobody gets it twice."
                )
                % {"error": detail},
                uncertain=True,
            ) from None
        return self._answer(response, chat_id)

    def _answer(self, response: requests.Response, chat_id: str):
        try:
            data = response.json()
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        if response.status_code == 200 and data.get("ok"):
            return data.get("result")
        description = mask(str(data.get("description") or response.reason or ""))[:300]
        status = response.status_code
        if status == 429:
            stated = (data.get("parameters") or {}).get("retry_after") or retry_after(response)
            try:
                seconds = max(1.0, float(stated))
            except (TypeError, ValueError):
                seconds = 30.0
            raise SendError(
                _("Telegram asks to wait %(seconds)s s before sending more (429 Too Many Requests).")
                % {"seconds": int(seconds)},
                retry_after=seconds,
            )
        if status in (401, 404):
            # Telegram answers 401 for an unknown token and 404 for a malformed one.
            raise SendError(
                _(
                    "Telegram did not accept the bot token (%(status)s %(description)s): check TELEGRAM_BOT_TOKEN "
                    "(BotFather gives it). Nothing reaches Telegram until it is fixed."
                )
                % {"status": status, "description": description},
                channel_down=True,
            )
        if status == 403:
            raise SendError(
                _(
                    "Telegram refused to write to chat %(chat)s (%(description)s): the recipient blocked the bot "
                    "or the bot is not a member of the group."
                )
                % {"chat": chat_id, "description": description},
                permanent=True,
            )
        new_chat = (data.get("parameters") or {}).get("migrate_to_chat_id") if status == 400 else None
        if isinstance(new_chat, int) and not isinstance(new_chat, bool):
            raise ChatMigrated(
                _("Telegram group %(chat)s became a supergroup with the id %(new)s.")
                % {"chat": chat_id, "new": new_chat},
                new_chat,
            )
        if status == 400 and "chat not found" in description.lower():
            raise SendError(
                _(
                    "Telegram does not know chat %(chat)s: the recipient must write /start to the bot first, "
                    "or the chat id is wrong."
                )
                % {"chat": chat_id},
                permanent=True,
            )
        if status == 400:
            raise SendError(
                _("Telegram refused the message (%(description)s).") % {"description": description}, permanent=True
            )
        raise SendError(
            _("Telegram answered %(status)s (%(description)s): the message will be sent again.")
            % {"status": status, "description": description or _("no details")}
        )
