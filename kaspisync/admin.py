"""Admin site identity (Russian by default), the shared admin building blocks and the plumbing
tables staff may need to see.

- `ReadOnlyAdmin`: rows the portal writes itself (viewable, never edited by hand);
  `ReadOnlyInline`: the same for rows shown inside another object's page (a history, outcomes).
- `RunNowMixin`: "run now" buttons on a run list (queue a job from the admin).
- `PersonalDataMixin`: personal fields (kaspisync.registry.personal_data) are never shown,
  filtered, searched or sorted on for users without their permission.
- Users and groups: permission names in the user's language (Django stores them in English).
- `QuickActionCheckbox`: long lists write each row's action checkbox directly; `QuickRows`: and
  each row at once (`quick_rows`).
- `CappedSearchCount`: a search over a long list reads its matches once and counts them up to a cap.
"""

import datetime
from dataclasses import dataclass, field
from types import SimpleNamespace

from axes import admin as axes_admin
from axes.models import AccessAttempt
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin import utils as admin_utils
from django.contrib.admin.templatetags import admin_list
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.views.main import SEARCH_VAR, ChangeList
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist, PermissionDenied
from django.core.paginator import Paginator
from django.db.models import AutoField
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.functional import Promise, cached_property
from django.utils.html import conditional_escape, format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from . import display, locks, registry
from .models import JobLock, RunStatus

admin.site.site_header = _("kaspisync — merchant portal")
admin.site.site_title = _("kaspisync")
admin.site.index_title = _("Dashboard")
admin.site.empty_value_display = display.EMPTY  # "—", as the portal's own empty values (Django's "-" reads as a minus)


def safe_next(request, default: str) -> str:
    """Where to send staff back after a form: the `next` it carried if it stays on this site
    (never another host or scheme: a crafted link must not lead away from the portal), else `default`."""
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return default


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by the portal itself (supplier data, run records, history, fetches):
    viewable, never added, edited or deleted by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline:
    """Mixed into a TabularInline/StackedInline: rows shown, none added, edited or deleted (every
    field read-only)."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def personal_data_in(model, lookup: str) -> registry.PersonalData | None:
    """The personal-data declaration a lookup (a filter, a search field, an ordering) touches,
    following relations: `customer_phone__startswith`, `raw__customer__cellPhone`,
    `order__customer_name` from an entry, `entries__raw` from an order. None: nothing personal."""
    for part in lookup.lstrip("-=^@").split(LOOKUP_SEP):
        declared = registry.personal_fields(model)
        if declared is not None and part in declared.fields:
            return declared
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return None  # a transform, a lookup type or a JSON key: the path ends here
        if not field.is_relation or field.related_model is None:
            return None
        model = field.related_model
    return None


class QuickActionCheckbox:
    """Each row's action checkbox, the same HTML as Django's, written by format_html: Django
    renders it through the form widget templates, a third of a 100-row product list's time."""

    def action_checkbox(self, obj):
        label = format_html(gettext("Select this object for an action - {}"), str(obj))
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            obj.pk,
            label,
        )


class QuickRows:
    """The list's rows written by `quick_rows` (templates/admin/change_list.html): a page of 100
    products is 900 cells, and Django's items_for_result spends most of the list's time around
    each one (looking its column up again, by a raised FieldDoesNotExist, reversing the row's
    URL, a template loop over the cells)."""

    quick_rows = True


def quick_rows(cl) -> list | None:
    """Each row of the page as one piece of HTML, exactly what Django's items_for_result writes
    cell by cell, for lists whose columns are callables (the admin's methods, functions); the
    work that is the same for every row (which column, its class, the link's URL around the key,
    the kept filters) is done once. None: a list this does not handle (editable, a popup, a
    column of a model field or attribute), which Django renders itself."""
    model_admin = cl.model_admin
    if cl.formset is not None or cl.is_popup or cl.to_field or cl.list_display_links is None:
        return None
    opts, empty = cl.lookup_opts, model_admin.get_empty_value_display()
    columns, first = [], True
    for index, name in enumerate(cl.list_display):
        try:
            admin_utils._get_non_gfk_field(opts, name)
            return None  # a model field: Django's display_for_field
        except (FieldDoesNotExist, admin_utils.FieldIsAForeignKeyColumnName):
            pass
        if callable(name):
            func = name
        elif isinstance(name, str) and name != "__str__" and hasattr(model_admin, name):
            func = getattr(model_admin, name)
        else:
            return None  # a model attribute or property
        link = (first and not cl.list_display_links) or name in cl.list_display_links
        tag = "td"
        if link:
            tag, first = ("th" if first else "td"), False
        field_class = f"field-{admin_list._coerce_field_name(name, index)}"
        shown_empty, boolean = getattr(func, "empty_value_display", empty), getattr(func, "boolean", False)
        columns.append((func, shown_empty, boolean, field_class, name == "action_checkbox", tag, link))
    link_of = _row_links(cl)
    rows = []
    for row in cl.result_list:
        cells = []
        for func, empty_value, boolean, field_class, is_checkbox, tag, link in columns:
            classes = field_class
            try:
                value = func(row)
            except ObjectDoesNotExist:
                text = empty
            else:
                if isinstance(value, str) and value.strip() == "":
                    value = ""
                elif isinstance(value, Promise) and not boolean:
                    value = str(value)  # what display_for_value makes of it, without translating it 5 times over
                if is_checkbox:
                    classes = "action-checkbox"
                if value and not boolean and type(value) in (str, SafeString):
                    text = value  # display_for_value's answer for text, without its checks
                else:
                    text = admin_utils.display_for_value(value, empty_value, boolean)
                if isinstance(value, datetime.date | datetime.time):
                    classes += " nowrap"
            text = conditional_escape(text)
            if link:
                text = f'<a href="{conditional_escape(link_of(row))}">{text}</a>'
            cells.append(f'<{tag} class="{classes}">{text}</{tag}>')
        rows.append(admin_list.ResultList(None, [mark_safe("".join(cells))]))  # noqa: S308 (escaped above)
    return rows


def _row_links(cl):
    """row -> its change page's URL with the list's filters kept, as Django writes it
    (url_for_result, then add_preserved_filters), made once for an integer key."""

    def django(row):
        url = cl.url_for_result(row)
        return add_preserved_filters({"preserved_filters": cl.preserved_filters, "opts": cl.opts}, url)

    if not isinstance(cl.lookup_opts.pk, AutoField):
        return django
    marker = "0000"
    sample = django(SimpleNamespace(**{cl.pk_attname: marker}))
    if sample.count(marker) != 1 or f"/{marker}/" not in sample:  # also in the kept filters, or no key
        return django
    before, _, after = sample.partition(f"/{marker}/")
    return lambda row: f"{before}/{getattr(row, cl.pk_attname)}/{after}"


class CappedCountPaginator(Paginator):
    """The keys of the first `cap` + 1 rows, in the list's order, read once (`SELECT id ... LIMIT
    cap + 1`): their number is the count (`capped` says whether there were more: then `count` is
    `cap`, and the pages end there), and a page is read by its keys (`WHERE id IN (...)`, at most a
    page of rows). A search that matches few rows reads the table once, not once to count and
    again to find the page (and again for a list of one page: `all_rows()`)."""

    def __init__(self, *args, cap: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.cap = cap

    @cached_property
    def keys(self) -> list:
        return list(self.object_list.values_list("pk", flat=True)[: self.cap + 1])

    @property
    def capped(self) -> bool:
        return len(self.keys) > self.cap

    @cached_property
    def count(self):
        return min(len(self.keys), self.cap)

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        return self._get_page(self.object_list.filter(pk__in=self.keys[bottom:top]), number, self)

    def all_rows(self):
        """Every counted row, in the list's order (a list of one page, or "show all")."""
        return self.object_list.filter(pk__in=self.keys[: self.count])


class CappedSearchChangeList(ChangeList):
    """Django's changelist reads a list of one page (or "show all") through its whole queryset,
    not the paginator: a capped search reads it by the keys the paginator already has."""

    def get_results(self, request):
        super().get_results(request)
        whole = (self.show_all and self.can_show_all) or not self.multi_page
        if whole and isinstance(self.paginator, CappedCountPaginator):
            self.result_list = self.paginator.all_rows()


class CappedSearchCount:
    """A searched list says "more than 1 000 products" instead of counting every match (a count
    reads the whole table again after the page was found: at 50,000 products, 20-40 ms of a
    search on SQLite), and reads the matches once (CappedCountPaginator). Lists that are not
    searched keep their exact count and every page."""

    search_count_cap = 1000

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        if not request.GET.get(SEARCH_VAR, "").strip():
            return super().get_paginator(request, queryset, per_page, orphans, allow_empty_first_page)
        return CappedCountPaginator(queryset, per_page, orphans, allow_empty_first_page, cap=self.search_count_cap)

    def get_changelist(self, request, **kwargs):
        return CappedSearchChangeList


class PersonalDataMixin:
    """Personal fields stay with the users allowed to see them: for anyone else a filter or
    lookup touching one (in the list and in every export built from the changelist) is refused
    with 400 whatever its value, search and list columns leave them out, so nothing about them
    can be learned by trying values (issue 9: a phone rebuilt digit by digit from 1-or-0 answers)."""

    def _may_see(self, request, lookup: str) -> bool:
        declared = personal_data_in(self.model, lookup)
        return declared is None or (request is not None and request.user.has_perm(declared.permission))

    def lookup_allowed(self, lookup, value, request=None):
        return self._may_see(request, lookup) and super().lookup_allowed(lookup, value, request)

    def get_search_fields(self, request):
        return tuple(name for name in super().get_search_fields(request) if self._may_see(request, name))

    def get_list_display(self, request):
        return tuple(
            name
            for name in super().get_list_display(request)
            if not isinstance(name, str) or self._may_see(request, name)
        )

    def get_changelist(self, request, **kwargs):
        return PersonalDataChangeList


class PersonalDataChangeList(ChangeList):
    """`?o=` sorts by any column's `admin_order_field` (Django does not check `sortable_by`):
    sorting on a personal field is skipped for users who may not see it."""

    def __init__(self, request, *args, **kwargs):
        self.request = request
        super().__init__(request, *args, **kwargs)

    def get_ordering_field(self, field_name):
        order_field = super().get_ordering_field(field_name)
        if isinstance(order_field, str) and not self.model_admin._may_see(self.request, order_field):
            return None
        return order_field


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


# --- users and groups: permissions named in words of the user's language ----------------------
PERMISSION_ACTIONS = {
    "add": _("can add"),
    "change": _("can change"),
    "delete": _("can delete"),
    "view": _("can view"),
}


def permission_label(permission) -> str:
    """ "Каталог | товар | может изменять" for a model's four permissions, "Каталог | запуск
    импорта | Может запускать импорт каталога" for the project's own (translated by their apps)."""
    content_type = permission.content_type
    model = content_type.model_class()
    if model is None:
        return str(permission)
    action, _sep, model_name = permission.codename.partition("_")
    if model_name == model._meta.model_name and action in PERMISSION_ACTIONS:
        what = PERMISSION_ACTIONS[action]
    else:
        what = gettext(permission.name)
    return f"{model._meta.app_config.verbose_name} | {model._meta.verbose_name} | {what}"


def permission_words(name: str) -> str:
    """ "app_label.codename" in words (permission_label); the name itself when no such permission
    exists, "" for ""."""
    app_label, _sep, codename = name.partition(".")
    permission = (
        Permission.objects.select_related("content_type")
        .filter(content_type__app_label=app_label, codename=codename)
        .first()
    )
    return permission_label(permission) if permission else name


class TranslatedPermissions(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return permission_label(obj)


class TranslatedPermissionsMixin:
    def formfield_for_manytomany(self, db_field, request=None, **kwargs):
        if db_field.name in ("permissions", "user_permissions"):
            kwargs["form_class"] = TranslatedPermissions
            kwargs.setdefault("queryset", Permission.objects.select_related("content_type"))
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class GroupAdmin(TranslatedPermissionsMixin, auth_admin.GroupAdmin):
    pass


class UserAdmin(TranslatedPermissionsMixin, auth_admin.UserAdmin):
    pass


class LockedOutFilter(axes_admin.IsLockedOutFilter):
    title = pgettext_lazy("filter title", "lockout")


class AccessAttemptAdmin(axes_admin.AccessAttemptAdmin):
    """django-axes' list of failed logins, its status column, filter and clean-up in Russian
    words (axes' own Russian catalog lacks them: staff read "Locked Out", "3 Attempt Remaining")."""

    list_filter = [
        LockedOutFilter if f is axes_admin.IsLockedOutFilter else f for f in axes_admin.AccessAttemptAdmin.list_filter
    ]

    @admin.display(description=_("status"))
    def status(self, obj):
        left = settings.AXES_FAILURE_LIMIT - obj.failures_since_start
        if left > 0:
            return ngettext("%(count)d attempt left", "%(count)d attempts left", left) % {"count": left}
        return gettext("locked out")

    @admin.display(description=_("expires"))
    def expiration(self, obj):
        return obj.expiration.expires_at if hasattr(obj, "expiration") else gettext("not set")

    @admin.action(description=_("Clean up expired attempts"))
    def cleanup_expired_attempts(self, request, queryset):
        count = self.handler.clean_expired_user_attempts(request=request)
        message = ngettext("%(count)d expired attempt removed.", "%(count)d expired attempts removed.", count)
        self.message_user(request, message % {"count": count})


for _model, _admin_class in (
    (Group, GroupAdmin),
    (get_user_model(), UserAdmin),
    (AccessAttempt, AccessAttemptAdmin),
):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
    admin.site.register(_model, _admin_class)
