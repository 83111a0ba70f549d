"""What cards add to catalog's product admin, from CardsConfig.ready() (catalog does not know
cards exist): the card-status filter and column, the "Create Kaspi cards" action (for users with
cards.upload_cards) and, on the product page, its card (status, reasons in words) and history."""

from django.contrib import admin
from django.db.models import Q
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from kaspisync.admin import ReadOnlyInline

from .models import CardOutcome, CardStatus, ProductCard
from .reasons import describe_all

UPLOAD_PERMISSION = "cards.upload_cards"


class CardStatusFilter(admin.SimpleListFilter):
    title = _("Kaspi card")
    parameter_name = "card_status"

    def lookups(self, request, model_admin):
        return CardStatus.choices

    def queryset(self, request, queryset):
        value = self.value()
        if value == CardStatus.NO_MAPPING:
            return queryset.filter(Q(kaspi_card__isnull=True) | Q(kaspi_card__status=CardStatus.NO_MAPPING))
        if value in CardStatus.values:
            return queryset.filter(kaspi_card__status=value)
        return queryset


@admin.display(description=_("Kaspi card"))
def card_status(product):
    try:
        return CardStatus(product.kaspi_card.status).label
    except ValueError:  # a status this code does not know (yet): as stored
        return product.kaspi_card.status
    except ProductCard.DoesNotExist:
        return CardStatus.NO_MAPPING.label


@admin.action(description=_("Create Kaspi cards"), permissions=["upload_cards"])
def create_kaspi_cards(modeladmin, request, queryset):
    from .admin import queue_upload

    queue_upload(request, product_ids=list(queryset.values_list("pk", flat=True)))


@admin.action(description=_("Send Kaspi cards again (also created or refused ones)"), permissions=["upload_cards"])
def resend_kaspi_cards(modeladmin, request, queryset):
    from .admin import queue_upload

    queue_upload(request, product_ids=list(queryset.values_list("pk", flat=True)), resend=True)


class ProductCardInline(ReadOnlyInline, admin.StackedInline):
    model = ProductCard
    fields = ("status", "reasons_text", "sku", "kaspi_category", "upload_state", "sent_at", "message", "checked_at")
    readonly_fields = fields
    verbose_name_plural = _("Kaspi card")

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("catalog.view_product")  # part of the product page

    @admin.display(description=_("why not ready"))
    def reasons_text(self, obj):
        reasons = describe_all(obj.reasons)
        return format_html_join("", "<div>• {}</div>", ((r,) for r in reasons)) if reasons else "—"


class CardOutcomeInline(ReadOnlyInline, admin.TabularInline):
    model = CardOutcome
    fields = ("at", "outcome", "sku", "message", "run_link")
    readonly_fields = fields
    ordering = ("-at", "-id")
    verbose_name_plural = _("Kaspi card history")

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("catalog.view_product")  # part of the product page

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("batch")

    @admin.display(description=_("upload"))
    def run_link(self, obj):
        from django.urls import reverse

        return format_html(
            '<a href="{}">#{}</a>', reverse("admin:cards_uploadrun_change", args=[obj.batch.run_id]), obj.batch.run_id
        )


def contribute_to_product_admin(site=None) -> None:
    """Extend the registered product admin (idempotent)."""
    from catalog.models import Product

    site = site or admin.site
    product_admin = site._registry.get(Product)
    if product_admin is None or getattr(product_admin, "_cards_contributed", False):
        return
    product_admin.list_display = (*product_admin.list_display, card_status)
    product_admin.list_filter = (*product_admin.list_filter, CardStatusFilter)
    select = product_admin.list_select_related
    product_admin.list_select_related = (*(select if isinstance(select, (list, tuple)) else ()), "kaspi_card")
    product_admin.actions = [*(product_admin.actions or []), create_kaspi_cards, resend_kaspi_cards]
    product_admin.inlines = [*product_admin.inlines, ProductCardInline, CardOutcomeInline]
    product_admin.has_upload_cards_permission = lambda request: request.user.has_perm(UPLOAD_PERMISSION)
    product_admin._cards_contributed = True
