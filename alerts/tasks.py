"""Celery tasks: thin doors into the services."""

from celery import shared_task

from .services import send_pending


@shared_task(name="alerts.tasks.send_alerts", ignore_result=True, expires=300)
def send_alerts_task() -> int:
    """Send what waits in the outbox (rows are claimed one by one: several tasks may run at
    once without sending anything twice); returns how many were sent."""
    return send_pending().sent
