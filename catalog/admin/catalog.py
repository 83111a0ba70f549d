"""Catalog admin: the supplier's data as imported (read-only) and the import runs.

Supplier fields are never edited here (the next import would overwrite them); the pricing
columns, filters and actions come from `ProductPricingMixin` (catalog/admin/pricing.py).
"""

from django.contrib import admin
from django.db.models import Exists, OuterRef, Q
from django.utils import formats
from django.utils.encoding import iri_to_uri
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from kaspisync.admin import (
    CappedSearchCount,
    QuickActionCheckbox,
    QuickRows,
    ReadOnlyAdmin,
    ReadOnlyInline,
    RunAdmin,
    RunNowButton,
    RunNowMixin,
)
from kaspisync.display import facts, money
from kaspisync.models import RunStatus

from .. import normalize, reservations
from ..models import Brand, Category, ImportKind, ImportRun, Product, ProductChange
from ..models.catalog import warehouse_name
from ..services.importing import LOCK_NAME, SUPPLIER_FIELDS, queue_import
from .pricing import ProductPricingMixin, unsellable_text

RUN_IMPORT_PERMISSION = "catalog.run_import"


@admin.register(Category)
class CategoryAdmin(ReadOnlyAdmin):
    list_display = ("indented_name", "id", "level", "elements", "is_active")
    list_filter = ("is_active", "level")
    search_fields = ("name",)
    ordering = ("left",)
    list_per_page = 200

    @admin.display(description=pgettext_lazy("object name", "name"), ordering="left")
    def indented_name(self, obj):
        return format_html('<span style="padding-left: {}em">{}</span>', 1.5 * max(obj.level - 1, 0), obj.name)


@admin.register(Brand)
class BrandAdmin(ReadOnlyAdmin):
    list_display = ("name", "product_count", "alstyle_guid")
    search_fields = ("name",)


class InStockFilter(admin.SimpleListFilter):
    title = gettext_lazy("in stock")
    parameter_name = "in_stock"

    def lookups(self, request, model_admin):
        return [("yes", _("in stock")), ("no", _("out of stock"))]

    def queryset(self, request, queryset):
        in_stock = Q(stock__gt=0)
        if self.value() == "yes":
            return queryset.filter(in_stock)
        if self.value() == "no":
            return queryset.exclude(in_stock)
        return queryset


class WithProductsFilter(admin.RelatedFieldListFilter):
    """The categories (brands) that have products, as Django's RelatedOnlyFieldListFilter lists
    them, but asked per category through the product table's index (EXISTS) rather than by
    reading every product (SELECT DISTINCT) on each view of the list; and their hundreds of
    links written at once by format_html_join (Django renders a template and re-encodes the
    whole query string per link: a third of the product list's time)."""

    template = "admin/catalog/product/links_filter.html"
    label_field = "name"  # what the category's (brand's) str() shows, read without making objects

    def field_choices(self, field, request, model_admin):
        related = field.related_model
        has_products = Exists(Product.objects.filter(**{field.name: OuterRef("pk")}))
        ordering = self.field_admin_ordering(field, request, model_admin) or related._meta.ordering
        rows = related._default_manager.filter(has_products).order_by(*ordering)
        return list(rows.values_list("pk", self.label_field))

    def choices(self, changelist):
        if changelist.add_facets:  # counts per choice: Django's own way
            yield from super().choices(changelist)
            return
        base = changelist.get_query_string(remove=[self.lookup_kwarg, self.lookup_kwarg_isnull])
        yield {
            "selected": self.lookup_val is None and not self.lookup_val_isnull,
            "query_string": base,
            "display": _("All"),
        }
        # the links differ only by the key (a number, which neither iri_to_uri nor escape change)
        prefix = escape(iri_to_uri(f"{base}{'&' if base != '?' else ''}{self.lookup_kwarg}="))
        chosen = set(self.lookup_val or ())
        selected = ' class="selected"'
        links = "".join(
            f'<li{selected if str(pk) in chosen else ""}><a href="{prefix}{pk if isinstance(pk, int) else escape(iri_to_uri(str(pk)))}">'
            f"{escape(name)}</a></li>"
            for pk, name in self.lookup_choices
        )
        yield {"html": mark_safe(links)}  # noqa: S308  (every value escaped above)
        if self.include_empty_choice:
            yield {
                "selected": bool(self.lookup_val_isnull),
                "query_string": changelist.get_query_string({self.lookup_kwarg_isnull: "True"}, [self.lookup_kwarg]),
                "display": self.empty_value_display,
            }


class ProductChangeInline(ReadOnlyInline, admin.TabularInline):
    model = ProductChange
    fields = ("changed_at", "field", "old_value", "new_value", "run")
    readonly_fields = fields
    ordering = ("-changed_at", "-id")
    verbose_name_plural = gettext_lazy("supplier value history")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("run")  # the run column of every row


@admin.register(Product)
class ProductAdmin(QuickRows, QuickActionCheckbox, CappedSearchCount, ProductPricingMixin, admin.ModelAdmin):
    """The list shows what a person needs to decide (name with article, dealer price, sale price,
    margin, stock, status icons; the price explanation on hover); the page groups every field in
    words. Nothing supplier-made is editable."""

    list_display = ("product_column", "dealer_price_column", "stock_column")
    list_display_links = ("product_column",)
    list_filter = (
        "is_active",
        InStockFilter,
        "unsellable_reason",
        ("category", WithProductsFilter),
        ("brand", WithProductsFilter),
    )
    search_fields = ("=article", "name", "article_pn", "barcode")
    list_select_related = ("brand",)  # the product column names the brand
    fieldsets = (
        (None, {"fields": ("name", "full_name", "article", "article_pn", "barcode", "brand", "category")}),
        (
            gettext_lazy("Prices"),
            {
                "fields": (
                    "dealer_price_column",
                    "retail_price_column",
                    "rrp_column",
                    "sale_price_display",
                    "manual_price",
                    "margin_column",
                    "price_explanation",
                    "winning_rule",
                )
            },
        ),
        (
            gettext_lazy("Stock and sale"),
            {
                "fields": (
                    "stock_text",
                    "stock_for_sale",
                    "markdown_text",
                    "sellable_text",
                    "is_active",
                    "feed_excluded",
                    "publish_min_stock",
                )
            },
        ),
        (
            gettext_lazy("Description and images"),
            {"fields": ("supplier_images", "description", "weight", "warranty", "url", "is_new")},
        ),
        (gettext_lazy("History"), {"fields": ("first_seen_at", "changed_at")}),
    )
    readonly_fields = (
        ("article",)
        + SUPPLIER_FIELDS
        + (
            "supplier_images",
            "is_active",
            "first_seen_at",
            "changed_at",
            "dealer_price_column",
            "retail_price_column",
            "rrp_column",
            "stock_text",
            "stock_for_sale",  # Al-Style stock, reserved for orders, offered per Kaspi store
            "markdown_text",
            "sellable_text",
        )
    )
    inlines = [ProductChangeInline]
    show_full_result_count = False  # no COUNT(*) over the whole catalog on every page

    def get_list_display(self, request):
        # product, dealer price, then the mixin's sale price, margin and status, then stock
        columns = list(self.list_display)
        return tuple(columns[:2] + list(self.pricing_list_display) + columns[2:])

    def has_add_permission(self, request):
        return False  # products come from the supplier

    def has_delete_permission(self, request, obj=None):
        return False  # never deleted: a product the supplier drops becomes inactive

    @admin.display(description=gettext_lazy("product"), ordering="name")
    def product_column(self, obj):
        details = [_("art. %(article)s") % {"article": obj.article}]
        if obj.brand:
            details.append(obj.brand.name)
        return format_html('{}<div class="ks-muted">{}</div>', obj.name, " · ".join(details))

    @admin.display(description=gettext_lazy("dealer price"), ordering="dealer_price")
    def dealer_price_column(self, obj):
        return money(obj.dealer_price)

    @admin.display(description=gettext_lazy("retail price"))
    def retail_price_column(self, obj):
        return money(obj.retail_price)

    @admin.display(description=gettext_lazy("RRP"))
    def rrp_column(self, obj):
        return money(obj.rrp)

    @admin.display(description=gettext_lazy("stock"), ordering="stock")
    def stock_column(self, obj):
        return obj.stock_total if obj.warehouse_stock else obj.stock_display

    @admin.display(description=gettext_lazy("stock"))
    def stock_text(self, obj):
        breakdown = obj.stock_breakdown()
        if not breakdown:
            return _("%(stock)s units (the supplier does not say where)") % {"stock": obj.stock_display}
        parts = format_html_join(", ", "{} — {}", breakdown)
        return format_html("{}: {}", _("%(total)s units in all") % {"total": obj.stock_total}, parts)

    @admin.display(description=gettext_lazy("markdown"))
    def markdown_text(self, obj):
        if not obj.markdown_stock:
            return _("none")
        return _("%(count)s units at %(price)s") % {"count": obj.markdown_stock, "price": money(obj.markdown_price)}

    @admin.display(description=gettext_lazy("can be sold"))
    def sellable_text(self, obj):
        return _("yes") if obj.is_sellable else unsellable_text(obj)

    @admin.display(description=gettext_lazy("stock for sale on Kaspi"))
    def stock_for_sale(self, obj):
        """Al-Style's stock, what Kaspi orders hold of it, and what each store offers."""
        view = reservations.stock_view(obj)
        not_stated, unavailable = _("warehouse not stated"), _("unavailable")

        def counts(by_warehouse: dict) -> str:
            """ " (Almaty, Panfilov street 5, Karaganda 2)": warehouses in words, the most first."""
            items = sorted(by_warehouse.items(), key=lambda item: (-item[1], item[0]))
            text = ", ".join(f"{warehouse_name(code) if code else not_stated} {n}" for code, n in items)
            return f" ({text})" if text else ""

        offered = ", ".join(f"{store}: {n or unavailable}" for store, n in view.offered.items())
        rows = [
            (_("Al-Style stock"), f"{obj.stock_display}{counts(view.warehouses)}"),
            (_("Reserved for orders"), f"{view.reserved.total}{counts(view.reserved.by_warehouse)}"),
            (_("Offered"), offered or "—"),
        ]
        return format_html_join(mark_safe("<br>"), "{}: {}", rows)

    @admin.display(description=gettext_lazy("images"))
    def supplier_images(self, obj):
        links = format_html_join(
            mark_safe("<br>"), '<a href="{}" target="_blank" rel="noopener">{}</a>', ((url, url) for url in obj.images)
        )
        return links or "—"


@admin.register(ImportRun)
class ImportRunAdmin(RunNowMixin, RunAdmin):
    run_now_buttons = (
        RunNowButton(gettext_lazy("Import now"), "catalog_importrun_import_now", "import-now/", {"quick": False}),
        RunNowButton(gettext_lazy("Quick refresh now"), "catalog_importrun_quick_now", "quick-now/", {"quick": True}),
    )
    run_now_permission = RUN_IMPORT_PERMISSION
    run_now_lock = LOCK_NAME
    run_now_queued = gettext_lazy("The import was queued; its run appears in this list.")
    run_now_busy = gettext_lazy("An import is running now; this one will be recorded as skipped.")
    list_display = (
        "started_at",
        "kind",
        "status",
        "trigger",
        "created",
        "updated",
        "deactivated",  # unchanged, skipped and requests made: on the run's page (the list fits 1440 px)
        "value_problems_total",
        "duration_text",
        "progress_text",
        "short_error",
    )
    list_filter = ("status", "kind", "trigger")
    readonly_fields = (
        "kind",
        "status",
        "progress_text",
        "trigger",
        "triggered_by",
        "started_at",
        "finished_at",
        "duration_text",
        "created",
        "updated",
        "unchanged",
        "deactivated",
        "records",
        "deactivation",
        "skipped_text",
        "value_problems",
        "requests_made",
        "stats_text",
        "error",
    )
    fields = readonly_fields
    date_hierarchy = "started_at"
    change_list_template = "admin/catalog/importrun/change_list.html"

    @admin.display(description=gettext_lazy("skipped"))
    def skipped_text(self, obj):
        return facts(obj.skipped)

    @admin.display(description=gettext_lazy("unusable supplier values"))
    def value_problems_total(self, obj):
        return obj.value_problem_count

    @admin.display(description=gettext_lazy("error"))
    def short_error(self, obj):
        return obj.error[:120]

    # --- the run's summary, in words ------------------------------------------------------------------
    SHOWN_ON_THEIR_OWN = ("records", "deactivation_skipped", "value_problems")

    @admin.display(description=gettext_lazy("statistics"))
    def stats_text(self, obj):
        """Every other counter (older runs kept theirs under other names)."""
        return facts({k: v for k, v in (obj.stats or {}).items() if k not in self.SHOWN_ON_THEIR_OWN})

    @admin.display(description=gettext_lazy("records read"))
    def records(self, obj):
        return obj.records_text() or "—"

    @admin.display(description=gettext_lazy("deactivation of dropped products"))
    def deactivation(self, obj):
        if obj.stats.get("deactivation_skipped"):
            return _("not done: %(reason)s") % {"reason": obj.stats["deactivation_skipped"]}
        if obj.kind == ImportKind.FULL and obj.status == RunStatus.SUCCESS:
            return _("done: every page was read and the supplier's total is explained")
        return "—"

    @admin.display(description=gettext_lazy("unusable supplier values"))
    def value_problems(self, obj):
        rows = obj.value_problem_rows()
        if not rows:
            return "—"
        head = format_html(
            "<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            _("field"),
            _("problem"),
            _("products"),
            _("for example (article: value as sent)"),
        )
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    row["field"],
                    row["problem"],
                    row["count"],
                    "; ".join(f"{article}: «{value}»" for article, value in row["examples"]),
                )
                for row in rows
            ),
        )
        note = _(
            "Unreadable values are stored as no stock or no price; a price or stock out of bounds (below zero, "
            "a price above %(price)s ₸, a stock above %(stock)s) makes its product unsellable."
        ) % {
            "price": formats.number_format(normalize.MAX_PRICE, force_grouping=True),
            "stock": formats.number_format(normalize.MAX_STOCK, force_grouping=True),
        }
        return format_html("<table>{}{}</table><p>{}</p>", head, body, note)

    def run_now(self, request, quick: bool):
        queue_import(quick=quick, triggered_by=request.user.get_username())
