"""Admin site identity (Russian by default) and the plumbing tables staff may need to see."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import JobLock

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


@admin.register(JobLock)
class JobLockAdmin(admin.ModelAdmin):
    """Locks held by running jobs. Read-only; deleting one frees a job stuck behind a lock whose
    holder is known to be gone (locks also expire on their own)."""

    list_display = ("name", "owner", "acquired_at", "expires_at")
    ordering = ("name",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
