"""Order admin: list, order page (entries, margins, timeline), confirmed actions, export, pulls.

Orders are read-only here (Kaspi is the source); every change goes through an action page that
says it cannot be undone and calls one service. Customer personal data (name, phone, address,
raw payload) is shown only to users with `orders.view_customer_data`.
"""

from dataclasses import replace

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kaspisync import display
from kaspisync.admin import (
    PersonalDataMixin,
    QuickActionCheckbox,
    ReadOnlyAdmin,
    RunAdmin,
    RunNowButton,
    RunNowMixin,
    safe_next,
)
from kaspisync.display import loss_aware_money, money, when, whole

from . import export, purchase_admin, quality, selectors, services  # noqa: F401  (purchase_admin registers its pages)
from . import purchase_list as purchases
from .admin_quality import QualityFilter, quality_preview
from .forms import AssembleForm, CancelForm, CompleteForm, ConfirmForm
from .models import (
    AutoAcceptCheck,
    AutoAcceptRule,
    AutoAcceptSettings,
    DeliveryMode,
    Order,
    OrderAction,
    OrderStatus,
    PaymentMode,
    PullRun,
)
from .services import autoaccept

CUSTOMER_PERMISSION = "orders.view_customer_data"
PULL_PERMISSION = "orders.pull_orders"


def can_see_customer(request) -> bool:
    return request.user.has_perm(CUSTOMER_PERMISSION)


PULL_NOW = RunNowButton(gettext_lazy("Pull orders now"), "orders_order_pull_now")


class ReadOnlyWithPullButton(RunNowMixin, ReadOnlyAdmin):
    """Rows written only by pulls and actions: viewable, never added, edited or deleted by hand;
    the list offers "Pull orders now" to users allowed to start a pull."""

    run_now_buttons = (PULL_NOW,)
    run_now_permission = PULL_PERMISSION
    run_now_redirect = "admin:orders_pullrun_changelist"
    run_now_queued = gettext_lazy("An order pull was queued; its result appears under “Order pulls”.")

    def run_now(self, request):
        services.queue_pull(triggered_by=request.user.get_username())


class UnmatchedEntriesFilter(admin.SimpleListFilter):
    title = gettext_lazy("catalog match")
    parameter_name = "unmatched"

    def lookups(self, request, model_admin):
        return [
            ("yes", _("has entries not in the catalog")),
            ("sku_unknown", _("has entries whose SKU Kaspi did not give")),
        ]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(entries__isnull=False, entries__product__isnull=True).distinct()
        if self.value() == "sku_unknown":
            return queryset.filter(entries__sku_error__gt="").distinct()
        return queryset


@admin.register(Order)
class OrderAdmin(QuickActionCheckbox, PersonalDataMixin, ReadOnlyWithPullButton):
    run_now_buttons = (replace(PULL_NOW, route="pull-now/"),)
    # What a person decides by: the order (number, when), its status, money, then who and where.
    list_display = ("order_column", "status_column", "total_column", "margin", "delivery_column", "goods_bought")
    list_display_links = ("order_column",)
    customer_list_display = ("customer_column",)
    readonly_fields = (
        "total",
        "acceptance_time_text",
        "delivery_cost_text",
        "delivery_cost_for_seller_text",
        "cancellation_reason_text",
    )
    list_filter = (
        "state",
        "status",
        "delivery_mode",
        "payment_mode",
        "is_kaspi_delivery",
        "created_at",
        UnmatchedEntriesFilter,
        QualityFilter,
    )
    # Customer fields are searched only for users who may see them (PersonalDataMixin).
    search_fields = ("=code", "entries__sku", "customer_phone", "customer_name")
    date_hierarchy = "created_at"
    list_per_page = 50
    actions = ["accept_selected"]
    fieldsets_base = [
        (
            None,
            {
                "fields": (
                    "code",
                    "kaspi_id",
                    "state",
                    "status",
                    "total",
                    "payment_mode",
                    "credit_term",
                    "created_at",
                    "approved_by_bank_at",
                    "accepted_at",
                    "acceptance_time_text",
                    "reservation_at",
                    "changed_at",
                )
            },
        ),
        (
            gettext_lazy("Delivery"),
            {
                "fields": (
                    "delivery_mode",
                    "city",
                    "planned_delivery_at",
                    "pickup_point_id",
                    "delivery_cost_text",
                    "delivery_cost_for_seller_text",
                    "signature_required",
                    "pre_order",
                )
            },
        ),
        (
            gettext_lazy("Kaspi Delivery"),
            {
                "classes": ("collapse",),
                "fields": (
                    "is_kaspi_delivery",
                    "express",
                    "number_of_space",
                    "waybill",
                    "waybill_number",
                    "courier_transmission_planned_at",
                    "courier_transmission_at",
                    "returned_to_warehouse",
                ),
            },
        ),
        (
            gettext_lazy("Cancellation"),
            {"classes": ("collapse",), "fields": ("cancellation_reason_text", "cancellation_comment")},
        ),
    ]
    fieldsets_customer = [
        (gettext_lazy("Customer"), {"fields": ("customer_name", "customer_phone", "delivery_address")}),
        (gettext_lazy("Raw payload from Kaspi"), {"classes": ("collapse",), "fields": ("raw",)}),
    ]

    # --- personal data behind a permission -------------------------------------------------------
    def get_list_display(self, request):
        extra = self.customer_list_display if can_see_customer(request) else ()
        return (*self.list_display[:4], *extra, *self.list_display[4:])

    def get_fieldsets(self, request, obj=None):
        return self.fieldsets_base + (self.fieldsets_customer if can_see_customer(request) else [])

    def get_queryset(self, request):
        return selectors.order_list(super().get_queryset(request))

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        margins = selectors.margins_for_orders(changelist.result_list)
        progress = purchases.purchase_progress(o.pk for o in changelist.result_list)
        for order in changelist.result_list:
            order.net_margin = margins[order.pk]
            order.purchase_progress = progress.get(order.pk)
        return changelist

    @admin.display(description=gettext_lazy("total"), ordering="total_price")
    def total(self, obj):
        return money(obj.total_price)

    @admin.display(description=gettext_lazy("order"), ordering="created_at")
    def order_column(self, obj):
        return format_html('{}<div class="ks-muted">{}</div>', obj.code, when(obj.created_at))

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def status_column(self, obj):
        waiting = obj.status == OrderStatus.APPROVED_BY_BANK
        return format_html(
            '<span class="{}">{}</span><div class="ks-muted">{}</div>',
            "ks-warn" if waiting else "",
            obj.get_status_display(),
            obj.get_state_display(),
        )

    @admin.display(description=gettext_lazy("customer"), ordering="customer_name")
    def customer_column(self, obj):
        return format_html('{}<div class="ks-muted">{}</div>', obj.customer_name or "—", obj.customer_phone)

    @admin.display(description=gettext_lazy("delivery"), ordering="city")
    def delivery_column(self, obj):
        return format_html('{}<div class="ks-muted">{}</div>', obj.city or "—", obj.get_delivery_mode_display())

    @admin.display(description=gettext_lazy("delivery cost"))
    def delivery_cost_text(self, obj):
        return money(obj.delivery_cost)

    @admin.display(description=gettext_lazy("delivery cost for seller"))
    def delivery_cost_for_seller_text(self, obj):
        return money(obj.delivery_cost_for_seller)

    @admin.display(description=gettext_lazy("waited for acceptance"))
    def acceptance_time_text(self, obj):
        return quality.format_wait(obj.acceptance_time)

    @admin.display(description=gettext_lazy("cancellation reason"))
    def cancellation_reason_text(self, obj):
        return obj.cancellation_reason_label or "—"

    @admin.display(description=gettext_lazy("total"), ordering="total_price")
    def total_column(self, obj):
        """The total, and how many units below it."""
        units = display.group(whole(selectors.items_count(obj)) or 0)
        return format_html(
            '{}<div class="ks-muted">{}</div>', money(obj.total_price), _("%(units)s pcs.") % {"units": units}
        )

    @admin.display(description=gettext_lazy("net margin"))
    def margin(self, obj):
        return loss_aware_money(getattr(obj, "net_margin", None))

    @admin.display(description=gettext_lazy("bought from Al-Style"))
    def goods_bought(self, obj):
        progress = getattr(obj, "purchase_progress", None)
        if purchases.is_bought(progress):
            return _("goods bought")
        if progress and progress[1]:
            return _("%(bought)s of %(ordered)s units") % {"bought": progress[1], "ordered": progress[0]}
        return "—"

    # --- order page -----------------------------------------------------------------------------
    def change_view(self, request, object_id, form_url="", extra_context=None):
        order = self.get_object(request, object_id)
        if order is not None:
            extra_context = {
                **(extra_context or {}),
                "financials": selectors.order_financials(order),
                "timeline": selectors.order_timeline(order),
                "order_actions": self.available_actions(request, order),
                "purchases": purchases.purchases_of_order(order),
                "goods_bought": purchases.is_bought(purchases.purchase_progress([order.pk]).get(order.pk)),
                "can_mark_purchased": request.user.has_perm("orders.mark_purchased"),
                "autoaccept": selectors.autoaccept_check(order),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def available_actions(self, request, order) -> list[tuple[str, str, bool]]:
        """(url, label, dangerous) of the actions this user may start for the order's current status;
        the dangerous one (cancelling) is shown apart from the others."""
        return [
            (reverse(f"admin:orders_order_{action.value}", args=[order.pk]), action.label, action == OrderAction.CANCEL)
            for action in order.allowed_actions
            if request.user.has_perm(action.permission)
        ]

    # --- actions, each on a confirmation page ------------------------------------------------------
    def get_urls(self):
        def view(func):
            return self.admin_site.admin_view(func)

        return [
            path("<path:object_id>/accept/", view(self.accept_view), name="orders_order_accept"),
            path("<path:object_id>/cancel/", view(self.cancel_view), name="orders_order_cancel"),
            path("<path:object_id>/complete/", view(self.complete_view), name="orders_order_complete"),
            path("<path:object_id>/assemble/", view(self.assemble_view), name="orders_order_assemble"),
            path("export/<str:fmt>/", view(self.export_view), name="orders_order_export"),
            *super().get_urls(),
        ]

    def _action_page(self, request, object_id, *, permission, title, form_class, perform, done, extra=None):
        order = self.get_object(request, object_id)
        if order is None:
            raise Http404
        if not (self.has_view_permission(request, order) and request.user.has_perm(f"orders.{permission}")):
            raise PermissionDenied
        form = form_class(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                result = perform(order, form.cleaned_data)
            except services.ActionUnconfirmed as exc:  # made, or maybe made, at Kaspi: no retry button
                messages.warning(request, str(exc))
                return redirect(reverse("admin:orders_order_change", args=[order.pk]))
            except services.ActionError as exc:
                form.add_error(None, str(exc))
            else:
                if isinstance(result, str):  # an intermediate step (completion code sent): stay here
                    messages.info(request, result)
                    return redirect(request.path)
                messages.success(request, done % {"code": order.code})
                return redirect(reverse("admin:orders_order_change", args=[order.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title % {"code": order.code},
            "order": order,
            "form": form,
            "can_see_customer": can_see_customer(request),
            **(extra or {}),
        }
        return TemplateResponse(request, "admin/orders/order/confirm_action.html", context)

    def accept_view(self, request, object_id):
        return self._action_page(
            request,
            object_id,
            permission="accept_order",
            title=_("Accept order %(code)s"),
            form_class=ConfirmForm,
            perform=lambda order, data: services.accept_order(order, request.user),
            done=_("Order %(code)s accepted."),
        )

    def cancel_view(self, request, object_id):
        return self._action_page(
            request,
            object_id,
            permission="cancel_order",
            title=_("Cancel order %(code)s"),
            form_class=CancelForm,
            perform=lambda order, data: services.cancel_order(order, request.user, data["reason"], data["comment"]),
            done=_("Order %(code)s cancelled."),
            extra={
                "quality_preview": quality_preview(object_id),
                "submit_label": _("Cancel the order"),
                "dangerous": True,
            },
        )

    def assemble_view(self, request, object_id):
        return self._action_page(
            request,
            object_id,
            permission="assemble_order",
            title=_("Order %(code)s is assembled"),
            form_class=AssembleForm,
            perform=lambda order, data: services.assemble_order(order, request.user, data["number_of_space"]),
            done=_("Order %(code)s marked as assembled."),
        )

    def complete_view(self, request, object_id):
        def perform(order, data):
            if "send_code" in request.POST:
                services.send_completion_code(order, request.user)
                return _("Kaspi sent the buyer a code. Ask the buyer for it and enter it below.")
            return services.complete_order(order, request.user, data["code"])

        return self._action_page(
            request,
            object_id,
            permission="complete_order",
            title=_("Complete order %(code)s"),
            form_class=CompleteForm,
            perform=perform,
            done=_("Order %(code)s completed."),
            extra={"two_step": True},
        )

    @admin.action(description=gettext_lazy("Accept selected orders at Kaspi"), permissions=["accept"])
    def accept_selected(self, request, queryset):
        if request.POST.get("post") == "yes":
            result = services.accept_orders(list(queryset), request.user)
            if result.done:
                messages.success(request, _("Accepted: %(codes)s") % {"codes": ", ".join(o.code for o in result.done)})
            for order, error in result.failed:
                messages.error(request, _("Order %(code)s: %(error)s") % {"code": order.code, "error": error})
            if result.skipped:
                skipped = ", ".join(f"{o.code} ({o.get_status_display()})" for o in result.skipped)
                messages.warning(
                    request,
                    _("Not sent to Kaspi, only orders waiting for acceptance are accepted: %(orders)s")
                    % {"orders": skipped},
                )
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Accept %(n)s orders") % {"n": queryset.count()},
            "orders": queryset,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/orders/order/accept_selected.html", context)

    def has_accept_permission(self, request):
        return request.user.has_perm("orders.accept_order")

    # --- export ---------------------------------------------------------------------------
    def export_view(self, request, fmt):
        if not self.has_view_permission(request):
            raise PermissionDenied
        writers = {
            "csv": (export.to_csv, "text/csv; charset=utf-8"),
            "xlsx": (export.to_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        }
        if fmt not in writers:
            raise Http404
        queryset = admin.ModelAdmin.get_changelist_instance(self, request).get_queryset(request)
        write, content_type = writers[fmt]
        response = HttpResponse(
            write(selectors.export_rows(queryset, with_customer=can_see_customer(request))), content_type=content_type
        )
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="kaspi-orders-{stamp}.{fmt}"'
        return response


@admin.register(PullRun)
class PullRunAdmin(RunAdmin, ReadOnlyWithPullButton):
    list_display = (
        "started_at",
        "status",
        "trigger",
        "triggered_by",
        "duration_text",
        "progress_text",
        "orders_seen",
        "created",
        "updated",
        "events",  # unchanged and requests made: on the run's page (the list fits 1440 px)
        "unmatched_entries",
        "errors",
    )
    list_filter = ("status", "trigger")
    fields = [
        "progress_text",
        *(f.name for f in PullRun._meta.fields if f.name not in ("id", "stats", "finished_at")),
        "finished_at",
        "duration_text",
        "stats_text",
    ]
    readonly_fields = fields


# --- auto-accept ---------------------------------------------------------------------------------
class AutoAcceptRuleForm(forms.ModelForm):
    delivery_modes = forms.MultipleChoiceField(
        label=gettext_lazy("delivery modes"), choices=DeliveryMode.choices, widget=forms.CheckboxSelectMultiple
    )
    payment_modes = forms.MultipleChoiceField(
        label=gettext_lazy("payment modes"), choices=PaymentMode.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = AutoAcceptRule
        fields = ("name", "is_active", "max_total", "delivery_modes", "payment_modes", "position")


@admin.register(AutoAcceptRule)
class AutoAcceptRuleAdmin(admin.ModelAdmin):
    """Which waiting orders may be accepted without a person (auto-accept itself is switched on
    and off on the dashboard). Every rule also needs every entry matched to a catalog product
    with enough Al-Style stock."""

    form = AutoAcceptRuleForm
    list_display = ("name", "is_active", "limit", "deliveries", "payments", "position")
    list_editable = ("is_active", "position")

    @admin.display(description=gettext_lazy("order total up to"), ordering="max_total")
    def limit(self, obj):
        return money(obj.max_total)

    @admin.display(description=gettext_lazy("delivery modes"))
    def deliveries(self, obj):
        return ", ".join(str(DeliveryMode(m).label) for m in obj.delivery_modes if m in DeliveryMode.values)

    @admin.display(description=gettext_lazy("payment modes"))
    def payments(self, obj):
        return ", ".join(str(PaymentMode(m).label) for m in obj.payment_modes if m in PaymentMode.values)


@admin.register(AutoAcceptSettings)
class AutoAcceptSettingsAdmin(admin.ModelAdmin):
    """One row: the daily cap; the switch itself is on the dashboard (and here, for who may)."""

    fields = ("enabled", "daily_cap", "enabled_at", "changed_by", "changed_at")
    readonly_fields = ("enabled", "enabled_at", "changed_by", "changed_at")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        settings_row = AutoAcceptSettings.load()
        return redirect(reverse("admin:orders_autoacceptsettings_change", args=[settings_row.pk]))

    def save_model(self, request, obj, form, change):
        obj.changed_by = request.user.get_username()
        obj.changed_at = timezone.now()
        super().save_model(request, obj, form, change)

    def get_urls(self):
        switch = self.admin_site.admin_view(self.switch_view)
        return [path("switch/", switch, name="orders_autoaccept_switch"), *super().get_urls()]

    def switch_view(self, request):
        """The dashboard's kill switch (POST on=1 / on=0)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm("orders.switch_autoaccept"):
            raise PermissionDenied
        turn_on = request.POST.get("on") == "1"
        try:
            autoaccept.switch(turn_on, request.user)
        except ValueError as exc:
            messages.error(request, str(exc))
        else:
            if turn_on:
                messages.success(
                    request, _("Auto-accept is on: orders that arrive from now on and match a rule are accepted.")
                )
            else:
                messages.warning(request, _("Auto-accept is off: every order waits for staff."))
        return redirect(safe_next(request, reverse("admin:index")))


@admin.register(AutoAcceptCheck)
class AutoAcceptCheckAdmin(ReadOnlyAdmin):
    list_display = ("checked_at", "order", "outcome", "rule_name", "reasons_text")
    list_filter = ("outcome", "checked_at")
    search_fields = ("=order__code", "rule_name")
    list_select_related = ("order",)

    @admin.display(description=gettext_lazy("reasons"))
    def reasons_text(self, obj):
        return "; ".join(obj.reasons) or "—"
