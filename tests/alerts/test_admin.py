"""Alerts in the admin: own subscription only, kinds the user may receive, test message, resend."""

import pytest
from django.urls import reverse

from alerts.models import Delivery, DeliveryStatus, Kind, Subscription
from alerts.services import notify, send_pending
from tests.factories import make_staff

pytestmark = pytest.mark.django_db


def test_a_staff_user_subscribes_their_own_chat_to_the_kinds_they_may_see(client, telegram):
    user = make_staff("seller", "orders.view_order")
    client.force_login(user)
    add = reverse("admin:alerts_subscription_add")
    page = client.get(add)
    assert page.status_code == 200
    offered = {value for value, _label in page.context["adminform"].form.fields["telegram_kinds"].choices}
    assert Kind.ORDER_WAITING in offered
    assert Kind.DAILY_SUMMARY in offered
    assert Kind.MARGIN_FLOOR not in offered  # needs catalog.view_product
    answer = client.post(
        add,
        {"telegram_chat_id": "555", "email": "", "telegram_kinds": [Kind.ORDER_WAITING], "is_active": "on"},
    )
    assert answer.status_code == 302, answer.context["adminform"].form.errors if answer.context else answer
    sub = Subscription.objects.get()
    assert sub.user == user
    assert sub.telegram_kinds == [Kind.ORDER_WAITING]
    # and the alert reaches that chat
    notify(Kind.ORDER_WAITING, "order:1", title="Заказ 1 ждёт принятия")
    send_pending()
    assert telegram.texts("555") == ["Заказ 1 ждёт принятия"]


def test_a_bad_chat_id_is_refused_in_words(client):
    client.force_login(make_staff("seller", "orders.view_order"))
    answer = client.post(reverse("admin:alerts_subscription_add"), {"telegram_chat_id": "my chat", "is_active": "on"})
    assert answer.status_code == 200
    assert "Id чата Telegram — это число" in str(answer.context["adminform"].form.errors)


def test_staff_see_only_their_own_subscription(client):
    mine, other = make_staff("me"), make_staff("other")
    Subscription.objects.create(user=mine, telegram_chat_id="1")
    theirs = Subscription.objects.create(user=other, telegram_chat_id="2")
    client.force_login(mine)
    listing = client.get(reverse("admin:alerts_subscription_changelist"))
    assert [s.user for s in listing.context["cl"].result_list] == [mine]
    assert client.get(reverse("admin:alerts_subscription_change", args=[theirs.pk])).status_code in (302, 403)
    # one subscription per user: no second "add"
    assert client.get(reverse("admin:alerts_subscription_add")).status_code == 403


def test_send_a_test_message_to_my_chat(client, telegram):
    user = make_staff("me")
    sub = Subscription.objects.create(user=user, telegram_chat_id="777")
    client.force_login(user)
    answer = client.post(
        reverse("admin:alerts_subscription_changelist"),
        {"action": "send_test", "_selected_action": [sub.pk]},
        follow=True,
    )
    assert "тестовое сообщение поставлено в очередь" in answer.content.decode()
    send_pending()
    assert telegram.texts("777")[0].startswith("Тестовое сообщение от kaspisync")
    assert telegram.texts("1001") == []  # the default recipients are not bothered


def test_failed_deliveries_can_be_sent_again_by_staff_allowed_to(client, telegram):
    telegram.chats = set()
    notify(Kind.JOB_FAILED, "job:1", title="Импорт не удался")
    send_pending()
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    boss = make_staff("boss", superuser=True)
    client.force_login(boss)
    page = client.get(reverse("admin:alerts_delivery_changelist"))
    assert "Telegram не знает чат 1001" in page.content.decode()
    client.post(
        reverse("admin:alerts_delivery_changelist"), {"action": "send_again", "_selected_action": [delivery.pk]}
    )
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.attempts == 0
    telegram.chats = None
    send_pending()
    assert telegram.texts("1001") == ["Импорт не удался"]


def test_alert_pages_render(client, telegram):
    notify(Kind.ORDER_WAITING, "order:5", title="Заказ 5", lines=["строка"])
    client.force_login(make_staff("boss", superuser=True))
    listing = client.get(reverse("admin:alerts_alert_changelist"))
    assert listing.status_code == 200
    assert "заказ ждёт принятия" in listing.content.decode()
    alert_id = listing.context["cl"].result_list[0].pk
    assert client.get(reverse("admin:alerts_alert_change", args=[alert_id])).status_code == 200


def test_the_dashboard_shows_the_channels_and_undelivered_messages(client, telegram):
    telegram.chats = set()
    notify(Kind.JOB_FAILED, "job:1", title="Импорт не удался")
    send_pending()
    client.force_login(make_staff("boss", superuser=True))
    page = client.get(reverse("admin:index")).content.decode()
    assert 'id="alerts-status"' in page
    assert "Каналы: Telegram" in page
    assert "1 сообщение не доставлено (или могло не дойти) на этой неделе." in page


def test_the_dashboard_warns_when_no_channel_is_set_up(client, settings):
    settings.TELEGRAM_BOT_TOKEN = settings.EMAIL_URL = ""
    client.force_login(make_staff("boss", superuser=True))
    assert "Не настроен ни один канал оповещений" in client.get(reverse("admin:index")).content.decode()
