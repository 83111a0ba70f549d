"""Price list admin: settings (stores, cities), versions with stats, diff, download and the
validation report, "Build now", "Publish anyway" for a held version, the public URL, fetches."""

import csv
import io
from decimal import Decimal

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext

from kaspisync.admin import ReadOnlyAdmin, RunNowButton, RunNowMixin
from kaspisync.display import group, money, percent
from kaspisync.export import csv_text
from kaspisync.secrets import MASK

from . import selectors, services
from .models import (
    FeedCity,
    FeedCityPriceOverride,
    FeedFetch,
    FeedProbe,
    FeedResult,
    FeedSettings,
    FeedStore,
    FeedVersion,
)

BUILD_PERMISSION = "feeds.build_feed"
PUBLISH_ANYWAY_PERMISSION = "feeds.publish_anyway"


def product_text(row) -> str:
    name = row["name"] or _("(not in the catalog)")
    return format_html(
        '{}<div class="ks-muted">{} · {}</div>', name, row["sku"], _("art. %(a)s") % {"a": row["article"]}
    )


def change_text(kind: str, row) -> str:
    """ "777 335 ₸ → 799 990 ₸ ↑ +2,9 %", "12 → 0 units", "new: 5 990 ₸"."""
    if kind == "added":
        return _("new offer: %(price)s") % {"price": money(row["new_price"])}
    if kind == "removed":
        return _("no longer offered (was %(price)s)") % {"price": money(row["old_price"])}
    if kind in ("stock_changed", "reserved_for_orders"):
        return _("%(old)s → %(new)s units") % {"old": row["old_stock"], "new": row["new_stock"]}
    old, new = row["old_price"], row["new_price"]
    arrow = "↑" if new > old else "↓"
    return format_html(
        '{} → {} <span class="{}">{} {}</span>',
        money(old),
        money(new),
        "ks-warn" if new > old else "ks-ok",
        arrow,
        percent((Decimal(new) - old) * 100 / old, signed=True) if old else "",
    )


DIFF_KINDS = (
    ("added", gettext_lazy("added")),
    ("removed", gettext_lazy("removed")),
    ("price_changed", gettext_lazy("price changed")),
    ("stock_changed", gettext_lazy("stock changed")),
    ("reserved_for_orders", gettext_lazy("of which: reserved for orders")),
)


def feed_panel(request) -> dict:
    """Context for the panel above the version and fetch lists: the URL to paste into the Kaspi
    cabinet (masked on the page; the copy button holds it whole) and the last fetch."""
    token = settings.FEED_TOKEN
    context = {
        "feed_enabled": bool(token),
        "last_fetch": selectors.last_fetch(),
        "published": selectors.published_version(),
    }
    if token:
        url = request.build_absolute_uri(reverse("feeds:kaspi_xml", args=[token]))
        context["feed_url_masked"] = url.replace(token, MASK)
        if request.user.has_perm(BUILD_PERMISSION):
            context["feed_url"] = url
    return context


class SingletonAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        obj = services.feed_settings()
        return redirect(reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk]))


class FeedStoreInline(admin.TabularInline):
    model = FeedStore
    fields = ("store_id", "pre_order_days", "warehouses", "position")
    extra = 0


class FeedCityInline(admin.TabularInline):
    model = FeedCity
    fields = ("city_id", "name", "percent", "offset", "position")
    extra = 0


@admin.register(FeedSettings)
class FeedSettingsAdmin(SingletonAdmin):
    fieldsets = (
        (None, {"fields": ("company", "merchant_id")}),
        (gettext_lazy("Offers"), {"fields": ("sku_prefix", "stock_threshold", "retired_stores")}),
        (gettext_lazy("Safety"), {"fields": ("shrink_threshold", "keep_versions")}),
    )
    inlines = [FeedStoreInline, FeedCityInline]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.settings_changed()


@admin.register(FeedCityPriceOverride)
class FeedCityPriceOverrideAdmin(admin.ModelAdmin):
    list_display = ("product", "city", "price")
    list_filter = ("city",)
    search_fields = ("=product__article", "product__name")
    autocomplete_fields = ("product",)
    list_select_related = ("product", "city")

    # A city price is a price change: the price list follows (debounced, like any settings change).
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.settings_changed()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        services.settings_changed()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        services.settings_changed()


@admin.register(FeedVersion)
class FeedVersionAdmin(RunNowMixin, ReadOnlyAdmin):
    run_now_buttons = (RunNowButton(gettext_lazy("Build now"), "feeds_feedversion_build_now", "build-now/"),)
    run_now_permission = BUILD_PERMISSION
    run_now_lock = services.LOCK_NAME
    run_now_queued = gettext_lazy("The build was queued; its version appears in this list.")
    run_now_busy = gettext_lazy("A build is running now; this one will be recorded as skipped.")
    list_display = (
        "started_at",
        "result_column",
        "status",
        "trigger",
        "offers",
        "available_offers",
        "dropped_offers",
        "size_column",
        "diff_column",
        "published_at",  # who published: on the version's page (the list fits 1440 px)
        "download_column",
    )
    list_filter = ("result", "status", "trigger", "forced")
    date_hierarchy = "started_at"
    fields = (
        "result",
        "status",
        "trigger",
        "triggered_by",
        "started_at",
        "finished_at",
        "offers",
        "available_offers",
        "size_column",
        "gzip_size_column",
        "sha256",
        "download_column",
        "reasons_column",
        "errors_column",
        "dropped_offers",
        "dropped_column",
        "diff_detail",
        "previous",
        "published_at",
        "published_by",
        "forced",
        "error",
    )
    readonly_fields = fields
    change_list_template = "admin/feeds/feedversion/change_list.html"
    change_form_template = "admin/feeds/feedversion/change_form.html"

    # --- columns -------------------------------------------------------------------------------
    @admin.display(description=gettext_lazy("result"), ordering="result")
    def result_column(self, obj):
        colour = {FeedResult.PUBLISHED: "#2e7d32", FeedResult.REJECTED: "#e65100", FeedResult.INVALID: "#c62828"}.get(
            obj.result, "inherit"
        )
        return format_html('<strong style="color: {}">{}</strong>', colour, obj.get_result_display())

    @admin.display(description=gettext_lazy("size"), ordering="size")
    def size_column(self, obj):
        return filesizeformat(obj.size) if obj.size else "—"

    @admin.display(description=gettext_lazy("compressed (gzip)"))
    def gzip_size_column(self, obj):
        return filesizeformat(obj.gzip_size) if obj.gzip_size else "—"

    @admin.display(description=gettext_lazy("changes"))
    def diff_column(self, obj):
        """ "12 added, 3 removed, 45 prices and 120 stocks changed" in words."""
        counts = obj.diff.get("counts")
        if not counts:
            return "—"
        phrases = {
            "added": ngettext("%(n)s added", "%(n)s added", counts["added"]),
            "removed": ngettext("%(n)s removed", "%(n)s removed", counts["removed"]),
            "price_changed": ngettext("%(n)s price changed", "%(n)s prices changed", counts["price_changed"]),
            "stock_changed": ngettext("%(n)s stock changed", "%(n)s stocks changed", counts["stock_changed"]),
        }
        parts = [
            phrase % {"n": group(counts[key])} for key, phrase in phrases.items() if counts[key]
        ]  # what changed only
        if counts["stock_changed"] and counts.get("reserved_for_orders"):
            parts[-1] += " " + _("(%(n)s by stock reserved for orders)") % {"n": group(counts["reserved_for_orders"])}
        if not parts:
            return _("no changes")
        return ", ".join(parts)

    @admin.display(description=gettext_lazy("file"))
    def download_column(self, obj):
        if not obj.file:
            return "—"
        url = reverse("admin:feeds_feedversion_download", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("download"))

    @admin.display(description=gettext_lazy("reasons"))
    def reasons_column(self, obj):
        return format_html_join("", "<div>{}</div>", ((r,) for r in obj.reasons)) or "—"

    @admin.display(description=gettext_lazy("validation report"))
    def errors_column(self, obj):
        if not obj.errors:
            return _("passed") if obj.result not in (FeedResult.BUILDING, FeedResult.SKIPPED) else "—"
        total = obj.stats.get("errors", len(obj.errors))
        head = format_html("<div>{}</div>", _("%(count)s error(s); the first ones:") % {"count": total})
        return head + format_html_join("", "<div><code>{}</code></div>", ((e,) for e in obj.errors))

    @admin.display(description=gettext_lazy("offers left out, and why"))
    def dropped_column(self, obj):
        if not obj.dropped_offers:
            return _("none")
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((d["sku"], d["article"] if d.get("article") is not None else "—", d["reason"]) for d in obj.dropped),
        )
        head = format_html(
            "<tr><th>{}</th><th>{}</th><th>{}</th></tr>", _("SKU"), _("article"), _("why it was left out")
        )
        more = obj.dropped_offers - len(obj.dropped)
        tail = format_html("<p>{}</p>", _("… and %(n)s more") % {"n": more}) if more > 0 else ""
        return format_html("<table>{}{}</table>{}", head, rows, tail)

    @admin.display(description=gettext_lazy("changes against the published version"))
    def diff_detail(self, obj):
        """Each kind of change with product names: prices old → new with arrows and percent,
        stock old → new, added and removed offers; the first rows here, all in the CSV."""
        counts = obj.diff.get("counts")
        if not counts:
            return "—"
        rows = selectors.diff_rows(obj)
        download = reverse("admin:feeds_feedversion_diff", args=[obj.pk])
        parts = [format_html('<p><a href="{}">{}</a></p>', download, _("Download every change (CSV)"))]
        for kind, label in DIFF_KINDS:
            shown = rows[kind]
            if not counts.get(kind):  # none, or a diff made before this kind was counted
                continue
            head = format_html("<h3>{} ({})</h3>", label, counts[kind])
            body = format_html_join(
                "", "<tr><td>{}</td><td>{}</td></tr>", ((product_text(r), change_text(kind, r)) for r in shown)
            )
            more = counts[kind] - len(shown)
            tail = format_html("<p>{}</p>", _("… and %(n)s more in the CSV") % {"n": more}) if more > 0 else ""
            parts.append(format_html('{}<table class="ks-diff">{}</table>{}', head, body, tail))
        return format_html_join("", "{}", ((p,) for p in parts))

    # --- views ---------------------------------------------------------------------------------
    def get_urls(self):
        return [
            path(
                "<int:pk>/download/", self.admin_site.admin_view(self.download_view), name="feeds_feedversion_download"
            ),
            path("<int:pk>/diff.csv", self.admin_site.admin_view(self.diff_view), name="feeds_feedversion_diff"),
            path(
                "<int:pk>/publish-anyway/",
                self.admin_site.admin_view(self.publish_anyway_view),
                name="feeds_feedversion_publish_anyway",
            ),
            *super().get_urls(),
        ]

    def run_now(self, request):
        services.queue_build(triggered_by=request.user.get_username())

    def download_view(self, request, pk):
        if not self.has_view_permission(request):
            raise PermissionDenied
        version = get_object_or_404(FeedVersion, pk=pk)
        if not version.file or not default_storage.exists(version.file):
            raise Http404(_("The file of this version is no longer kept."))
        return FileResponse(
            default_storage.open(version.file, "rb"),
            as_attachment=True,
            filename=f"kaspi-{version.pk}.xml",
            content_type="application/xml",
        )

    DIFF_CSV_KEYS = ("sku", "article", "name", "old_price", "new_price", "old_stock", "new_stock")

    def diff_view(self, request, pk):
        """Every change of a version, for Russian Excel (";", UTF-8 with BOM)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        version = get_object_or_404(FeedVersion, pk=pk)
        rows = selectors.diff_rows(version, limit=None)
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";")
        writer.writerow(
            [
                pgettext("price list change", "Change"),
                _("SKU"),
                _("Article"),
                _("Product"),
                _("Old price, ₸"),
                _("New price, ₸"),
                _("Old stock"),
                _("New stock"),
            ]
        )
        reserved = {r["sku"] for r in rows["reserved_for_orders"]}
        for kind, label in DIFF_KINDS:
            if kind == "reserved_for_orders":
                continue  # marked on their stock change rows
            for r in rows[kind]:
                reason = (
                    _("stock changed: reserved for orders")
                    if kind == "stock_changed" and r["sku"] in reserved
                    else label
                )
                cells = (reason, *(r[key] for key in self.DIFF_CSV_KEYS))
                writer.writerow([csv_text(cell) for cell in cells])  # supplier text: clean, never a formula
        response = HttpResponse(("\ufeff" + out.getvalue()).encode(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="kaspi-{version.pk}-changes.csv"'
        return response

    def publish_anyway_view(self, request, pk):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm(PUBLISH_ANYWAY_PERMISSION):
            raise PermissionDenied
        try:
            services.publish_anyway(pk, user=request.user)
        except services.FeedError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Version #%(id)s is published.") % {"id": pk})
        return redirect(reverse("admin:feeds_feedversion_change", args=[pk]))

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {**(extra_context or {}), **feed_panel(request)})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        version = self.get_object(request, object_id)
        can_publish = (
            version is not None
            and version.result == FeedResult.REJECTED
            and bool(version.file)
            and request.user.has_perm(PUBLISH_ANYWAY_PERMISSION)
        )
        extra_context = {**(extra_context or {}), "can_publish_anyway": can_publish}
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(FeedFetch)
class FeedFetchAdmin(ReadOnlyAdmin):
    list_display = ("fetched_at", "status", "ip", "user_agent", "method", "bytes_sent", "gzip", "version_id")
    list_filter = ("status", "gzip")
    search_fields = ("ip", "user_agent")
    date_hierarchy = "fetched_at"
    change_list_template = "admin/feeds/feedfetch/change_list.html"
    show_full_result_count = False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {**(extra_context or {}), **feed_panel(request)})


@admin.register(FeedProbe)
class FeedProbeAdmin(ReadOnlyAdmin):
    """Requests with a wrong token, counted per day and address (feeds.fetchlog)."""

    list_display = ("day", "ip", "count", "first_at", "last_at", "user_agent")
    list_filter = ("day",)
    search_fields = ("ip",)
    date_hierarchy = "day"
