import pytest

from kaspisync.schedule import beat_schedule
from orders.models import PullRun
from orders.tasks import pull_orders_task


def test_beat_pulls_orders_every_five_minutes_by_default(settings):
    entry = beat_schedule()["orders-pull"]
    assert entry["task"] == pull_orders_task.name == "orders.tasks.pull_orders"
    assert entry["schedule"] == settings.ORDERS_PULL_INTERVAL == 300


@pytest.mark.django_db
def test_task_runs_the_pull_service_and_returns_the_run(kaspi):
    kaspi(orders=5)
    run = PullRun.objects.get(pk=pull_orders_task(trigger="schedule"))
    assert run.status == "success"
    assert run.created == 5
    assert run.trigger == "schedule"
