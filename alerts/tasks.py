"""Celery tasks: thin doors into the services."""

from kaspisync.celery import app

from .checks import run_checks
from .services import send_pending


@app.task(name="alerts.tasks.send_alerts", ignore_result=True, expires=300)
def send_alerts_task() -> int:
    """Send what waits in the outbox (rows are claimed one by one: several tasks may run at
    once without sending anything twice); returns how many were sent."""
    return send_pending().sent


@app.task(name="alerts.tasks.run_checks", ignore_result=True, expires=120)
def run_checks_task() -> int:
    """Alerts about failed and late jobs; returns how many were created."""
    return run_checks()
