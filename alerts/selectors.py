"""Reads of the outbox for the dashboard and the admin."""

from datetime import timedelta

from django.db.models import BooleanField, Count, ExpressionWrapper, Max, Q, Value
from django.utils import timezone

from .models import Delivery, DeliveryStatus
from .services import email_enabled, telegram_enabled

PROBLEM_WINDOW = timedelta(days=7)


def dashboard_status() -> dict:
    """Channels set up, what waits, what failed (or may not have arrived) in the last week."""
    since = timezone.now() - PROBLEM_WINDOW
    counts = Delivery.objects.aggregate(
        waiting=Count("pk", filter=Q(status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING])),
        failed=Count(
            "pk",
            filter=Q(status__in=[DeliveryStatus.FAILED, DeliveryStatus.UNCERTAIN], alert__created_at__gte=since),
        ),
        last_sent=Max("sent_at"),
    )
    return {"telegram": telegram_enabled(), "email": email_enabled(), **counts}


def receivable_by(user, prefix: str = "") -> Q:
    """The alerts `user` may receive (and so read in the admin): those needing no permission and
    those whose permission the user holds; every alert for superusers. `prefix`: the path to the
    alert ("alert__" from a delivery)."""
    if user.is_superuser:
        return Q()
    return Q(**{f"{prefix}permission": ""}) | Q(**{f"{prefix}permission__in": sorted(user.get_all_permissions())})


def with_address_visibility(deliveries, user):
    """Deliveries with `address_visible`: whether `user` may read the whole address (and the
    error, which may quote it): their own deliveries; every one for superusers."""
    if user.is_superuser:
        return deliveries.annotate(address_visible=Value(True))
    own = ExpressionWrapper(Q(user_id=user.pk), output_field=BooleanField())
    return deliveries.annotate(address_visible=own)
