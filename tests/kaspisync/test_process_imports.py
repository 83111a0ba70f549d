"""What a process carries: one that sets Django up to run a job (a management command, the import)
loads no library only another kind of work needs, and every task reaches the configured Celery app
without anyone importing it first.

Each check runs in a fresh interpreter: this test session has long imported everything."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Loaded on first use only: Celery and kombu when a task is queued, openpyxl when a spreadsheet is
# exported, lxml when a price list is built, jsonschema_rs when a card is checked (each 1-6 MB).
ON_FIRST_USE_ONLY = ("celery", "kombu", "billiard", "openpyxl", "lxml", "jsonschema_rs")
TASK_MODULES = ("catalog.tasks", "orders.tasks", "feeds.tasks", "cards.tasks", "alerts.tasks", "kaspisync.tasks")


def run_fresh(code: str) -> dict:
    """Run `code` after django.setup() in a new interpreter; it prints one JSON object."""
    script = "import json, sys, django\ndjango.setup()\n" + code
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "kaspisync.settings", "LOG_LEVEL": "WARNING"}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_process_set_up_to_import_the_catalog_loads_nothing_it_does_not_use():
    loaded = run_fresh(
        "import catalog.services.importing\nprint(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    assert "catalog" in loaded
    assert "requests" in loaded  # the import's own modules are there
    assert [name for name in ON_FIRST_USE_ONLY if name in loaded] == []


@pytest.mark.parametrize("module", TASK_MODULES)
def test_every_task_is_declared_on_the_configured_app_without_importing_it_first(module):
    """A task queued from a process that imported nothing but its module (a management command)
    goes to the configured broker, not to Celery's default app (amqp://localhost)."""
    found = run_fresh(
        "import importlib\nfrom celery import Task\nfrom django.conf import settings\n"
        f"tasks = [t for t in vars(importlib.import_module({module!r})).values() if isinstance(t, Task)]\n"
        "print(json.dumps({'count': len(tasks), 'apps': sorted({t.app.main for t in tasks}),\n"
        "    'brokers': sorted({t.app.conf.broker_url for t in tasks}), 'expected': settings.CELERY_BROKER_URL}))"
    )
    assert found["count"] >= 1
    assert found["apps"] == ["kaspisync"]
    assert found["brokers"] == [found["expected"]]
