"""Colleagues' addresses in the outbox: a staff user reads in full only the addresses (and the
errors quoting them) of their own deliveries; a colleague's are masked everywhere the admin shows a
delivery, cannot be found by searching for them, and never reach the admin's history."""

import pytest
from django.urls import reverse
from django.utils import timezone

from alerts.models import Delivery, DeliveryStatus, Kind
from alerts.services import notify
from tests.factories import make_staff

pytestmark = pytest.mark.django_db

PERMS = ("alerts.view_alert", "alerts.view_delivery")
OWN, OTHERS = "anna.k@shop.kz", "bolat.s@shop.kz"
OTHERS_CHAT = "900123456"


@pytest.fixture
def outbox():
    anna, bolat = make_staff("anna", *PERMS), make_staff("bolat", *PERMS)
    alert = notify(Kind.JOB_FAILED, "job:7", title="Импорт не удался")
    now = timezone.now()
    deliveries = [
        Delivery.objects.create(alert=alert, channel="email", address=OWN, user=anna, next_attempt_at=now),
        Delivery.objects.create(
            alert=alert,
            channel="email",
            address=OTHERS,
            user=bolat,
            status=DeliveryStatus.FAILED,
            error=f"(550, '5.1.1 <{OTHERS}>: Recipient address rejected')",
            next_attempt_at=now,
        ),
        Delivery.objects.create(alert=alert, channel="telegram", address=OTHERS_CHAT, user=bolat, next_attempt_at=now),
    ]
    return anna, alert, deliveries


def pages(client, alert, deliveries) -> dict[str, str]:
    urls = {
        "outbox list": reverse("admin:alerts_delivery_changelist"),
        "alert page": reverse("admin:alerts_alert_change", args=[alert.pk]),
        **{f"delivery {d.pk}": reverse("admin:alerts_delivery_change", args=[d.pk]) for d in deliveries},
    }
    answers = {name: client.get(url) for name, url in urls.items()}
    assert {name: a.status_code for name, a in answers.items()} == dict.fromkeys(urls, 200)
    return {name: a.content.decode() for name, a in answers.items()}


def test_a_colleague_address_is_masked_wherever_a_delivery_is_shown(client, outbox):
    anna, alert, deliveries = outbox
    client.force_login(anna)
    shown = pages(client, alert, deliveries)
    for name, page in shown.items():
        assert OTHERS not in page, name
        assert OTHERS_CHAT not in page, name
    assert "b•••@shop.kz" in shown["outbox list"]
    assert "•••3456" in shown["outbox list"]
    assert "&lt;b•••@shop.kz&gt;: Recipient address rejected" in shown["outbox list"]  # the error, masked
    assert OWN in shown["outbox list"]  # her own, in full
    assert OWN in shown["alert page"]
    assert OWN in shown[f"delivery {deliveries[0].pk}"]


def test_a_superuser_reads_every_address(client, outbox):
    _anna, alert, deliveries = outbox
    client.force_login(make_staff("boss", superuser=True))
    shown = pages(client, alert, deliveries)
    for needle in (OWN, OTHERS, OTHERS_CHAT):
        assert needle in shown["outbox list"]
        assert needle in shown["alert page"]


def test_a_colleague_address_cannot_be_found_by_searching_for_it(client, outbox):
    anna, _alert, _deliveries = outbox
    client.force_login(anna)
    url = reverse("admin:alerts_delivery_changelist")
    assert "b•••@shop.kz" not in client.get(url, {"q": "bolat.s@"}).content.decode()
    assert "b•••@shop.kz" in client.get(url, {"q": "bolat"}).content.decode()  # by the colleague's name
    assert "b•••@shop.kz" in client.get(url, {"q": "Импорт"}).content.decode()  # by the alert


def test_a_delivery_is_named_without_its_whole_address(outbox):
    _anna, _alert, deliveries = outbox
    assert str(deliveries[1]) == f"{deliveries[1].get_channel_display()} b•••@shop.kz"
    assert str(deliveries[2]) == f"{deliveries[2].get_channel_display()} •••3456"
