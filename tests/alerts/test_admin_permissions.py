"""The outbox in the admin shows each staff user only the alerts their permissions let them
receive (an alert names the permission it needs): the alerts that would never be sent to them
are not readable in the admin either; the permission is named in words."""

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from alerts.models import Alert, Delivery, Kind
from alerts.services import notify
from tests.factories import make_staff as staff

pytestmark = pytest.mark.django_db

ORDER_TITLE = "Заказ 812345 ждёт принятия — 89 990 ₸"
JOB_TITLE = "Фоновая задача упала"


@pytest.fixture
def alerts():
    made = (
        notify(Kind.ORDER_WAITING, "order:1", title=ORDER_TITLE, lines=["Колонки × 1"]),
        notify(Kind.JOB_FAILED, "job:1", title=JOB_TITLE),
    )
    for alert in made:
        Delivery.objects.create(alert=alert, channel="email", address="boss@example.kz", next_attempt_at=timezone.now())
    return made


@pytest.mark.parametrize("model", ["alert", "delivery"])
def test_the_outbox_lists_only_the_alerts_the_user_may_receive(client, alerts, model):
    url = reverse(f"admin:alerts_{model}_changelist")
    client.force_login(staff("catalogue", "alerts.view_alert", "alerts.view_delivery", "catalog.view_product"))
    page = client.get(url).content.decode()
    assert JOB_TITLE in page
    assert "812345" not in page
    client.force_login(staff("seller", "alerts.view_alert", "alerts.view_delivery", "orders.view_order"))
    page = client.get(url).content.decode()
    assert JOB_TITLE in page
    assert "812345" in page


def test_an_alert_the_user_may_not_receive_does_not_open(client, alerts):
    order_alert, job_alert = alerts
    client.force_login(staff("catalogue", "alerts.view_alert", "alerts.view_delivery"))
    for model, obj in (("alert", order_alert), ("delivery", Delivery.objects.filter(alert=order_alert).first())):
        response = client.get(reverse(f"admin:alerts_{model}_change", args=[obj.pk]), follow=True)
        assert "812345" not in response.content.decode()
    assert client.get(reverse("admin:alerts_alert_change", args=[job_alert.pk])).status_code == 200


def test_the_permission_an_alert_needs_is_named_in_words(admin_client, alerts):
    order_alert = alerts[0]
    assert Alert.objects.get(pk=order_alert.pk).permission == "orders.view_order"
    with translation.override("ru"):
        page = admin_client.get(reverse("admin:alerts_alert_change", args=[order_alert.pk])).content.decode()
    assert "orders.view_order" not in page
    assert "Заказы Kaspi | заказ | может просматривать" in page


def test_an_alert_for_every_staff_user_says_so_in_words(admin_client, alerts):
    with translation.override("ru"):
        page = admin_client.get(reverse("admin:alerts_alert_change", args=[alerts[1].pk])).content.decode()
    assert "не нужно (любой сотрудник)" in page
