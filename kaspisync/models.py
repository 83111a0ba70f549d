"""Shared plumbing tables: job locks, rate-limit slots, and the abstract run record."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from . import display


class JobLock(models.Model):
    """A named lock owned by its holder (kaspisync.locks). Works on SQLite and PostgreSQL alike.
    Dead when not kept alive for JOB_LOCK_LEASE (`alive_at`), or without progress until
    `expires_at` (JOB_LOCK_TTL after the last refresh)."""

    name = models.CharField(pgettext_lazy("object name", "name"), max_length=100, primary_key=True)
    owner = models.CharField(_("owner"), max_length=100)
    acquired_at = models.DateTimeField(_("acquired at"))
    expires_at = models.DateTimeField(_("expires at"))
    alive_at = models.DateTimeField(_("holder last seen"), null=True, blank=True)
    # The run row this lock covers ("app_label.model", pk): a RUNNING row no live lock covers
    # belongs to a worker that died.
    run_model = models.CharField(_("run table"), max_length=100, blank=True)
    run_id = models.BigIntegerField(_("run"), null=True, blank=True)

    class Meta:
        verbose_name = _("job lock")
        verbose_name_plural = _("job locks")

    def __str__(self):
        return self.name


class RateSlot(models.Model):
    """Next moment a request may be sent for one key (a hashed API token), across processes."""

    key = models.CharField(max_length=64, primary_key=True)
    next_at = models.DateTimeField()

    class Meta:
        verbose_name = _("rate slot")
        verbose_name_plural = _("rate slots")

    def __str__(self):
        return str(self._meta.verbose_name)


class RunStatus(models.TextChoices):
    RUNNING = "running", _("running")
    SUCCESS = "success", _("success")
    FAILED = "failed", _("failed")
    SKIPPED = "skipped", pgettext_lazy("run status", "skipped")


class RunTrigger(models.TextChoices):
    SCHEDULE = "schedule", _("schedule")
    ADMIN = "admin", _("admin")
    COMMAND = "command", _("command")
    CHAIN = "chain", _("after another job")


class JobRun(models.Model):
    """Abstract run record: every job run leaves a row (what, when, how long, what changed, why
    it failed). Concrete runs (ImportRun, PullRun, ...) add their own counters."""

    status = models.CharField(
        _("status"), max_length=16, choices=RunStatus.choices, default=RunStatus.RUNNING, db_index=True
    )
    trigger = models.CharField(_("trigger"), max_length=16, choices=RunTrigger.choices, default=RunTrigger.SCHEDULE)
    triggered_by = models.CharField(_("triggered by"), max_length=150, blank=True)
    started_at = models.DateTimeField(_("started at"), db_index=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    requests_made = models.PositiveIntegerField(_("requests made"), default=0)
    stats = models.JSONField(_("statistics"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        abstract = True
        ordering = ["-started_at"]

    def __str__(self):
        """ "пересчёт цен 1 декабря 2026 г. 8:10" (not "PricingRun object (1)")."""
        return f"{self._meta.verbose_name} {display.when(self.started_at)}"

    @property
    def duration(self):
        if self.finished_at is None:
            return None
        return self.finished_at - self.started_at


class WorkerHeartbeat(models.Model):
    """One row: when a Celery worker last ran the `kaspisync.tasks.heartbeat` task that beat
    queues every minute. A recent time proves that beat, the broker and a worker all work."""

    SINGLETON_ID = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_ID, editable=False)
    last_seen = models.DateTimeField(_("last seen"))
    hostname = models.CharField(_("host"), max_length=255, blank=True)
    pid = models.PositiveIntegerField(_("process id"), null=True, blank=True)

    class Meta:
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")

    def __str__(self):
        return f"{self.hostname}:{self.pid} @ {self.last_seen:%Y-%m-%d %H:%M:%S}"


class DeferredTask(models.Model):
    """A task to queue later (kaspisync.runs.defer_task), written in the transaction of the change
    that asks for it: what follows a catalog change (the price list rebuild, the card readiness
    refresh) is queued by beat's `send_deferred_tasks`, so the process that changed the catalog (an
    import run from the command line, a pricing run) needs neither the broker nor Celery, and a
    broker that is down at that moment loses nothing. One waiting row per task: a burst of
    requests queues it once, when the first one is due."""

    task = models.CharField(_("task"), max_length=200, unique=True)
    kwargs = models.JSONField(_("arguments"), default=dict, blank=True)
    due_at = models.DateTimeField(_("due at"))
    requested_at = models.DateTimeField(_("last requested at"))

    class Meta:
        verbose_name = _("deferred task")
        verbose_name_plural = _("deferred tasks")

    def __str__(self):
        return f"{self.task} {display.when(self.due_at)}"
