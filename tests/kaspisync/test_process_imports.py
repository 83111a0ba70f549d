"""What a process carries: one that sets Django up to run a job (a management command, the import)
loads no library only another kind of work needs, nor any app's admin, API client or services
(kaspisync.admin_site: the admin is found when the URLconf, a check or a test first asks for it),
and every task reaches the configured Celery app without anyone importing it first.

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
# What django.setup() used to load through the admin's discovery and the apps' ready(): 4 MB.
NOT_AT_SET_UP = (
    "requests",  # the API clients' (the import loads it with catalog.services.importing)
    "catalog.services.importing",
    "catalog.alstyle",
    "orders.kaspi",
    "orders.services.pull",
    "feeds.services",
    "feeds.writer",
    "cards.kaspi_content",
    "cards.services.readiness",
    "django.contrib.admin.views.main",
)
APP_ADMINS = ("kaspisync.admin", "catalog.admin", "feeds.admin", "orders.admin", "alerts.admin", "cards.admin")
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


def test_setting_django_up_loads_no_admin_client_or_service():
    loaded = run_fresh("print(json.dumps(sorted(sys.modules)))")
    assert [name for name in NOT_AT_SET_UP + APP_ADMINS if name in loaded] == []
    assert [name for name in ON_FIRST_USE_ONLY if name in loaded] == []


@pytest.mark.parametrize(
    "first_use",
    [
        "from django.urls import resolve\nresolve('/admin/')",  # the URLconf: a web process's first request
        "from django.core import checks\nassert checks.run_checks(tags=['admin']) == []",  # manage.py check
        "from django.contrib import admin\nlen(admin.site._registry)",  # a test, a benchmark
    ],
)
def test_the_admin_is_complete_wherever_it_is_first_used(first_use):
    """Every app's ModelAdmins, the cards columns on the product list included (cards/admin.py),
    whatever asks first."""
    found = run_fresh(
        first_use + "\nfrom django.contrib import admin\nfrom catalog.models import Product\n"
        "product = admin.site._registry[Product]\n"
        "print(json.dumps({'models': sorted(m._meta.label for m in admin.site._registry),\n"
        "    'modules': sorted(m for m in sys.modules if m.endswith('.admin')),\n"
        "    'inlines': [i.__name__ for i in product.inlines], 'columns': [getattr(c, '__name__', c) for c in product.list_display]}))"
    )
    assert set(APP_ADMINS) <= set(found["modules"])
    assert {"catalog.Product", "orders.Order", "feeds.FeedVersion", "cards.CategoryMapping", "alerts.Alert"} <= set(
        found["models"]
    )
    assert {"auth.User", "axes.AccessAttempt"} <= set(found["models"])
    assert "ProductCardInline" in found["inlines"]
    assert "card_status" in found["columns"]


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


def test_queuing_what_follows_a_catalog_change_loads_no_code_that_does_it():
    """An import or a recompute that changed the catalog queues the price list rebuild
    (feeds.rebuild, feeds.tasks) and the card readiness refresh (cards.refresh, cards.tasks)
    without loading the writer, the storage, the notices, lxml or the card building."""
    loaded = run_fresh(
        "import feeds.rebuild, feeds.tasks, cards.refresh, cards.tasks\nprint(json.dumps(sorted(sys.modules)))",
    )
    assert "feeds.rebuild" in loaded
    assert [name for name in ("cards.services.readiness", "cards.card", "feeds.selectors") if name in loaded] == []
    assert [
        name for name in ("feeds.services", "feeds.writer", "feeds.storage", "feeds.notices", "lxml") if name in loaded
    ] == []
