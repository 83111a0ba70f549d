"""Admin of the purchase list: the list page (filters, exports, marking bought) and the history
of purchases (unmarking). Reads come from `orders.purchase_list`, writes from
`orders.services.purchases`; this module only displays and calls them.

Permissions: `orders.view_purchase_list` sees the list and its exports (customer names only
with `orders.view_customer_data`); `orders.mark_purchased` marks and unmarks;
`orders.view_purchase` sees the history.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kaspisync.admin import ReadOnlyAdmin, safe_next
from kaspisync.display import money

from . import purchase_export
from . import purchase_list as selectors
from .forms import MarkPurchasedForm, PurchaseFilterForm, UnmarkPurchaseForm
from .models import Purchase, PurchaseList
from .services.purchases import PurchaseError, mark_article_purchased, mark_entry_purchased, unmark_purchase

VIEW_LIST_PERMISSION = "orders.view_purchase_list"
MARK_PERMISSION = "orders.mark_purchased"
CUSTOMER_PERMISSION = "orders.view_customer_data"
PAGE_VAR = "p"  # as Django's admin lists


def filters_from(request) -> tuple[PurchaseFilterForm, selectors.Filters]:
    """The filter form bound to the query string, and the filters it means (invalid: none)."""
    requested = request.GET.get("warehouse")
    form = PurchaseFilterForm(request.GET or None, warehouses=[requested] if requested else [])
    if not form.is_bound or not form.is_valid():
        return form, selectors.Filters()
    data = form.cleaned_data
    return form, selectors.Filters(
        until=data["until"],
        warehouse=data["warehouse"] or None,
        delivery_mode=data["delivery_mode"],
        warnings_only=data["warnings_only"],
    )


def warning_html(warning: selectors.Warning) -> str:
    """The warning's words with each order it names turned into a link to that order."""
    html = str(escape(warning.text))
    for pk, code in warning.orders:
        link = format_html('<a href="{}">{}</a>', reverse("admin:orders_order_change", args=[pk]), code)
        html = html.replace(str(escape(code)), link, 1)
    return mark_safe(html)  # noqa: S308  (the text is escaped above, the links by format_html)


def _page_links(query, page) -> list[tuple[int, str]]:
    """(page number, its query string keeping the filters) of every page, when there are several."""
    links = []
    if page.paginator.num_pages > 1:
        for number in page.paginator.page_range:
            query[PAGE_VAR] = str(number)
            links.append((number, query.urlencode()))
        query.pop(PAGE_VAR)
    return links


def _back(request) -> str:
    return safe_next(request, reverse("admin:orders_purchaselist_changelist"))


@admin.register(PurchaseList)
class PurchaseListAdmin(ReadOnlyAdmin):
    """Not a model list: the page shows the purchase list (needs aggregated per article), a page
    of `lines_per_page` lines at a time (totals and exports cover the whole filtered list)."""

    lines_per_page = 100

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(VIEW_LIST_PERMISSION)

    def get_urls(self):
        def view(func):
            return self.admin_site.admin_view(func)

        return [
            path("", view(self.changelist_view), name="orders_purchaselist_changelist"),
            path("mark/", view(self.mark_view), name="orders_purchaselist_mark"),
            path("export/<str:fmt>/", view(self.export_view), name="orders_purchaselist_export"),
        ]

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        with_customer = request.user.has_perm(CUSTOMER_PERMISSION)
        form, filters = filters_from(request)
        result = selectors.purchase_list(filters, with_customer=with_customer)
        form.set_warehouses([*result.warehouses, *([filters.warehouse] if filters.warehouse else [])])
        page = Paginator(result.lines, self.lines_per_page).get_page(request.GET.get(PAGE_VAR))
        for line in page.object_list:
            line.warnings_html = [warning_html(w) for w in line.warnings]
        query = request.GET.copy()
        query.pop(PAGE_VAR, None)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Purchase list"),
            "result": result,
            "page": page,
            "page_links": _page_links(query, page),
            "form": form,
            "query": query.urlencode(),
            "can_mark": request.user.has_perm(MARK_PERMISSION),
            "can_see_customer": with_customer,
            "not_stated": selectors.NOT_STATED,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/orders/purchase/list.html", context)

    def mark_view(self, request):
        if not (self.has_view_permission(request) and request.user.has_perm(MARK_PERMISSION)):
            raise PermissionDenied
        source = request.POST if request.method == "POST" else request.GET
        article, entry_id = source.get("article"), source.get("entry")
        if not (article or entry_id) or not (article or "0").isdigit() or not (entry_id or "0").isdigit():
            raise Http404
        result = selectors.purchase_list(with_customer=request.user.has_perm(CUSTOMER_PERMISSION))
        line, need = self._find(result, int(article) if article else None, int(entry_id) if entry_id else None)
        if line is None:
            messages.warning(request, _("Nothing is left to buy there: the list has changed meanwhile."))
            return redirect(_back(request))
        needed = need.needed if need else line.needed
        initial = {"quantity": needed, "unit_price": line.dealer_price}
        form = MarkPurchasedForm(request.POST if request.method == "POST" else None, initial=initial)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                if need is not None:
                    done = mark_entry_purchased(need.entry_id, user=request.user, **data)
                else:
                    done = mark_article_purchased(line.article, user=request.user, **data)
            except PurchaseError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(
                    request,
                    _("Marked bought: %(units)s × article %(article)s (document %(document)s).")
                    % {"units": done.units, "article": line.article, "document": data["document"]},
                )
                for order in done.bought_orders:
                    messages.info(request, _("Order %(code)s: goods bought.") % {"code": order.code})
                return redirect(_back(request))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Mark bought: article %(article)s") % {"article": line.article},
            "line": line,
            "need": need,
            "orders": [need] if need else line.orders,
            "form": form,
            "next": _back(request),
            "can_see_customer": request.user.has_perm(CUSTOMER_PERMISSION),
        }
        return TemplateResponse(request, "admin/orders/purchase/mark.html", context)

    @staticmethod
    def _find(result, article, entry_id):
        for line in result.lines:
            if entry_id is not None:
                need = next((o for o in line.orders if o.entry_id == entry_id), None)
                if need is not None:
                    return line, need
            elif line.article == article:
                return line, None
        return None, None

    def export_view(self, request, fmt):
        if not self.has_view_permission(request):
            raise PermissionDenied
        writers = {
            "csv": (purchase_export.to_csv, "text/csv; charset=utf-8"),
            "xlsx": (purchase_export.to_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        }
        if fmt not in writers:
            raise Http404
        _form, filters = filters_from(request)
        write, content_type = writers[fmt]
        response = HttpResponse(write(selectors.purchase_list(filters)), content_type=content_type)
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="alstyle-purchase-{stamp}.{fmt}"'
        return response


@admin.register(Purchase)
class PurchaseAdmin(admin.ModelAdmin):
    """The history of marks: read-only; a mark still in force can be unmarked (confirmed, with a reason)."""

    list_display = (
        "recorded_at",
        "order_link",
        "article",
        "quantity",
        "price_paid",
        "document",
        "recorded_by",
        "state",
        "unmarked_at",
        "unmarked_by",
        "unmark_reason",
    )
    list_filter = (("unmarked_at", admin.EmptyFieldListFilter), "recorded_at")
    search_fields = ("=article", "document", "=order__code")
    list_select_related = ("order", "recorded_by", "unmarked_by")
    date_hierarchy = "recorded_at"
    readonly_fields = [
        "order",
        "entry",
        "product",
        "article",
        "quantity",
        "price_paid",
        "document",
        "recorded_at",
        "recorded_by",
        "unmarked_at",
        "unmarked_by",
        "unmark_reason",
    ]

    def has_add_permission(self, request):
        return False  # marked from the purchase list

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=gettext_lazy("order"), ordering="order__code")
    def order_link(self, obj):
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:orders_order_change", args=[obj.order_id]), obj.order.code
        )

    @admin.display(description=gettext_lazy("price paid per unit, ₸"), ordering="unit_price")
    def price_paid(self, obj):
        return money(obj.unit_price)

    @admin.display(description=gettext_lazy("state"))
    def state(self, obj):
        return _("in force") if obj.is_active else _("unmarked")

    @admin.display(description="")
    def unmark_link(self, obj):
        if not obj.is_active:
            return ""
        return format_html('<a href="{}">{}</a>', reverse("admin:orders_purchase_unmark", args=[obj.pk]), _("unmark…"))

    def get_list_display(self, request):
        extra = ("unmark_link",) if request.user.has_perm(MARK_PERMISSION) else ()
        return (*self.list_display, *extra)

    def get_urls(self):
        return [
            path(
                "<int:pk>/unmark/",
                self.admin_site.admin_view(self.unmark_view),
                name="orders_purchase_unmark",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "can_mark": request.user.has_perm(MARK_PERMISSION)}
        return super().change_view(request, object_id, form_url, extra_context)

    def unmark_view(self, request, pk):
        if not request.user.has_perm(MARK_PERMISSION):
            raise PermissionDenied
        purchase = Purchase.objects.select_related("order", "recorded_by").filter(pk=pk).first()
        if purchase is None:
            raise Http404
        form = UnmarkPurchaseForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                unmark_purchase(purchase.pk, user=request.user, reason=form.cleaned_data["reason"])
            except PurchaseError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(
                    request,
                    _("Purchase unmarked: the units of order %(code)s are needed again.")
                    % {"code": purchase.order.code},
                )
                return redirect(
                    _back(request) if request.POST.get("next") else reverse("admin:orders_purchase_changelist")
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Unmark a purchase"),
            "purchase": purchase,
            "form": form,
            "next": request.GET.get("next", ""),
        }
        return TemplateResponse(request, "admin/orders/purchase/unmark.html", context)
