"""Admin site identity (Russian by default), the shared admin building blocks and the plumbing
tables staff may need to see.

- `ReadOnlyAdmin`: rows the portal writes itself (viewable, never edited by hand).
- `RunNowMixin`: "run now" buttons on a run list (queue a job from the admin).
"""

from dataclasses import dataclass, field

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from . import display, locks
from .models import JobLock, RunStatus

admin.site.site_header = _("kaspisync — merchant portal")
admin.site.site_title = _("kaspisync")
admin.site.index_title = _("Dashboard")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by the portal itself (supplier data, run records, history, fetches):
    viewable, never added, edited or deleted by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@dataclass(frozen=True)
class RunNowButton:
    """A "run now" button: a POST to the URL named `url_name`. With `route`, this admin serves
    that URL and calls `run_now(request, **kwargs)`; without, it only shows a button another
    admin serves."""

    label: str
    url_name: str
    route: str | None = None
    kwargs: dict = field(default_factory=dict)


class RunNowMixin:
    """ "Run now" buttons above a changelist (template `admin/kaspisync/run_now_buttons.html`).

    A subclass names its buttons, the permission needed, and queues the job in `run_now` with
    one line calling the app's service (which queues after commit). After the POST, staff are
    sent to `run_now_redirect` (default: this list) with `run_now_queued`, or `run_now_busy`
    when the job's `run_now_lock` is held (the queued run will be recorded as skipped)."""

    run_now_buttons: tuple[RunNowButton, ...] = ()
    run_now_permission: str = ""
    run_now_lock: str = ""
    run_now_redirect: str = ""
    run_now_queued = _("The job was queued; its run appears in this list.")
    run_now_busy = _("This job is running now; the queued run will be recorded as skipped.")

    def run_now(self, request, **kwargs) -> None:
        raise NotImplementedError

    def can_run_now(self, request) -> bool:
        return bool(self.run_now_permission) and request.user.has_perm(self.run_now_permission)

    def get_urls(self):
        own = [
            path(button.route, self.admin_site.admin_view(self.run_now_view), button.kwargs, name=button.url_name)
            for button in self.run_now_buttons
            if button.route is not None
        ]
        return [*own, *super().get_urls()]

    def run_now_view(self, request, **kwargs):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.can_run_now(request):
            raise PermissionDenied
        self.run_now(request, **kwargs)
        if self.run_now_lock and locks.is_locked(self.run_now_lock):
            messages.warning(request, self.run_now_busy)
        else:
            messages.success(request, self.run_now_queued)
        opts = self.model._meta
        return redirect(reverse(self.run_now_redirect or f"admin:{opts.app_label}_{opts.model_name}_changelist"))

    def changelist_view(self, request, extra_context=None):
        buttons = [(reverse(f"admin:{b.url_name}"), b.label) for b in self.run_now_buttons]
        extra_context = {**(extra_context or {}), "run_now_buttons": buttons if self.can_run_now(request) else []}
        return super().changelist_view(request, extra_context)


class RunAdmin(ReadOnlyAdmin):
    """Run records (imports, recomputes, pulls, builds): counters and durations in words; while a
    run is running, its live progress, and the page refreshes itself every few seconds."""

    auto_refresh_seconds = 3

    @admin.display(description=_("progress"))
    def progress_text(self, run):
        if run.status != RunStatus.RUNNING:
            return "—"
        return display.progress((run.stats or {}).get("progress"))

    def changelist_view(self, request, extra_context=None):
        if self.model.objects.filter(status=RunStatus.RUNNING).exists():
            extra_context = {**(extra_context or {}), "auto_refresh": self.auto_refresh_seconds}
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if self.model.objects.filter(pk=object_id, status=RunStatus.RUNNING).exists():
            extra_context = {**(extra_context or {}), "auto_refresh": self.auto_refresh_seconds}
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description=_("duration"))
    def duration_text(self, run):
        return display.duration(run.duration)

    @admin.display(description=_("statistics"))
    def stats_text(self, run):
        return display.facts(run.stats)


@admin.register(JobLock)
class JobLockAdmin(admin.ModelAdmin):
    """Locks held by running jobs. Read-only; deleting one frees a job stuck behind a lock whose
    holder is known to be gone (a dead holder's lock is also taken over on its own within a
    minute: kaspisync.locks)."""

    list_display = ("name", "owner", "acquired_at", "alive_at", "expires_at")
    ordering = ("name",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
