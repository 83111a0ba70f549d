"""Celery tasks: thin doors into the services."""

from kaspisync.celery import app
from kaspisync.models import RunTrigger

from .services import pull_orders
from .services.autoaccept import auto_accept_waiting
from .services.notices import daily_summary, remind_waiting
from .services.quality import check_cancellation_share


@app.task(name="orders.tasks.pull_orders", ignore_result=True)
def pull_orders_task(days: int | None = None, trigger: str = RunTrigger.SCHEDULE, triggered_by: str = "") -> int:
    """Pull orders from Kaspi, then let auto-accept (when it is on) decide the orders that wait;
    returns the PullRun id (the run row is the result)."""
    run = pull_orders(days=days, trigger=trigger, triggered_by=triggered_by)
    auto_accept_waiting()
    return run.pk


@app.task(name="orders.tasks.check_quality", ignore_result=True)
def check_quality_task() -> str:
    """Alert when the 30-day share of cancelled orders crosses 3 % or 4 % (once per crossing)."""
    return check_cancellation_share().level


@app.task(name="orders.tasks.remind_waiting_orders", ignore_result=True, expires=120)
def remind_waiting_orders_task() -> int:
    """Remind staff of orders still waiting for acceptance; returns how many were reminded."""
    return remind_waiting()


@app.task(name="orders.tasks.daily_summary", ignore_result=True)
def daily_summary_task() -> bool:
    """Yesterday's orders and what waits now, as an alert (once per day)."""
    return daily_summary() is not None
