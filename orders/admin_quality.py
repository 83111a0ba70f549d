"""The Kaspi quality page in the admin and the order list's filter to the orders behind each of
its numbers. Figures come from orders/quality.py; nothing here computes them. The page shows
no customer data (order numbers only), so whoever may view orders sees it."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from kaspisync.admin import ReadOnlyAdmin

from . import quality
from .models import Order, QualityReport

VIEW_PERMISSION = "orders.view_order"


class QualityFilter(admin.SimpleListFilter):
    """`?quality=<kind>` on the order list: the orders behind one figure of the quality page."""

    title = _("quality figure")
    parameter_name = "quality"

    def lookups(self, request, model_admin):
        return [(kind, label) for kind, label in quality.QUALITY_FILTERS.items()]

    def queryset(self, request, queryset):
        condition = quality.orders_behind(self.value()) if self.value() else None
        return queryset.filter(condition) if condition is not None else queryset


def quality_preview(object_id) -> quality.CancelPreview | None:
    """The cancel page's share now and after this cancellation (None for an unknown order)."""
    order = Order.objects.filter(pk=object_id).first() if str(object_id).isdigit() else None
    return quality.cancel_preview(order) if order is not None else None


@admin.register(QualityReport)
class QualityReportAdmin(ReadOnlyAdmin):
    """One read-only page (the proxy's list): shares, reasons, who cancelled, returns, acceptance
    times, months, with links to the filtered order list."""

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(VIEW_PERMISSION)

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_changelist"
        return [path("", self.admin_site.admin_view(self.changelist_view), name=name)]

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": capfirst(self.opts.verbose_name_plural),
            "page": quality.page(),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/orders/quality/page.html", context)
