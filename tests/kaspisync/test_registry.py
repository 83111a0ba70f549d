"""Apps register their pieces (kaspisync.registry); the plumbing names no app and runs what is
registered."""

import ast
from pathlib import Path

import pytest

from kaspisync import registry
from kaspisync.launcher import _seed_demo_data

ROOT = Path(__file__).resolve().parents[2]
APPS = {"catalog", "feeds", "orders", "cards", "alerts"}
# Where the apps are wired together (design.md): settings, URLs, the Celery schedule.
WIRING = {"settings.py", "urls.py", "schedule.py"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", "") == "get_model"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            names.add(str(node.args[0].value))
    return names


def test_the_plumbing_imports_no_app():
    offenders = {}
    for path in (ROOT / "kaspisync").rglob("*.py"):
        relative = path.relative_to(ROOT / "kaspisync")
        if relative.parts[0] in ("sandbox", "migrations") or str(relative) in WIRING:
            continue
        apps = {name for name in imported_modules(path) if name.split(".")[0] in APPS}
        if apps:
            offenders[str(relative)] = sorted(apps)
    assert offenders == {}


def test_catalog_imports_none_of_the_apps_that_read_it():
    offenders = {}
    for path in (ROOT / "catalog").rglob("*.py"):
        if "migrations" in path.parts:
            continue
        apps = {name for name in imported_modules(path) if name.split(".")[0] in {"feeds", "orders", "cards"}}
        if apps:
            offenders[str(path.relative_to(ROOT))] = sorted(apps)
    assert offenders == {}


def test_each_app_registers_its_pieces():
    assert [c.name for c in registry.connection_checks()] == [
        "database",
        "broker",
        "al-style",
        "feed",
        "kaspi",
        "telegram",
        "mail",
        "kaspi content api",
    ]
    assert {c.name for c in registry.connection_checks() if c.external} == {
        "al-style",
        "kaspi",
        "telegram",
        "mail",
        "kaspi content api",
    }
    assert [j.description for j in registry.first_jobs()] == [
        "first full catalog import",
        "first order pull",
        "first read of Kaspi's categories",
    ]
    assert [p.template for p in registry.dashboard_panels()] == [
        "admin/catalog/dashboard_panel.html",
        "admin/feeds/dashboard_panel.html",
        "admin/orders/dashboard_panel.html",
        "admin/orders/purchase_panel.html",
        "admin/orders/quality/panel.html",
        "admin/alerts/dashboard_panel.html",
    ]
    jobs = {job.name: job for job in registry.jobs()}
    assert {"catalog.import.full", "catalog.import.quick", "feeds.build", "orders.pull"} <= set(jobs)
    # What /healthz pages on: a pull not successful for 3 intervals, a full import for 2.
    assert jobs["orders.pull"].page_after == 3
    assert jobs["catalog.import.full"].page_after == 2
    assert jobs["catalog.import.quick"].page_after is None
    assert jobs["feeds.build"].page_after is None


def test_job_intervals_follow_the_settings(settings):
    from datetime import timedelta

    settings.ORDERS_PULL_INTERVAL = 120
    pull = registry.get_job("orders.pull")
    assert pull.interval == timedelta(minutes=2)
    assert pull.page_threshold == timedelta(minutes=6)


@pytest.mark.django_db
def test_demo_data_is_seeded_only_for_the_sandboxes_that_run():
    from catalog.models import PriceRule

    assert _seed_demo_data({"kaspi"}) == []
    assert not PriceRule.objects.exists()
    assert _seed_demo_data({"alstyle", "kaspi"}) == ["demo pricing rule (15 %, ends in 90)"]
    assert PriceRule.objects.get().scope == "global"
    assert _seed_demo_data({"alstyle"}) == []  # a rule exists: nothing to do


@pytest.mark.django_db
def test_a_broken_panel_is_left_out_and_the_dashboard_still_answers(admin_client, monkeypatch):
    monkeypatch.setitem(registry._dashboard_panels, "missing.html", registry.DashboardPanel("missing.html"))
    response = admin_client.get("/admin/")
    assert response.status_code == 200
    assert b'id="catalog-status"' in response.content
