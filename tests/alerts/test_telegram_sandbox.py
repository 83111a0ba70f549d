"""The Telegram Bot API emulator answers as the Bot API documents (over real HTTP)."""

import json
import subprocess
import sys
import urllib.request

import pytest
import requests

from kaspisync.sandbox.telegram import TelegramSandbox

TOKEN = "123456:ABC-def_ghi"


@pytest.fixture
def bot():
    sandbox = TelegramSandbox(TOKEN, chats={"42", "-1001234567890"}, blocked={"-1001234567890"})
    with sandbox.serve() as server:
        sandbox.url = server.url
        yield sandbox


def send(bot, token=TOKEN, **params):
    return requests.post(f"{bot.url}/bot{token}/sendMessage", json=params, timeout=5)


def test_a_message_is_delivered_and_shown_on_the_page(bot):
    answer = send(bot, chat_id=42, text="<b>Заказ</b> &lt;1&gt; &amp; 🚚", parse_mode="HTML")
    assert answer.status_code == 200
    result = answer.json()["result"]
    assert answer.json()["ok"] is True
    assert result["chat"]["id"] == 42
    assert result["text"] == "Заказ <1> & 🚚"
    page = urllib.request.urlopen(bot.url + "/", timeout=5).read().decode()
    assert "Заказ &lt;1&gt; &amp; 🚚" in page  # shown escaped, as text


def test_form_encoded_parameters_are_read_too(bot):
    answer = requests.post(f"{bot.url}/bot{TOKEN}/sendMessage", data={"chat_id": "42", "text": "hi"}, timeout=5)
    assert answer.json()["ok"] is True
    assert bot.texts("42") == ["hi"]


@pytest.mark.parametrize(
    ("token", "status", "description"),
    [("123456:WRONG", 401, "Unauthorized"), ("not-a-token", 404, "Not Found"), ("", 404, "Not Found")],
)
def test_the_token_in_the_path_is_checked(bot, token, status, description):
    answer = send(bot, token=token, chat_id=42, text="x")
    assert answer.status_code == status
    assert answer.json() == {"ok": False, "error_code": status, "description": description}
    assert bot.messages == []


@pytest.mark.parametrize(
    ("params", "status", "description"),
    [
        ({"text": "x"}, 400, "Bad Request: chat_id is empty"),
        ({"chat_id": 7, "text": "x"}, 400, "Bad Request: chat not found"),
        ({"chat_id": "-1001234567890", "text": "x"}, 403, "Forbidden: bot was blocked by the user"),
        ({"chat_id": 42, "text": " "}, 400, "Bad Request: message text is empty"),
        ({"chat_id": 42, "text": "я" * 4097}, 400, "Bad Request: message is too long"),
        ({"chat_id": 42, "text": "🙂" * 2049}, 400, "Bad Request: message is too long"),  # UTF-16 units
        ({"chat_id": 42, "text": "a < b", "parse_mode": "HTML"}, 400, "Bad Request: can't parse entities"),
        ({"chat_id": 42, "text": "<b>x", "parse_mode": "HTML"}, 400, "Bad Request: can't parse entities"),
        ({"chat_id": 42, "text": "<script>x</script>", "parse_mode": "HTML"}, 400, "Bad Request: can't parse entities"),
        ({"chat_id": 42, "text": "AT&T", "parse_mode": "HTML"}, 400, "Bad Request: can't parse entities"),
    ],
)
def test_requests_telegram_refuses_are_refused(bot, params, status, description):
    answer = send(bot, **params)
    assert answer.status_code == status
    assert answer.json()["description"].startswith(description)
    assert bot.messages == []


def test_4096_characters_after_entity_parsing_are_accepted(bot):
    text = "<b>" + "я" * 4096 + "</b>"  # the tags do not count
    assert send(bot, chat_id=42, text=text, parse_mode="HTML").status_code == 200


def test_429_carries_retry_after(bot):
    bot.inject("429", retry_after=7)
    answer = send(bot, chat_id=42, text="x")
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "7"
    assert answer.json() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 7",
        "parameters": {"retry_after": 7},
    }
    assert send(bot, chat_id=42, text="x").status_code == 200  # one fault, then normal service


def test_a_lost_answer_delivers_and_drops_the_connection(bot):
    bot.inject("lost")
    with pytest.raises(requests.ConnectionError):
        send(bot, chat_id=42, text="x")
    assert bot.texts() == ["x"]


def test_control_endpoints(bot):
    post = urllib.request.Request(
        bot.url + "/_sandbox/faults", data=json.dumps({"kind": "500", "count": 2}).encode(), method="POST"
    )
    post.add_header("Content-Type", "application/json")
    assert json.load(urllib.request.urlopen(post, timeout=5))["faults"] == 2
    assert send(bot, chat_id=42, text="x").status_code == 500
    assert json.load(urllib.request.urlopen(bot.url + "/_sandbox/stats", timeout=5))["requests"] == 1


def test_the_command_line_lists_the_telegram_emulator():
    done = subprocess.run(
        [sys.executable, "-m", "kaspisync.sandbox", "telegram", "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0
    assert "--chats" in done.stdout
