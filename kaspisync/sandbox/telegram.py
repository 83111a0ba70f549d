"""Telegram Bot API emulator (`sendMessage`, `getMe`) over real HTTP on loopback.

`make run` starts it when TELEGRAM_BOT_TOKEN is not set, so the demo shows alerts arriving: open
its page (`/`) to see every message it received. Tests use it over sockets:

    sandbox = TelegramSandbox(token="123456:TEST-token", chats={"100"})  # chats=None: any chat id
    with sandbox.serve() as server:
        server.base                              # what TELEGRAM_API_URL points at
        sandbox.inject("429", retry_after=3)     # the next request answers 429 with retry_after
        sandbox.messages                         # what it received, in order

It answers as the Bot API documents: `{"ok": true, "result": ...}` or `{"ok": false,
"error_code": N, "description": "..."}`. It checks the token in the path (`/bot<token>/<method>`:
404 for a malformed token, 401 for a wrong one), `chat_id` (400 "chat_id is empty", 400 "chat
not found" for a chat it does not know, 403 for a chat that blocked the bot, 400 with
`parameters.migrate_to_chat_id` for a group that became a supergroup), the text (400 when
empty or longer than 4096 characters after entity parsing, in UTF-16 code units), and
`parse_mode=HTML` (only Telegram's tags, balanced; a bare `<` or `&` is refused as Telegram does).
Faults (`inject`): "429" (with `retry_after`, also as a Retry-After header), "500", "502",
"drop" (the connection closes before the request is handled: nothing sent), "lost" (the
message is delivered, then the connection closes without an answer). Control endpoints under
`/_sandbox/` (no token): GET messages, GET stats, POST faults, POST clear.
"""

import argparse
import html
import json
import re
import threading
import time
from urllib.parse import parse_qs, urlsplit

from .base import LoopbackServer, SandboxHandler

TOKEN_FORMAT = re.compile(r"\d+:[A-Za-z0-9_-]+")
CHAT_FORMAT = re.compile(r"-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{3,31}")
TEXT_LIMIT = 4096
ALLOWED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "span",
    "tg-spoiler",
    "tg-emoji",
    "blockquote",
}
_TOKEN = re.compile(r"<(/?)([A-Za-z][\w-]*)(\s[^>]*)?>|&(#\d+|#x[0-9A-Fa-f]+|lt|gt|amp|quot);|[<&]")


class BotApiError(Exception):
    def __init__(self, code: int, description: str, parameters: dict | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> dict:
        body = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def parse_html(text: str) -> str:
    """The text Telegram shows for `parse_mode=HTML`; BotApiError(400) where Telegram refuses it."""
    plain, stack, position = [], [], 0
    for match in _TOKEN.finditer(text):
        plain.append(text[position : match.start()])
        position = match.end()
        closing, tag, _attrs, entity = match.group(1), match.group(2), match.group(3), match.group(4)
        offset = len(text[: match.start()].encode())
        if tag is not None:
            tag = tag.lower()
            if tag not in ALLOWED_TAGS:
                raise BotApiError(
                    400, f'Bad Request: can\'t parse entities: Unsupported start tag "{tag}" at byte offset {offset}'
                )
            if not closing:
                stack.append(tag)
            elif not stack or stack[-1] != tag:
                raise BotApiError(
                    400,
                    f'Bad Request: can\'t parse entities: Unmatched end tag at byte offset {offset}, expected "</{stack[-1] if stack else tag}>"',
                )
            else:
                stack.pop()
        elif entity is not None:
            plain.append(html.unescape(match.group(0)))
        else:
            raise BotApiError(
                400,
                f"Bad Request: can't parse entities: Character '{match.group(0)}' is reserved and must be escaped "
                f"at byte offset {offset}",
            )
    plain.append(text[position:])
    if stack:
        raise BotApiError(
            400, f"Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"{stack[-1]}\""
        )
    return "".join(plain)


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class TelegramSandbox:
    """The emulator's state: the bot, the chats it knows, received messages, queued faults."""

    def __init__(
        self,
        token: str = "1000000001:sandbox-telegram-token",
        *,
        chats: set[str] | None = None,
        blocked: set[str] | None = None,
        migrated: dict[str, int] | None = None,
        keep: int = 1000,
    ):
        self.token = token
        self.chats = {str(c) for c in chats} if chats is not None else None
        self.blocked = {str(c) for c in (blocked or ())}
        self.migrated = {str(old): int(new) for old, new in (migrated or {}).items()}  # group -> supergroup id
        self.keep = keep
        self.bot_id = int(token.split(":", 1)[0]) if TOKEN_FORMAT.fullmatch(token) else 1
        self.lock = threading.Lock()
        self.messages: list[dict] = []
        self.faults: list[dict] = []
        self.requests = 0
        self._next_id = 1

    # --- control ------------------------------------------------------------------------------
    def inject(self, kind: str, count: int = 1, retry_after: int = 3) -> None:
        """Queue `count` faults for the next API requests: "429", "500", "502", "drop", "lost"."""
        if kind not in ("429", "500", "502", "drop", "lost"):
            raise ValueError(f"unknown fault {kind!r}")
        with self.lock:
            self.faults += [{"kind": kind, "retry_after": int(retry_after)} for _ in range(count)]

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()
            self.faults.clear()

    def take_fault(self) -> dict | None:
        with self.lock:
            return self.faults.pop(0) if self.faults else None

    def stats(self) -> dict:
        with self.lock:
            return {"messages": len(self.messages), "requests": self.requests, "faults": len(self.faults)}

    def texts(self, chat_id=None) -> list[str]:
        """The plain texts received (for one chat), oldest first."""
        with self.lock:
            return [m["plain"] for m in self.messages if chat_id is None or m["chat_id"] == str(chat_id)]

    # --- the API ------------------------------------------------------------------------------
    @property
    def bot(self) -> dict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "kaspisync sandbox",
            "username": "kaspisync_sandbox_bot",
        }

    def send_message(self, params: dict) -> dict:
        chat_id = str(params.get("chat_id") or "").strip()
        if not chat_id:
            raise BotApiError(400, "Bad Request: chat_id is empty")
        if not CHAT_FORMAT.fullmatch(chat_id) or (self.chats is not None and chat_id not in self.chats):
            raise BotApiError(400, "Bad Request: chat not found")
        if chat_id in self.blocked:
            raise BotApiError(403, "Forbidden: bot was blocked by the user")
        if chat_id in self.migrated:
            raise BotApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self.migrated[chat_id]},
            )
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise BotApiError(400, "Bad Request: message text is empty")
        parse_mode = params.get("parse_mode") or ""
        if parse_mode and parse_mode not in ("HTML", "MarkdownV2", "Markdown"):
            raise BotApiError(400, "Bad Request: unsupported parse_mode")
        plain = parse_html(text) if parse_mode == "HTML" else text
        if not plain.strip():
            raise BotApiError(400, "Bad Request: message text is empty")
        if utf16_length(plain) > TEXT_LIMIT:
            raise BotApiError(400, "Bad Request: message is too long")
        with self.lock:
            message_id = self._next_id
            self._next_id += 1
            message = {
                "message_id": message_id,
                "chat_id": chat_id,
                "chat_id_sent": params.get("chat_id"),  # as it came: a JSON number or a string
                "text": text,
                "plain": plain,
                "parse_mode": parse_mode,
                "date": int(time.time()),
            }
            self.messages.append(message)
            del self.messages[: -self.keep]
        chat = {"id": int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id, "type": "private"}
        return {"message_id": message_id, "from": self.bot, "chat": chat, "date": message["date"], "text": plain}

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> "TelegramServer":
        return TelegramServer(self, host, port)


class TelegramServer(LoopbackServer):
    def __init__(self, sandbox: TelegramSandbox, host: str = "127.0.0.1", port: int = 0):
        super().__init__(TelegramHandler, sandbox, host, port)

    @property
    def url(self) -> str:
        return self.base


PAGE = """<!DOCTYPE html><html lang="ru"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>Telegram sandbox</title><style>body{{font:14px sans-serif;margin:2em}}td,th{{border-bottom:1px solid #ddd;
padding:.4em;vertical-align:top;text-align:left}}pre{{white-space:pre-wrap;margin:0;font:inherit}}</style></head>
<body><h1>Telegram sandbox</h1><p>Bot @kaspisync_sandbox_bot: {count} messages received (newest first;
the page refreshes every 5 s).</p><table><tr><th>#</th><th>time</th><th>chat</th><th>text</th></tr>{rows}</table>
</body></html>"""


class TelegramHandler(SandboxHandler):
    server_version = "kaspisync-telegram-sandbox"

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def _serve(self, method: str) -> None:
        try:
            self._handle(method)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _json(self, status: int, payload, headers=None) -> None:
        self.send_body(status, json.dumps(payload, ensure_ascii=False).encode(), headers=headers)

    def _params(self, query: dict) -> dict:
        params = {k: v[0] for k, v in query.items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if raw and content_type == "application/json":
            try:
                body = json.loads(raw)
            except ValueError as exc:
                raise BotApiError(400, "Bad Request: can't parse JSON object") from exc
            if isinstance(body, dict):
                params.update(body)
        elif raw:
            params.update({k: v[0] for k, v in parse_qs(raw.decode(errors="replace")).items()})
        return params

    def _handle(self, method: str) -> None:
        sandbox: TelegramSandbox = self.state
        parts = urlsplit(self.path)
        if parts.path in ("/", "/index.html") and method == "GET":
            return self._page()
        if parts.path.startswith("/_sandbox/"):
            return self._control(method, parts.path[len("/_sandbox/") :])
        try:
            params = self._params(parse_qs(parts.query))
            match = re.fullmatch(r"/bot([^/]*)/([A-Za-z]+)", parts.path)
            if not match or not TOKEN_FORMAT.fullmatch(match.group(1)):
                raise BotApiError(404, "Not Found")
            with sandbox.lock:
                sandbox.requests += 1
            if match.group(1) != sandbox.token:
                raise BotApiError(401, "Unauthorized")
            fault = sandbox.take_fault()
            if fault and fault["kind"] == "drop":
                self.close_connection = True
                return None
            if fault and fault["kind"] == "429":
                seconds = fault["retry_after"]
                raise BotApiError(429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds})
            if fault and fault["kind"] in ("500", "502"):
                raise BotApiError(
                    int(fault["kind"]), "Internal Server Error" if fault["kind"] == "500" else "Bad Gateway"
                )
            name = match.group(2)
            if name == "getMe":
                result = sandbox.bot
            elif name == "sendMessage":
                result = sandbox.send_message(params)
            else:
                raise BotApiError(404, "Not Found")
            if fault and fault["kind"] == "lost":  # delivered, but the answer never comes
                self.close_connection = True
                return None
        except BotApiError as exc:
            headers = {"Retry-After": str(exc.parameters["retry_after"])} if exc.code == 429 else None
            return self._json(exc.code, exc.body(), headers)
        return self._json(200, {"ok": True, "result": result})

    def _page(self) -> None:
        sandbox: TelegramSandbox = self.state
        with sandbox.lock:
            messages = list(reversed(sandbox.messages))
        rows = "".join(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><pre>{}</pre></td></tr>".format(
                m["message_id"],
                time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(m["date"])),
                html.escape(m["chat_id"]),
                html.escape(m["plain"]),
            )
            for m in messages
        )
        body = PAGE.format(count=len(messages), rows=rows).encode()
        self.send_body(200, body, content_type="text/html; charset=utf-8")

    def _control(self, method: str, action: str) -> None:
        sandbox: TelegramSandbox = self.state
        if method == "GET" and action == "messages":
            with sandbox.lock:
                return self._json(200, list(sandbox.messages))
        if method == "GET" and action == "stats":
            return self._json(200, sandbox.stats())
        if method == "POST" and action == "clear":
            sandbox.clear()
            return self._json(200, sandbox.stats())
        if method == "POST" and action == "faults":
            try:
                body = self._params({})
                sandbox.inject(body.get("kind", "500"), int(body.get("count", 1)), int(body.get("retry_after", 3)))
            except (ValueError, BotApiError) as exc:
                return self._json(400, {"error": str(exc)})
            return self._json(200, sandbox.stats())
        return self._json(404, {"error": "unknown control endpoint"})


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="kaspisync.sandbox telegram", description="Telegram Bot API emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8003)
    parser.add_argument("--token", default="1000000001:sandbox-telegram-token")
    parser.add_argument(
        "--chats", default="", help="comma-separated chat ids it knows (default: any well-formed chat id)"
    )
    args = parser.parse_args(argv)
    chats = {c.strip() for c in args.chats.split(",") if c.strip()} or None
    sandbox = TelegramSandbox(args.token, chats=chats)
    server = sandbox.serve(args.host, args.port)
    print(f"Telegram sandbox: {server.url} (received messages on {server.url}/)", flush=True)
    server.run_until_interrupted()


if __name__ == "__main__":
    main()
