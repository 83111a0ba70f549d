"""The outbox: an alert is written in its cause's transaction, once, for the right recipients."""

import pytest
from django.db import transaction

from alerts.models import Alert, Channel, Delivery, DeliveryStatus, Kind, Subscription
from alerts.services import notify, recipients
from orders.models import Order
from tests.conftest import TELEGRAM_CHAT
from tests.factories import make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def channels(settings):
    settings.TELEGRAM_BOT_TOKEN = "1:t"
    settings.TELEGRAM_CHAT_IDS = [TELEGRAM_CHAT]
    settings.EMAIL_URL = "smtp://127.0.0.1:25"
    settings.ALERT_EMAILS = ["owner@example.kz"]


def test_an_alert_and_its_deliveries_are_written_with_the_event(channels):
    with transaction.atomic():
        alert = notify(Kind.ORDER_WAITING, "order:1", title="Заказ 1 ждёт", lines=["Сумма: 1 000 ₸"])
    assert alert is not None
    rows = set(Delivery.objects.values_list("channel", "address", "status"))
    assert rows == {
        (Channel.TELEGRAM, TELEGRAM_CHAT, DeliveryStatus.PENDING),
        (Channel.EMAIL, "owner@example.kz", DeliveryStatus.PENDING),
    }


def test_the_alert_is_rolled_back_with_its_event(channels):
    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        Order.objects.create(
            kaspi_id="K1",
            code="100",
            state="NEW",
            status="APPROVED_BY_BANK",
            total_price=1,
            created_at="2026-01-01T10:00+05:00",
        )
        notify(Kind.ORDER_WAITING, "order:100", title="Заказ 100 ждёт")
        raise Boom
    assert not Order.objects.exists()
    assert not Alert.objects.exists()
    assert not Delivery.objects.exists()


def test_the_same_key_never_makes_a_second_alert_and_leaves_the_callers_transaction_usable(channels):
    with transaction.atomic():
        assert notify(Kind.ORDER_WAITING, "order:7", title="first") is not None
        assert notify(Kind.ORDER_WAITING, "order:7", title="second") is None
        # the duplicate was refused inside a savepoint: the caller's transaction goes on (PostgreSQL)
        Order.objects.create(
            kaspi_id="K7",
            code="7",
            state="NEW",
            status="APPROVED_BY_BANK",
            total_price=1,
            created_at="2026-01-01T10:00+05:00",
        )
    assert list(Alert.objects.values_list("title", flat=True)) == ["first"]
    assert Delivery.objects.count() == 2
    assert Order.objects.count() == 1
    # another kind may use the same key
    assert notify(Kind.ORDER_REMINDER, "order:7", title="reminder") is not None


def test_one_sending_task_is_queued_per_transaction(channels, django_capture_on_commit_callbacks, monkeypatch):
    queued = []
    monkeypatch.setattr("alerts.tasks.send_alerts_task.apply_async", lambda *args, **options: queued.append(1))
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        for n in range(3):
            notify(Kind.ORDER_WAITING, f"order:{n}", title=f"Заказ {n}")
    assert len(callbacks) == 1
    assert queued == [1]


def test_unknown_kinds_are_refused():
    with pytest.raises(ValueError, match="unknown alert kind"):
        notify("no_such_kind", "x", title="x")


def test_subscribers_get_the_kinds_they_chose_and_their_permissions_allow(channels):
    seller = make_staff("seller", "orders.view_order")
    nosy = make_staff("nosy")  # subscribed to orders without the permission to see them
    boss = make_staff("boss", superuser=True)
    Subscription.objects.create(
        user=seller,
        telegram_chat_id="555",
        email="Seller@Example.kz",
        telegram_kinds=[Kind.ORDER_WAITING],
        email_kinds=[],
    )
    Subscription.objects.create(user=nosy, telegram_chat_id="666", telegram_kinds=[Kind.ORDER_WAITING])
    Subscription.objects.create(
        user=boss,
        telegram_chat_id=TELEGRAM_CHAT,
        email="boss@example.kz",
        email_kinds=[Kind.ORDER_WAITING, Kind.DAILY_SUMMARY],
    )
    got = {(c, a): u for c, a, u in recipients(Kind.ORDER_WAITING, "orders.view_order")}
    assert got == {
        (Channel.TELEGRAM, TELEGRAM_CHAT): None,  # a default recipient, once (the boss's chat too)
        (Channel.EMAIL, "owner@example.kz"): None,
        (Channel.TELEGRAM, "555"): seller.pk,
        (Channel.EMAIL, "boss@example.kz"): boss.pk,
    }
    # a narrower permission for one alert leaves the seller out
    assert (Channel.TELEGRAM, "555") not in {
        (c, a) for c, a, _u in recipients(Kind.ORDER_WAITING, "catalog.change_product")
    }
    # inactive subscriptions and users get nothing
    Subscription.objects.filter(user=seller).update(is_active=False)
    boss.is_active = False
    boss.save()
    assert {a for _c, a, _u in recipients(Kind.ORDER_WAITING, "orders.view_order")} == {
        TELEGRAM_CHAT,
        "owner@example.kz",
    }


def test_channels_that_are_not_set_up_get_no_deliveries(settings):
    settings.TELEGRAM_BOT_TOKEN = ""
    settings.TELEGRAM_CHAT_IDS = ["1"]
    settings.EMAIL_URL = ""
    settings.ALERT_EMAILS = ["owner@example.kz"]
    alert = notify(Kind.JOB_FAILED, "job:1", title="x")
    assert alert is not None
    assert not alert.deliveries.exists()


def test_alerts_import_no_other_app():
    """Other apps call alerts; alerts import only Django and the kaspisync plumbing."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "alerts"
    apps = {"catalog", "feeds", "orders", "cards"}
    offenders = {}
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text())
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module and n.level == 0}
        if bad := {name for name in names if name.split(".")[0] in apps}:
            offenders[str(path.relative_to(root))] = sorted(bad)
    assert offenders == {}
