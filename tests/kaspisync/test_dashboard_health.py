"""The dashboard says "healthy" at a glance (issue 13 item 11): one coloured line per job."""

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import ImportRun
from kaspisync import dashboard, registry
from kaspisync.charts import bar_chart
from kaspisync.heartbeat import record_heartbeat

pytestmark = pytest.mark.django_db

FULL = "catalog.import.full"


def line_of(name):
    label = str(registry.get_job(name).label)
    return next(line for line in dashboard.health_lines() if line.label == label)


def full_run(status, age, **fields):
    at = timezone.now() - age
    return ImportRun.objects.create(kind="full", status=status, started_at=at, finished_at=at, **fields)


def test_a_job_on_time_is_green_a_failed_run_amber_a_late_job_red(settings):
    settings.IMPORT_FULL_INTERVAL = 3600  # alert after 2 intervals
    assert line_of(FULL).colour == dashboard.AMBER  # never ran
    full_run("success", timedelta(minutes=10))
    assert line_of(FULL).colour == dashboard.GREEN
    full_run("failed", timedelta(minutes=5), error="boom")
    assert line_of(FULL).colour == dashboard.AMBER
    assert "с ошибкой" in line_of(FULL).text
    ImportRun.objects.all().delete()
    full_run("success", timedelta(hours=3))
    assert line_of(FULL).colour == dashboard.RED


def test_a_running_job_shows_its_progress():
    full_run("success", timedelta(minutes=10))
    ImportRun.objects.create(
        kind="full",
        status="running",
        started_at=timezone.now(),
        stats={"progress": {"step": "чтение товаров", "done": 250, "total": 2500}},
    )
    line = line_of(FULL)
    assert line.colour == dashboard.GREEN
    assert "чтение товаров" in line.text
    assert "250 из 2\u00a0500" in line.text


def test_the_worker_line_and_the_overall_colour():
    lines = dashboard.health_lines()
    assert lines[0].colour == dashboard.RED
    assert dashboard.overall(lines) == dashboard.RED
    record_heartbeat()
    assert dashboard.health_lines()[0].colour == dashboard.GREEN


def test_a_bar_chart_is_plain_svg_with_values_in_words():
    svg = bar_chart([("01.12", 5), ("02.12", -3), ("03.12", 0)], label="Маржа", text=lambda v: f"{v} ₸")
    assert svg.startswith("<svg")
    assert 'aria-label="Маржа"' in svg
    assert "<title>01.12: 5 ₸</title>" in svg
    assert "<title>02.12: -3 ₸</title>" in svg
    assert svg.count("<rect") == 3
    assert "#ba2121" in svg  # the loss drawn down, in red
    assert "http" not in svg.replace("http://www.w3.org", "")  # nothing loaded from elsewhere
