"""Backfill Order.accepted_at and Order.acceptance_time from the timeline: the first event
APPROVED_BY_BANK -> ACCEPTED_BY_MERCHANT (an acceptance made here, by auto-accept, or seen by a
pull) and the wait since approved by the bank, else since created. What the pull and the actions
store from now on (orders.models.acceptance_values); two UPDATE statements, in the database."""

from django.db import migrations
from django.db.models import Exists, F, OuterRef, Subquery
from django.db.models.functions import Coalesce


def backfill(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    OrderEvent = apps.get_model("orders", "OrderEvent")
    acceptances = OrderEvent.objects.filter(
        order=OuterRef("pk"), from_status="APPROVED_BY_BANK", to_status="ACCEPTED_BY_MERCHANT"
    )
    Order.objects.filter(Exists(acceptances), accepted_at__isnull=True).update(
        accepted_at=Subquery(acceptances.order_by("at").values("at")[:1])
    )
    Order.objects.filter(accepted_at__isnull=False, acceptance_time__isnull=True).update(
        acceptance_time=F("accepted_at") - Coalesce("approved_by_bank_at", "created_at")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0010_order_accepted_at"),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
