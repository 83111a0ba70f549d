"""Cards admin: the mapping page (categories with counts per card status, attributes, buttons),
Kaspi's cached categories (searchable: the mapping's autocomplete), uploads and their outcomes.

Buttons: "Upload all ready cards" (cards.upload_cards), "Refresh Kaspi categories" and "Read
Al-Style properties" (cards.change_categorymapping); each queues a task once the request commits.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kaspisync.admin import ReadOnlyAdmin, ReadOnlyInline, RunAdmin
from kaspisync.models import RunTrigger
from kaspisync.runs import queue_after_commit

from . import selectors
from .kaspi_content import ContentApiError
from .models import (
    AttributeMapping,
    AttributeSource,
    CardOutcome,
    CardStatus,
    CategoryMapping,
    KaspiAttributeValue,
    KaspiCategory,
    UploadBatch,
    UploadRun,
)
from .product_admin import contribute_to_product_admin
from .reasons import describe
from .services.classification import add_empty_rows, load_attributes
from .services.mapping import fixed_value_problem, mapping_changed

UPLOAD_PERMISSION = "cards.upload_cards"
MAPPING_PERMISSION = "cards.change_categorymapping"


@admin.register(KaspiCategory)
class KaspiCategoryAdmin(ReadOnlyAdmin):
    list_display = ("title", "code", "is_active", "attribute_count", "refreshed_at", "attributes_loaded_at")
    list_filter = ("is_active",)
    search_fields = ("title", "code")

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.path.endswith("/autocomplete/"):
            return queryset.filter(is_active=True)  # map only to what Kaspi lists now
        return queryset.annotate(attributes_total=Count("attributes"))  # counted in the list's one query

    @admin.display(description=gettext_lazy("attributes"), ordering="attributes_total")
    def attribute_count(self, obj):
        return obj.attributes_total


class AttributeMappingForm(forms.ModelForm):
    value = forms.CharField(
        label=gettext_lazy("fixed value"),
        required=False,
        help_text=gettext_lazy("Text as staff would write it: 15,6 / Да / one of the allowed values."),
    )

    class Meta:
        model = AttributeMapping
        fields = ("source", "property_name", "value")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.value is not None:
            value = self.instance.value
            self.initial["value"] = ", ".join(map(str, value)) if isinstance(value, list) else str(value)

    def clean(self):
        data = super().clean()
        source = data.get("source")
        if source == AttributeSource.PROPERTY and not (data.get("property_name") or "").strip():
            self.add_error("property_name", _("Name the Al-Style property."))
        if source == AttributeSource.VALUE:
            value = (data.get("value") or "").strip()
            if not value:
                self.add_error("value", _("Enter the fixed value."))
            else:
                attribute = self.instance.attribute
                problem = fixed_value_problem(
                    attribute, value, selectors.allowed_values([attribute.pk]).get(attribute.pk, ({}, ()))
                )
                if problem:
                    self.add_error("value", problem)
        return data

    def save(self, commit=True):
        row = super().save(commit=False)
        source = self.cleaned_data.get("source")
        row.property_name = (
            " ".join((self.cleaned_data.get("property_name") or "").split())
            if source == AttributeSource.PROPERTY
            else ""
        )
        row.value = (self.cleaned_data.get("value") or "").strip() if source == AttributeSource.VALUE else None
        if commit:
            row.save()
        return row


ALLOWED_SHOWN = 30  # allowed values shown beside each attribute


class AttributeMappingInline(admin.TabularInline):
    model = AttributeMapping
    form = AttributeMappingForm
    fields = ("attribute_name", "attribute_type", "mandatory", "allowed", "source", "property_name", "value")
    readonly_fields = ("attribute_name", "attribute_type", "mandatory", "allowed")
    extra = 0
    can_delete = False
    verbose_name_plural = gettext_lazy("Kaspi attributes and how each is filled")

    def has_add_permission(self, request, obj=None):
        return False  # one row per attribute of the Kaspi category, made when it is chosen

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("attribute")
            .prefetch_related(
                Prefetch("attribute__values", KaspiAttributeValue.objects.all()[:ALLOWED_SHOWN], to_attr="shown_values")
            )
            .order_by("-attribute__mandatory", "attribute__position")
        )

    @admin.display(description=gettext_lazy("attribute"))
    def attribute_name(self, obj):
        return format_html(
            '{}<br><small style="color: var(--body-quiet-color)">{}</small>',
            obj.attribute.short_name,
            obj.attribute.code,
        )

    @admin.display(description=gettext_lazy("type"))
    def attribute_type(self, obj):
        kind = obj.attribute.get_type_display()
        return _("%(type)s, several values") % {"type": kind} if obj.attribute.multi_valued else kind

    @admin.display(description=gettext_lazy("mandatory"), boolean=True)
    def mandatory(self, obj):
        return obj.attribute.mandatory

    @admin.display(description=gettext_lazy("allowed values"))
    def allowed(self, obj):
        names = [value.name for value in obj.attribute.shown_values]  # the first ALLOWED_SHOWN, prefetched
        return ", ".join(names) or "—"


class CategoryMappingForm(forms.ModelForm):
    class Meta:
        model = CategoryMapping
        fields = ("alstyle_category", "kaspi_category")


@admin.register(CategoryMapping)
class CategoryMappingAdmin(admin.ModelAdmin):
    form = CategoryMappingForm
    list_display = (
        "alstyle_category",
        "kaspi_category",
        *(f"count_{s}" for s in ("not_ready", "ready", "sent", "created", "error")),
        "updated_at",
    )
    list_select_related = ("alstyle_category", "kaspi_category")
    autocomplete_fields = ("alstyle_category", "kaspi_category")
    search_fields = ("alstyle_category__name", "kaspi_category__title", "kaspi_category__code")
    readonly_fields = ("properties_seen", "updated_at", "updated_by")
    inlines = [AttributeMappingInline]
    change_list_template = "admin/cards/categorymapping/change_list.html"

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("alstyle_category", "kaspi_category")
        return ("alstyle_category", "kaspi_category", "properties_seen", "updated_at", "updated_by")

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    @admin.display(description=gettext_lazy("Al-Style properties seen in this category"))
    def properties_seen(self, obj):
        seen = selectors.property_names(obj.alstyle_category_id)
        if not seen:
            return _("none read yet: use “Read Al-Style properties” on the list page")
        return format_html_join(", ", "{} ({})", seen)

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user.get_username()
        super().save_model(request, obj, form, change)
        category = obj.kaspi_category
        if category.attributes_loaded_at is None:
            try:
                load_attributes(category)
            except ContentApiError as exc:
                messages.error(
                    request,
                    _("The attributes of %(code)s could not be read from Kaspi: %(error)s")
                    % {"code": category.code, "error": exc},
                )
        if category.attributes_loaded_at is not None and not category.attributes.exists():
            messages.warning(request, describe({"code": "category_without_attributes", "category": category.code}))
        add_empty_rows(obj)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        mapping_changed([form.instance.alstyle_category_id], triggered_by=request.user.get_username())

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        mapping_changed(triggered_by=request.user.get_username())

    # --- counts per status ------------------------------------------------------------------------
    def changelist_view(self, request, extra_context=None):
        totals = selectors.status_totals()
        extra_context = {
            **(extra_context or {}),
            "can_upload": request.user.has_perm(UPLOAD_PERMISSION),
            "can_refresh": request.user.has_perm(MAPPING_PERMISSION),
            "totals": [(label, totals[code]) for code, label in CardStatus.choices if code in totals],
        }
        return super().changelist_view(request, extra_context)

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        counts = selectors.status_counts()
        for mapping in changelist.result_list:
            mapping.card_counts = counts.get(mapping.pk, {})
        return changelist

    @staticmethod
    def _count(obj, status):
        return getattr(obj, "card_counts", {}).get(status, 0)

    @admin.display(description=CardStatus.NOT_READY.label)
    def count_not_ready(self, obj):
        return self._count(obj, CardStatus.NOT_READY)

    @admin.display(description=CardStatus.READY.label)
    def count_ready(self, obj):
        return self._count(obj, CardStatus.READY)

    @admin.display(description=CardStatus.SENT.label)
    def count_sent(self, obj):
        return self._count(obj, CardStatus.SENT)

    @admin.display(description=CardStatus.CREATED.label)
    def count_created(self, obj):
        return self._count(obj, CardStatus.CREATED)

    @admin.display(description=CardStatus.ERROR.label)
    def count_error(self, obj):
        return self._count(obj, CardStatus.ERROR)

    # --- buttons ----------------------------------------------------------------------------------
    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("upload/", view(self.upload_view), name="cards_categorymapping_upload"),
            path("refresh-kaspi/", view(self.refresh_kaspi_view), name="cards_categorymapping_refresh_kaspi"),
            path("read-properties/", view(self.read_properties_view), name="cards_categorymapping_read_properties"),
            *super().get_urls(),
        ]

    def _post_with(self, request, permission):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm(permission):
            raise PermissionDenied
        return None

    def upload_view(self, request):
        refused = self._post_with(request, UPLOAD_PERMISSION)
        if refused:
            return refused
        queue_upload(request)
        return redirect(reverse("admin:cards_uploadrun_changelist"))

    def refresh_kaspi_view(self, request):
        refused = self._post_with(request, MAPPING_PERMISSION)
        if refused:
            return refused
        from .tasks import refresh_classification

        queue_after_commit(refresh_classification, trigger=RunTrigger.ADMIN, triggered_by=request.user.get_username())
        messages.success(request, _("Kaspi's categories and attributes will be refreshed in a moment."))
        return redirect(reverse("admin:cards_categorymapping_changelist"))

    def read_properties_view(self, request):
        refused = self._post_with(request, MAPPING_PERMISSION)
        if refused:
            return refused
        from .services.properties import queue_properties

        queue_properties(triggered_by=request.user.get_username())
        messages.success(request, _("The Al-Style properties of mapped categories will be read in a moment."))
        return redirect(reverse("admin:cards_categorymapping_changelist"))


def queue_upload(request, product_ids=None, resend: bool = False) -> None:
    """Queue an upload once the request commits; the run appears under "Card uploads"."""
    from .tasks import upload_cards

    queue_after_commit(
        upload_cards,
        product_ids=product_ids,
        resend=resend,
        user_id=request.user.pk,
        triggered_by=request.user.get_username(),
    )
    messages.success(request, _("The upload was queued; its run and every card's outcome appear under “Card uploads”."))


class UploadBatchInline(ReadOnlyInline, admin.TabularInline):
    model = UploadBatch
    fields = (
        "number",
        "status",
        "import_code",
        "kaspi_status",
        "sent",
        "created",
        "errors",
        "description",
        "sent_at",
        "finished_at",
    )
    readonly_fields = fields


@admin.register(UploadRun)
class UploadRunAdmin(RunAdmin):
    list_display = (
        "started_at",
        "status",
        "progress_text",
        "trigger",
        "triggered_by",
        "sent",
        "created",
        "errors",
        "unknown",
        "not_ready",
        "import_codes",
        "short_error",
    )
    list_filter = ("status", "trigger")
    date_hierarchy = "started_at"
    fields = (
        "status",
        "progress_text",
        "trigger",
        "triggered_by",
        "resend",
        "started_at",
        "finished_at",
        "sent",
        "created",
        "errors",
        "unknown",
        "not_ready",
        "import_codes",
        "outcomes_link",
        "requests_made",
        "error",
    )
    readonly_fields = fields
    inlines = [UploadBatchInline]

    @admin.display(description=gettext_lazy("error"))
    def short_error(self, obj):
        return obj.error[:120]

    @admin.display(description=gettext_lazy("every card's outcome"))
    def outcomes_link(self, obj):
        url = reverse("admin:cards_cardoutcome_changelist") + f"?batch__run__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _("Open the list"))


@admin.register(CardOutcome)
class CardOutcomeAdmin(ReadOnlyAdmin):
    list_display = ("at", "sku", "product", "outcome", "message", "run_link")
    list_filter = ("outcome", "batch__run")
    search_fields = ("=sku", "message")
    list_select_related = ("product", "batch")
    show_full_result_count = False

    @admin.display(description=gettext_lazy("upload"))
    def run_link(self, obj):
        url = reverse("admin:cards_uploadrun_change", args=[obj.batch.run_id])
        return format_html('<a href="{}">#{}</a>', url, obj.batch.run_id)


# The cards columns, filter, actions and inlines of the product list (catalog's admin, registered
# before this module: catalog comes first in INSTALLED_APPS); catalog does not know cards exist.
contribute_to_product_admin()
