"""Pricing admin.

- `ProductPricingMixin` adds the pricing columns, filters, actions, the price history and the
  derived (read-only) fields to the product admin (ProductAdmin in catalog.py inherits it).
- Rules, commissions and exclusions are edited with a "Preview" button: the service measures the
  change by making it in a transaction it rolls back (`pricing.preview_save` / `preview_delete`,
  the same plan as the real recompute); the admin shows the result, and staff confirm, which saves
  for real, audits the change and queues the recompute of the products it touches.
- Audit, price history, overrides and recompute runs are read-only lists.
"""

from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Count
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from kaspisync import display
from kaspisync.admin import ReadOnlyAdmin, RunAdmin
from kaspisync.display import money, percent, when

from .. import selectors
from ..models import (
    CommissionRate,
    FeedExclusion,
    PriceBand,
    PriceOverride,
    PriceRule,
    PricingAudit,
    PricingRun,
    RuleScope,
    SalePriceChange,
)
from ..services import pricing


def changes_text(entry: PricingAudit) -> str:
    """ "markup, %: 10 → 12; bands: … → …" with the fields' own names."""
    try:
        model = apps.get_model("catalog", entry.object_type)
    except LookupError:
        model = None
    extra = {"bands": _("bands"), "products": _("products")}

    def label(name):
        try:
            return model._meta.get_field(name).verbose_name
        except (AttributeError, FieldDoesNotExist):  # unknown type, or not a field (bands, products)
            return extra.get(name, name)

    def value(name, raw):
        """A choice reads as its label ("up" -> "вверх"), the rest in words (yes/no, —)."""
        try:
            choices = dict(model._meta.get_field(name).flatchoices)
        except (AttributeError, FieldDoesNotExist):
            choices = {}
        hashable = isinstance(raw, str | int | float) and not isinstance(raw, bool)
        return str(choices[raw]) if hashable and raw in choices else display.fact_value(raw)

    return "; ".join(
        f"{label(name)}: {value(name, old)} → {value(name, new)}" for name, (old, new) in entry.changes.items()
    )


def object_type_text(object_type: str) -> str:
    """ "pricerule" -> "правило ценообразования"."""
    try:
        return str(apps.get_model("catalog", object_type)._meta.verbose_name)
    except LookupError:
        return object_type


def price_change_text(change: SalePriceChange) -> str:
    """ "777 335 ₸ → 1 ₸ (−100,0 %)"; a first price reads "new: …", a removed one "removed"."""
    if change.old_price is None:
        return _("first price: %(price)s") % {"price": money(change.new_price)}
    if change.new_price is None:
        return _("no price any more (was %(price)s)") % {"price": money(change.old_price)}
    return display.change(change.old_price, change.new_price)


# --- read-only helpers ------------------------------------------------------------------------
class SalePriceChangeInline(admin.TabularInline):
    model = SalePriceChange
    fields = ("changed_at", "change_text", "cause", "user", "run")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    verbose_name_plural = _("sale price history")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user", "run")

    @admin.display(description=_("price"))
    def change_text(self, change):
        return price_change_text(change)


# --- the product list -------------------------------------------------------------------------
class ManualOverrideFilter(admin.SimpleListFilter):
    title = _("manual price")
    parameter_name = "manual_price"

    def lookups(self, request, model_admin):
        return (("yes", _("with a manual price")), ("no", _("without")))

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(price_override__isnull=self.value() == "no")
        return queryset


class OverrideForm(forms.Form):
    price = forms.IntegerField(label=_("Manual price, ₸"), min_value=1, max_value=99_999_999)
    expires_at = forms.DateTimeField(
        label=_("Until (empty: no end)"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    def clean_expires_at(self):
        value = self.cleaned_data["expires_at"]
        if value is not None and value <= timezone.now():
            raise forms.ValidationError(_("This time has already passed: the manual price would never apply."))
        return value


@admin.action(description=_("Set a manual price"), permissions=["change"])
def set_override(modeladmin, request, queryset):
    """Three steps: the price; its preview (new price and margin per product, a warning below the
    dealer price or the margin floor, which must be confirmed explicitly); the save."""
    form = OverrideForm(request.POST if "apply" in request.POST else None)
    preview = None
    if form.is_valid():
        ids = list(queryset.values_list("pk", flat=True))
        price, expires_at = form.cleaned_data["price"], form.cleaned_data["expires_at"]
        preview = pricing.preview_override(ids, price, user=request.user, expires_at=expires_at)
        accepted = not preview.needs_confirmation or "accept_loss" in request.POST
        if "confirmed" in request.POST and accepted:
            run = pricing.set_override(ids, price, user=request.user, expires_at=expires_at)
            text = ngettext(
                "Manual price %(price)s set for %(count)s product.",
                "Manual price %(price)s set for %(count)s products.",
                len(ids),
            )
            _done(modeladmin, request, text % {"price": money(price), "count": display.group(len(ids))}, run)
            if preview.unsellable:
                modeladmin.message_user(
                    request,
                    _(
                        "%(count)s of the selected products cannot be sold (no dealer price, or the supplier does "
                        "not sell it): they stay without a price until the supplier sells them again."
                    )
                    % {"count": preview.unsellable},
                    messages.WARNING,
                )
            return None
        if "confirmed" in request.POST:
            form.add_error(None, _("Tick the box to confirm selling below the dealer price or the margin floor."))
    return TemplateResponse(
        request,
        "admin/catalog/product/set_override.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": _("Set a manual price"),
            "form": form,
            "preview": preview,
            "queryset": queryset,
            "opts": modeladmin.model._meta,
            "action": "set_override",
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        },
    )


def _done(modeladmin, request, text: str, run) -> None:
    """What the action did, to how many products, and how many sale prices moved."""
    changed = run.stats.get("price_changes", run.changed)
    prices = ngettext("%(changed)s sale price changed.", "%(changed)s sale prices changed.", changed)
    modeladmin.message_user(request, f"{text} {prices % {'changed': display.group(changed)}}")


@admin.action(description=_("Remove the manual price"), permissions=["change"])
def clear_override(modeladmin, request, queryset):
    ids = list(queryset.values_list("pk", flat=True))
    run = pricing.clear_override(ids, user=request.user)
    text = ngettext(
        "Manual price removed from %(count)s product.", "Manual price removed from %(count)s products.", len(ids)
    )
    _done(modeladmin, request, text % {"count": display.group(len(ids))}, run)


@admin.action(description=_("Exclude from the feed"), permissions=["change"])
def exclude_from_feed(modeladmin, request, queryset):
    ids = list(queryset.values_list("pk", flat=True))
    run = pricing.exclude_products(ids, user=request.user)
    text = ngettext(
        "%(count)s product excluded from the price list.", "%(count)s products excluded from the price list.", len(ids)
    )
    _done(modeladmin, request, text % {"count": display.group(len(ids))}, run)


@admin.action(description=_("Include in the feed"), permissions=["change"])
def include_in_feed(modeladmin, request, queryset):
    ids = list(queryset.values_list("pk", flat=True))
    run = pricing.include_products(ids, user=request.user)
    text = ngettext(
        "%(count)s product included in the price list again.",
        "%(count)s products included in the price list again.",
        len(ids),
    )
    _done(modeladmin, request, text % {"count": display.group(len(ids))}, run)


class ProductPricingMixin:
    """Pricing columns, filters, actions, history and derived fields of the product admin."""

    pricing_list_display: tuple = ("sale_price_display", "margin_column", "status_column")
    pricing_list_filter: tuple = ("below_margin_floor", ManualOverrideFilter, "feed_excluded")
    pricing_actions: tuple = (set_override, clear_override, exclude_from_feed, include_in_feed)
    pricing_readonly_fields: tuple = (
        "sale_price",
        "price_explanation",
        "winning_rule",
        "net_margin",
        "net_margin_percent",
        "below_margin_floor",
        "feed_excluded",
        "publish_min_stock",
        "manual_price",
        "margin_column",
        "sale_price_display",
    )

    pricing_list_select_related: tuple = ("price_override",)  # the status column's manual-price icon

    def get_list_select_related(self, request):
        """The list's joins: the admin's own and the pricing columns'. (Not a select_related() in
        get_queryset: Django's changelist then ignores list_select_related, and every other
        related column costs a query per row.)"""
        own = super().get_list_select_related(request)
        if own is True:
            return True
        return tuple(dict.fromkeys((*(own or ()), *self.pricing_list_select_related)))

    def get_list_filter(self, request):
        return tuple(dict.fromkeys((*super().get_list_filter(request), *self.pricing_list_filter)))

    def get_actions(self, request):
        actions = super().get_actions(request)
        mine = [(func, func.__name__, func.short_description) for func in self.pricing_actions]
        for action in self._filter_actions_by_permissions(request, mine):
            actions.setdefault(action[1], action)
        return actions

    def get_readonly_fields(self, request, obj=None):
        return tuple(dict.fromkeys((*super().get_readonly_fields(request, obj), *self.pricing_readonly_fields)))

    def get_inlines(self, request, obj):
        return [*super().get_inlines(request, obj), SalePriceChangeInline]

    @admin.display(description=_("sale price"), ordering="sale_price")
    def sale_price_display(self, product):
        """The price, with how it was made on hover (and in full on the product page)."""
        return format_html('<span title="{}">{}</span>', product.price_explanation, money(product.sale_price))

    @admin.display(description=_("net margin"), ordering="net_margin_percent")
    def margin_column(self, product):
        """ "12 345 ₸ · 8,2 %" (after commission), red when below the margin floor."""
        if product.net_margin is None:
            return "—"
        text = f"{money(product.net_margin)} · {percent(product.net_margin_percent)}"
        if product.below_margin_floor or product.net_margin < 0:
            return format_html('<span class="ks-loss" title="{}">{}</span>', _("below the margin floor"), text)
        return text

    @admin.display(description=_("status"))
    def status_column(self, product):
        """Icons with their meaning on hover (and for screen readers); plain symbols every font
        has (emoji need an emoji font). Only the icons shown are put in words."""
        shown = []
        if not product.is_active:
            shown.append(("✕", gettext("the supplier no longer sells it")))
        if not product.is_sellable:
            shown.append(("⊘", gettext("cannot be sold: %(reason)s") % {"reason": unsellable_text(product)}))
        if product.feed_excluded:
            shown.append(("⊖", gettext("excluded from the price list")))
        if getattr(product, "price_override", None) is not None:
            shown.append(("✎", gettext("manual price")))
        if product.below_margin_floor:
            shown.append(("⚠", gettext("below the margin floor")))
        if not shown:
            return format_html('<span class="ks-ok" title="{}">✓</span>', gettext("on sale"))
        return format_html_join(" ", '<span title="{}" aria-label="{}">{}</span>', ((t, t, i) for i, t in shown))

    @admin.display(description=_("pricing rule"), ordering="price_rule")
    def winning_rule(self, product):
        if product.price_rule is None:
            return "—"
        url = reverse("admin:catalog_pricerule_change", args=[product.price_rule_id])
        return format_html('<a href="{}">{}</a>', url, product.price_rule)

    @admin.display(description=_("manual price"))
    def manual_price(self, product):
        override = getattr(product, "price_override", None)
        if override is None:
            return "—"
        if override.expires_at is None:
            return money(override.price)
        return _("%(price)s until %(date)s") % {"price": money(override.price), "date": when(override.expires_at)}


def unsellable_text(product) -> str:
    """Why the product cannot be sold, in words; with the value the supplier sent when that value
    was out of bounds."""
    text = product.get_unsellable_reason_display() if product.unsellable_reason else _("no dealer price")
    if product.unsellable_value:
        return _("%(reason)s: the supplier sent «%(value)s»") % {"reason": text, "value": product.unsellable_value}
    return str(text)


# --- rules, commissions, exclusions: preview, audit -------------------------------------------
class PreviewedPricingAdmin(admin.ModelAdmin):
    """Save = audit + recompute the touched products. Every save is previewed first: the same
    save, measured, then rolled back, shown with a button that confirms it (`_confirmed`). A
    delete's confirmation page shows what the delete would do to prices, measured the same way."""

    change_form_template = "admin/catalog/pricing_change_form.html"
    delete_confirmation_template = "admin/catalog/pricing_delete_confirmation.html"

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # one at a time, through the page with the preview
        return actions

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "audit_trail")

    def message_user(self, request, *args, **kwargs):
        if not getattr(request, "pricing_preview", False):  # only a real save may say "saved"
            super().message_user(request, *args, **kwargs)

    @admin.display(description=_("audit"))
    def audit_trail(self, obj):
        entries = selectors.pricing_audit_of(obj)
        if not entries:
            return "—"
        return format_html_join(
            mark_safe("<br>"),
            "{} · {} · {} · {}",
            ((when(e.at), e.user or "—", e.get_action_display(), changes_text(e)) for e in entries),
        )

    def save_model(self, request, obj, form, change):
        request.pricing_before = pricing.snapshot(type(obj).objects.get(pk=obj.pk)) if change else None
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        pricing.record_change(form.instance, user=request.user, before=request.pricing_before)
        request.pricing_saved = form.instance

    def delete_model(self, request, obj):
        pricing.delete_pricing_object(obj, user=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            pricing.delete_pricing_object(obj, user=request.user)

    def delete_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, object_id)
        if request.method != "POST" and obj is not None and self.has_delete_permission(request, obj):
            extra_context = {**(extra_context or {}), "preview": pricing.preview_delete(obj, user=request.user)}
        return super().delete_view(request, object_id, extra_context)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method != "POST" or "_confirmed" in request.POST:
            return super().changeform_view(request, object_id, form_url, extra_context)
        request.pricing_preview = True  # nothing is saved: no "added successfully" (message_user)

        def save():  # the admin's own save (save_model / save_related note what was saved)
            response = super(PreviewedPricingAdmin, self).changeform_view(request, object_id, form_url, extra_context)
            return response, getattr(request, "pricing_saved", None), getattr(request, "pricing_before", None)

        response, preview = pricing.preview_save(save)
        if preview is None:  # the form has errors: show them
            return response
        saved = request.pricing_saved
        return TemplateResponse(
            request,
            "admin/catalog/pricing_preview.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Preview of the price change"),
                "opts": self.model._meta,
                "object": saved,
                "object_id": object_id,
                "preview": preview,
                "posted": [
                    (key, value)
                    for key, values in request.POST.lists()
                    for value in values
                    if key not in ("_preview", "csrfmiddlewaretoken")
                ]
                + [("_confirmed", "1")],
            },
        )


class PriceBandFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        bands = sorted(
            (
                (f.cleaned_data["low"], f.cleaned_data.get("high"))
                for f in self.forms
                if f.cleaned_data and not f.cleaned_data.get("DELETE") and f.cleaned_data.get("low") is not None
            ),
        )
        for (low, high), (next_low, next_high) in zip(bands, bands[1:]):
            if high is None or high > next_low:
                raise forms.ValidationError(
                    _(
                        "Dealer price bands %(first)s and %(second)s overlap: each dealer price must fall in one band "
                        "at most."
                    ),
                    params={"first": band_text(low, high), "second": band_text(next_low, next_high)},
                    code="overlap",
                )


def band_text(low, high) -> str:
    return f"{money(low)} – {'∞' if high is None else money(high)}"


class PriceBandInline(admin.TabularInline):
    model = PriceBand
    formset = PriceBandFormSet
    extra = 0
    fields = ("low", "high", "markup_percent", "markup_fixed")


@admin.action(description=_("Recompute the prices of the products these rules cover"), permissions=["change"])
def recompute_rule_products(modeladmin, request, queryset):
    count = queryset.count()
    pricing.recompute_scopes(queryset, user=request.user)
    modeladmin.message_user(
        request,
        ngettext(
            "The prices of the products of %(count)s rule are being recomputed; see “Price recomputes”.",
            "The prices of the products of %(count)s rules are being recomputed; see “Price recomputes”.",
            count,
        )
        % {"count": display.group(count)},
    )


@admin.register(PriceRule)
class PriceRuleAdmin(PreviewedPricingAdmin):
    actions = [recompute_rule_products]
    # Fits a laptop screen without sideways scrolling: each column says one thing in words.
    list_display = (
        "label",
        "markup_column",
        "rounding_display",
        "limits_column",
        "products_count",
        "is_active",
    )
    list_filter = ("is_active", "cap", "rounding_step")
    search_fields = ("name", "category__name", "brand__name", "product__name", "=product__article")
    autocomplete_fields = ("brand", "product")
    inlines = [PriceBandInline]
    fieldsets = (
        (
            _("Scope (the most specific rule wins: product > brand in category > deepest category > brand > global)"),
            {"fields": ("name", "category", "brand", "product", "is_active")},
        ),
        (_("Markup"), {"fields": ("markup_percent", "markup_fixed")}),
        (_("Rounding"), {"fields": ("rounding_step", "rounding_mode", "rounding_ending")}),
        (_("Limits"), {"fields": ("min_margin", "min_margin_percent", "cap", "publish_min_stock")}),
        (_("Audit"), {"fields": ("audit_trail",), "classes": ("collapse",)}),
    )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("category", "brand", "product")
            .prefetch_related("bands")
            .annotate(products_count=Count("priced_products"))
        )

    @admin.display(description=_("rule"))
    def label(self, rule):
        return format_html('{}<div class="ks-muted">{}</div>', rule.label, RuleScope(rule.scope).label)

    @admin.display(description=_("markup"))
    def markup_column(self, rule):
        """ "15,0 % + 500 ₸", and the dealer-price bands below."""
        text = percent(rule.markup_percent)
        if rule.markup_fixed:
            text = f"{text} + {money(rule.markup_fixed)}"
        bands = [f"{band_text(b.low, b.high)}: {percent(b.markup_percent)}" for b in rule.bands.all()]
        return format_html('{}<div class="ks-muted">{}</div>', text, "; ".join(bands)) if bands else text

    @admin.display(description=_("limits"))
    def limits_column(self, rule):
        """ "margin at least 1 000 ₸ and 5,0 %; never above RRP"."""
        parts = []
        if rule.min_margin or rule.min_margin_percent:
            floor = [money(rule.min_margin)] if rule.min_margin else []
            floor += [percent(rule.min_margin_percent)] if rule.min_margin_percent else []
            parts.append(_("margin at least %(floor)s") % {"floor": _(" and ").join(floor)})
        if rule.cap:
            parts.append(_("never above: %(cap)s") % {"cap": rule.get_cap_display()})
        return "; ".join(parts) or "—"

    @admin.display(description=_("rounding"))
    def rounding_display(self, rule):
        ending = f", …{rule.rounding_ending}" if rule.rounding_ending else ""
        return f"{rule.get_rounding_mode_display()} {rule.get_rounding_step_display()}{ending}"

    @admin.display(description=_("products priced by it"), ordering="products_count")
    def products_count(self, rule):
        url = reverse("admin:catalog_product_changelist") + f"?price_rule__exact={rule.pk}"
        return format_html('<a href="{}">{}</a>', url, rule.products_count)


@admin.register(CommissionRate)
class CommissionRateAdmin(PreviewedPricingAdmin):
    list_display = ("__str__", "category", "percent", "updated_at")
    list_select_related = ("category",)


@admin.register(FeedExclusion)
class FeedExclusionAdmin(PreviewedPricingAdmin):
    list_display = ("__str__", "category", "brand", "product", "reason", "created_by", "created_at")
    list_select_related = ("category", "brand", "product", "created_by")
    autocomplete_fields = ("brand", "product")
    exclude = ("created_by", "created_at")

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


class ObjectTypeFilter(admin.SimpleListFilter):
    title = _("what")
    parameter_name = "object_type"

    def lookups(self, request, model_admin):
        types = PricingAudit.objects.order_by().values_list("object_type", flat=True).distinct()
        return [(t, object_type_text(t)) for t in sorted(types)]

    def queryset(self, request, queryset):
        return queryset.filter(object_type=self.value()) if self.value() else queryset


@admin.register(PricingAudit)
class PricingAuditAdmin(ReadOnlyAdmin):
    list_display = ("at", "user", "action", "object_type_display", "object_repr", "changes_display")
    list_select_related = ("user",)
    list_filter = ("action", ObjectTypeFilter, "user")
    search_fields = ("object_repr",)
    date_hierarchy = "at"

    @admin.display(description=_("what"), ordering="object_type")
    def object_type_display(self, entry):
        return object_type_text(entry.object_type)

    @admin.display(description=_("changes"))
    def changes_display(self, entry):
        return changes_text(entry)


@admin.register(SalePriceChange)
class SalePriceChangeAdmin(ReadOnlyAdmin):
    list_display = ("changed_at", "product", "change_text", "cause", "user", "run")
    list_filter = ("cause", "user")
    search_fields = ("=product__article", "product__name")
    list_select_related = ("product", "user", "run")
    date_hierarchy = "changed_at"

    @admin.display(description=_("price"))
    def change_text(self, change):
        return price_change_text(change)


@admin.register(PriceOverride)
class PriceOverrideAdmin(ReadOnlyAdmin):
    list_display = ("product", "price_text", "expires_at", "created_by", "created_at")

    @admin.display(description=_("manual price"), ordering="price")
    def price_text(self, override):
        return money(override.price)

    list_select_related = ("product", "created_by")
    search_fields = ("=product__article", "product__name")


@admin.register(PricingRun)
class PricingRunAdmin(RunAdmin):
    list_display = ("started_at", "cause", "status", "trigger", "triggered_by", "examined", "changed", "duration_text")
    fields = (
        "cause",
        "status",
        "trigger",
        "triggered_by",
        "started_at",
        "finished_at",
        "duration_text",
        "examined",
        "changed",
        "stats_text",
        "error",
    )
    readonly_fields = fields
    list_filter = ("status", "cause")
