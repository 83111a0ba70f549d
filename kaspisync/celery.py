"""The Celery application: configured from Django settings (CELERY_* names). Every task is declared
on it (`from kaspisync.celery import app`, `@app.task`): whatever imports a task has this app
configured, and nothing else needs to import it first."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kaspisync.settings")

app = Celery("kaspisync")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _setup_schedule(sender, **kwargs):
    from .schedule import beat_schedule

    sender.conf.beat_schedule = {**beat_schedule(), **(sender.conf.beat_schedule or {})}
