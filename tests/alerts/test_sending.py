"""Sending the outbox over real sockets: the Telegram emulator and a real SMTP server."""

import logging
import threading
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from alerts.models import Channel, Delivery, DeliveryStatus, Kind
from alerts.services import notify, resend, send_pending
from alerts.services.sending import claim_next
from tests.conftest import TELEGRAM_CHAT, TELEGRAM_TOKEN

pytestmark = pytest.mark.django_db


def only_delivery() -> Delivery:
    return Delivery.objects.get()


def test_an_alert_arrives_in_telegram_whatever_the_product_name_holds(telegram):
    name = 'Кабель <HDMI> & "Tom\'s" 🔌 <b>bold</b> &amp;'
    notify(
        Kind.ORDER_WAITING,
        "order:1",
        title="Заказ 501 ждёт принятия",
        lines=[f"{name} × 2"],
        link="/admin/orders/order/1/change/",
    )
    report = send_pending()
    assert report.sent == 1
    assert report.failed == 0
    [message] = telegram.messages
    assert message["chat_id"] == TELEGRAM_CHAT
    assert message["parse_mode"] == "HTML"
    # the emulator parsed the HTML as Telegram does: the name comes out exactly as written
    assert message["plain"].splitlines()[:2] == ["Заказ 501 ждёт принятия", f"{name} × 2"]
    assert 'href="http://127.0.0.1:8000/admin/orders/order/1/change/"' in message["text"]
    delivery = only_delivery()
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.sent_at
    assert delivery.attempts == 1
    # sent rows are never sent again
    assert send_pending().sent == 0
    assert len(telegram.messages) == 1


def test_a_very_long_alert_is_cut_to_telegrams_limit_with_a_count_of_what_was_left_out(telegram):
    lines = [f"Позиция {n}: " + "Ж" * 300 + " 🔋" for n in range(40)]
    notify(Kind.MARGIN_FLOOR, "run:1", title="Ниже минимальной маржи: 40 товаров", lines=lines)
    assert send_pending().sent == 1
    plain = telegram.messages[0]["plain"]
    assert len(plain.encode("utf-16-le")) // 2 <= 4096
    assert "ещё" in plain
    assert "Позиция 0:" in plain
    assert "Позиция 39:" not in plain


def test_429_waits_for_retry_after_and_then_sends(telegram):
    telegram.inject("429", retry_after=1)
    notify(Kind.ORDER_WAITING, "order:2", title="Заказ 2")
    started = time.monotonic()
    report = send_pending(wait=10)
    assert report.sent == 1
    assert report.retrying == 1
    assert time.monotonic() - started >= 1.0  # Telegram's retry_after was honoured
    assert telegram.stats()["requests"] == 2
    assert len(telegram.messages) == 1
    delivery = only_delivery()
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.attempts == 1  # a 429 is not a failed try


def test_429_without_waiting_leaves_the_row_for_after_retry_after(telegram):
    telegram.inject("429", retry_after=30)
    notify(Kind.ORDER_WAITING, "order:3", title="Заказ 3")
    before = timezone.now()
    assert send_pending().retrying == 1
    delivery = only_delivery()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.attempts == 0
    assert delivery.next_attempt_at >= before + timedelta(seconds=29)
    assert "429" in delivery.error
    assert "30" in delivery.error
    assert send_pending().sent == 0  # not yet


def test_a_chat_that_does_not_exist_fails_at_once_with_the_reason_in_words(telegram):
    telegram.chats = {"999"}  # the emulator knows no chat TELEGRAM_CHAT
    notify(Kind.ORDER_WAITING, "order:4", title="Заказ 4")
    report = send_pending()
    assert report.failed == 1
    delivery = only_delivery()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == 1
    assert delivery.error.startswith(f"Telegram не знает чат {TELEGRAM_CHAT}")


def test_a_failure_that_may_pass_is_retried_with_backoff_then_marked_failed(telegram, settings):
    settings.ALERT_MAX_ATTEMPTS = 2
    telegram.inject("500", count=5)
    notify(Kind.ORDER_WAITING, "order:5", title="Заказ 5")
    before = timezone.now()
    assert send_pending().retrying == 1
    delivery = only_delivery()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.attempts == 1
    assert delivery.next_attempt_at >= before + timedelta(seconds=29)  # backoff: 30 s first
    Delivery.objects.update(next_attempt_at=timezone.now())  # the backoff has passed
    assert send_pending().failed == 1
    delivery = only_delivery()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == 2
    assert delivery.error.startswith("Не доставлено за 2 попытки. Последняя ошибка: Telegram ответил 500")
    Delivery.objects.update(next_attempt_at=timezone.now())
    assert send_pending().sent == 0
    assert telegram.messages == []  # failed rows stay failed...
    assert resend(Delivery.objects.all()) == 1  # ...until staff send them again
    telegram.clear()
    assert send_pending().sent == 1
    assert len(telegram.messages) == 1


def test_a_bad_bot_token_is_reported_in_words_without_the_token(telegram, settings, caplog):
    bad = "777000:ThisTokenIsWrong-and-secret"
    settings.TELEGRAM_BOT_TOKEN = bad
    notify(Kind.ORDER_WAITING, "order:6", title="Заказ 6")
    with caplog.at_level(logging.DEBUG):
        report = send_pending()
    assert report.retrying == 1  # a token can be fixed: it is tried again, a bounded number of times
    delivery = only_delivery()
    assert delivery.error.startswith("Telegram не принял токен бота (401 Unauthorized): проверьте TELEGRAM_BOT_TOKEN")
    texts = [delivery.error, *report.errors, caplog.text]
    assert not any(bad in text or "ThisTokenIsWrong" in text for text in texts)


def test_an_unreachable_telegram_is_retried_and_the_token_in_the_url_is_masked(telegram, settings, caplog):
    telegram.server.stop()  # nothing listens any more
    notify(Kind.ORDER_WAITING, "order:8", title="Заказ 8")
    with caplog.at_level(logging.DEBUG):
        report = send_pending()
    assert report.retrying == 1
    delivery = only_delivery()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.error.startswith("Telegram недоступен")
    assert TELEGRAM_TOKEN not in delivery.error
    assert TELEGRAM_TOKEN not in caplog.text
    assert "/bot***/sendMessage" in delivery.error  # the URL is there, its token is not


def test_a_lost_answer_is_never_sent_twice(telegram):
    telegram.inject("lost")  # Telegram delivers it, then the connection drops without an answer
    notify(Kind.ORDER_WAITING, "order:9", title="Заказ 9")
    assert send_pending().uncertain == 1
    delivery = only_delivery()
    assert delivery.status == DeliveryStatus.UNCERTAIN
    assert "не отправляется повторно" in delivery.error
    Delivery.objects.update(next_attempt_at=timezone.now())
    assert send_pending().sent == 0
    assert len(telegram.messages) == 1


def test_a_sender_that_died_between_send_and_mark_leaves_the_row_uncertain_not_resent(telegram):
    notify(Kind.ORDER_WAITING, "order:10", title="Заказ 10")
    delivery, _token = claim_next()  # claimed (and, say, sent) by a worker that then died
    Delivery.objects.filter(pk=delivery.pk).update(claimed_at=timezone.now() - timedelta(minutes=11))
    assert send_pending().sent == 0
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.UNCERTAIN
    assert "процесс" in delivery.error
    assert telegram.messages == []


def test_a_claimed_row_cannot_be_claimed_again(telegram):
    notify(Kind.ORDER_WAITING, "order:11", title="Заказ 11")
    first = claim_next()
    assert first is not None
    assert claim_next() is None


@pytest.mark.django_db(transaction=True)
def test_two_senders_at_once_send_each_message_exactly_once(telegram):
    for n in range(30):
        notify(Kind.ORDER_WAITING, f"order:{n}", title=f"Заказ {n}")
    reports, errors = [], []

    def sender():
        try:
            reports.append(send_pending())
        except Exception as exc:  # pragma: no cover - shown by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sender) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sum(r.sent for r in reports) == 30
    titles = [m["plain"] for m in telegram.messages]
    assert sorted(titles) == sorted(f"Заказ {n}" for n in range(30))  # each once, none twice
    assert Delivery.objects.filter(status=DeliveryStatus.SENT).count() == 30


def test_email_goes_through_a_real_smtp_server(smtp_server, settings):
    settings.ALERT_EMAILS = ["owner@example.kz"]
    settings.TELEGRAM_BOT_TOKEN = ""
    notify(
        Kind.DAILY_SUMMARY,
        "summary:2026-01-01",
        title="Сводка за 1 января",
        lines=["Заказов: 3", "Выручка: 45 000 ₸", 'Товар <"Ёж"> & Co 🦔'],
        link="/admin/",
    )
    assert send_pending().sent == 1
    [message] = smtp_server.messages
    assert message["To"] == "owner@example.kz"
    assert message["Subject"].strip() == "kaspisync: Сводка за 1 января"  # (an encoded header, unfolded)
    body = message.get_content()
    assert "Выручка: 45 000 ₸" in body
    assert 'Товар <"Ёж"> & Co 🦔' in body
    assert "http://127.0.0.1:8000/admin/" in body
    assert only_delivery().status == DeliveryStatus.SENT


def test_an_address_the_mail_server_refuses_fails_with_the_reason(smtp_server, settings):
    settings.ALERT_EMAILS = ["nobody@example.kz"]
    settings.TELEGRAM_BOT_TOKEN = ""
    smtp_server.refuse.add("nobody@example.kz")
    notify(Kind.JOB_FAILED, "job:1", title="Импорт не удался")
    assert send_pending().failed == 1
    delivery = only_delivery()
    assert delivery.channel == Channel.EMAIL
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.error.startswith("Сервер почты отклонил адрес nobody@example.kz (550")


def test_an_unreachable_mail_server_is_retried(smtp_server, settings):
    settings.ALERT_EMAILS = ["owner@example.kz"]
    settings.TELEGRAM_BOT_TOKEN = ""
    settings.EMAIL_PORT = 1  # nothing listens there
    notify(Kind.JOB_FAILED, "job:2", title="Импорт не удался")
    assert send_pending().retrying == 1
    delivery = only_delivery()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.error.startswith("Сервер почты недоступен")


def test_send_alerts_command_sends_in_the_foreground_and_fails_loudly(telegram, capsys):
    notify(Kind.ORDER_WAITING, "order:20", title="Заказ 20")
    call_command("send_alerts", "--wait", "0")
    assert "отправлено: 1" in capsys.readouterr().out
    assert len(telegram.messages) == 1
    telegram.chats = set()
    notify(Kind.ORDER_WAITING, "order:21", title="Заказ 21")
    with pytest.raises(CommandError, match="не удалось: 1"):
        call_command("send_alerts", "--wait", "0")
    assert f"Telegram не знает чат {TELEGRAM_CHAT}" in capsys.readouterr().err


@pytest.mark.worker
def test_a_committed_alert_is_sent_by_the_worker_at_once(telegram, start_worker, wait_until):
    start_worker(
        env={
            "TELEGRAM_API_URL": telegram.server.url,
            "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
            "TELEGRAM_CHAT_IDS": TELEGRAM_CHAT,
        },
        concurrency=1,
    )
    notify(Kind.ORDER_WAITING, "order:30", title="Заказ 30 ждёт принятия")  # autocommit: queued at once
    wait_until(lambda: telegram.texts(), timeout=60, message="the worker to send the alert")
    assert telegram.texts() == ["Заказ 30 ждёт принятия"]
    wait_until(lambda: only_delivery().status == DeliveryStatus.SENT, timeout=10, message="the row marked sent")


@pytest.fixture
def alert_checks_only(monkeypatch):
    """check_connections runs only the alerts' checks (the others need outside services)."""
    from kaspisync import registry

    everything = registry.connection_checks
    monkeypatch.setattr(
        registry, "connection_checks", lambda: [c for c in everything() if c.name in ("telegram", "mail")]
    )


def test_check_connections_says_in_words_whether_telegram_takes_the_token(
    telegram, settings, capsys, alert_checks_only
):
    call_command("check_connections", "--skip-external")  # outside services are left out
    assert "telegram" not in capsys.readouterr().out
    call_command("check_connections")
    out = capsys.readouterr().out
    assert "ok   telegram" in out
    assert "@kaspisync_sandbox_bot" in out
    settings.TELEGRAM_BOT_TOKEN = "777000:ThisTokenIsWrong"
    with pytest.raises(SystemExit):
        call_command("check_connections")
    out = capsys.readouterr().out
    assert "FAIL telegram" in out
    assert "TELEGRAM_BOT_TOKEN" in out
    assert "ThisTokenIsWrong" not in out


def test_check_connections_reaches_the_mail_server(smtp_server, settings, capsys, alert_checks_only):
    call_command("check_connections")
    assert f"ok   mail      127.0.0.1:{smtp_server.port} accepts the connection" in capsys.readouterr().out
    settings.EMAIL_PORT = 1
    with pytest.raises(SystemExit):
        call_command("check_connections")
    assert "FAIL mail" in capsys.readouterr().out


def test_chat_ids_go_out_as_the_bot_api_types_them(telegram, settings):
    settings.TELEGRAM_CHAT_IDS = [TELEGRAM_CHAT, "-1001234567890", "@kaspisync_shop"]
    notify(Kind.ORDER_WAITING, "order:77", title="Заказ 77")
    assert send_pending().sent == 3
    sent = {m["chat_id"]: m["chat_id_sent"] for m in telegram.messages}
    assert sent == {
        TELEGRAM_CHAT: int(TELEGRAM_CHAT),  # Integer, as sendMessage documents it
        "-1001234567890": -1001234567890,
        "@kaspisync_shop": "@kaspisync_shop",
    }, sent


def test_a_group_that_became_a_supergroup_gets_the_message_at_its_new_id_and_staff_are_told(telegram, settings):
    telegram.migrated = {"-4001": -1009876543210}
    settings.TELEGRAM_CHAT_IDS = ["-4001"]
    notify(Kind.ORDER_WAITING, "order:78", title="Заказ 78")
    report = send_pending()
    assert report.sent == 1, report
    assert report.failed == 0, report
    assert [m["chat_id"] for m in telegram.messages] == ["-1009876543210"], "delivered once, to the new id"
    delivery = only_delivery()
    assert delivery.status == DeliveryStatus.SENT
    assert "-1009876543210" in delivery.error, delivery.error
    assert "TELEGRAM_CHAT_IDS" in delivery.error, delivery.error
    assert "супергрупп" in delivery.error, "in Russian"


def test_a_refused_bot_token_stops_telegram_for_the_rest_of_the_send_and_the_command_says_so(telegram, settings):
    settings.TELEGRAM_BOT_TOKEN = "777000:AnotherWrongToken"
    for n in range(3):
        notify(Kind.ORDER_WAITING, f"order:{90 + n}", title=f"Заказ {90 + n}")
    requests_before = telegram.stats()["requests"]
    started = time.monotonic()
    with pytest.raises(CommandError) as info:
        call_command("send_alerts", "--wait", "60")
    assert time.monotonic() - started < 10, "no waiting for a token that cannot start working on its own"
    assert telegram.stats()["requests"] - requests_before == 1, "one refusal is enough to know"
    assert "AnotherWrongToken" not in str(info.value)
    statuses = list(Delivery.objects.values_list("status", "attempts"))
    assert sorted(statuses) == [(DeliveryStatus.PENDING, 0), (DeliveryStatus.PENDING, 0), (DeliveryStatus.PENDING, 1)]
