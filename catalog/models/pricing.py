"""Pricing: markup rules, commission rates, feed exclusions, manual overrides, their audit and
the history of sale prices.

The sale price itself (and what explains it) is stored on `Product` (the "derived by pricing"
block) by `catalog.services.pricing`; nothing here computes it.

Manual overrides live in their own table rather than on `Product`: an override carries who set
it, when and until when, the supplier block of `Product` stays untouched, and "products with an
override" is a plain join.
"""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kaspisync import display
from kaspisync.models import JobRun

__all__ = [
    "CapPrice",
    "CommissionRate",
    "FeedExclusion",
    "PriceBand",
    "PriceChangeCause",
    "PriceOverride",
    "PriceRule",
    "PricingAudit",
    "PricingRun",
    "RoundingMode",
    "RuleScope",
    "SalePriceChange",
]

PERCENT_MAX = Decimal("500")
PERCENT_VALIDATORS = [MinValueValidator(Decimal("0")), MaxValueValidator(PERCENT_MAX)]
COMMISSION_VALIDATORS = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("50"))]
# Commission (<= 50 %) plus minimum margin (<= 45 %) stays below 100 % of the price, so a floor always exists.
MARGIN_PERCENT_VALIDATORS = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("45"))]


class RuleScope(models.TextChoices):
    """What a rule applies to, most specific first (the order resolution follows)."""

    PRODUCT = "product", _("product")
    BRAND_IN_CATEGORY = "brand_in_category", _("brand in category")
    CATEGORY = "category", _("category")
    BRAND = "brand", _("brand")
    GLOBAL = "global", _("global default")


class RoundingMode(models.TextChoices):
    UP = "up", _("up")
    NEAREST = "nearest", _("nearest")


class RoundingStep(models.IntegerChoices):
    ONE = 1, "1 ₸"
    TEN = 10, "10 ₸"
    FIFTY = 50, "50 ₸"
    HUNDRED = 100, "100 ₸"
    THOUSAND = 1000, "1 000 ₸"


class CapPrice(models.TextChoices):
    NONE = "", _("no cap")
    RETAIL = "retail", _("supplier's retail price (price2)")
    RRP = "rrp", _("RRP")


def _one_row_per_scope(*fields, name, message):
    """A unique index where NULL counts as a value (so there is one global row, one per brand...)."""
    return models.UniqueConstraint(
        *(Coalesce(f, models.Value(0)) for f in fields), name=name, violation_error_message=message
    )


class PriceRule(models.Model):
    """How the sale price is derived from the dealer price for one scope. The scope follows from
    which of category / brand / product is set; one rule per scope (unique), so two rules never
    tie: product > brand in category > deepest category > brand > global."""

    name = models.CharField(
        pgettext_lazy("object name", "name"),
        max_length=200,
        blank=True,
        help_text=_("Shown in the price explanation; the scope's name if empty."),
    )
    category = models.ForeignKey(
        "catalog.Category",
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="price_rules",
        help_text=_("Applies to the whole subtree."),
    )
    brand = models.ForeignKey(
        "catalog.Brand",
        verbose_name=_("brand"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="price_rules",
    )
    product = models.ForeignKey(
        "catalog.Product",
        verbose_name=_("product"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="price_rules",
    )
    is_active = models.BooleanField(pgettext_lazy("pricing rule", "active"), default=True)
    markup_percent = models.DecimalField(
        _("markup, %"), max_digits=6, decimal_places=2, default=Decimal("0"), validators=PERCENT_VALIDATORS
    )
    markup_fixed = models.PositiveIntegerField(_("fixed addition, ₸"), default=0)
    rounding_step = models.PositiveIntegerField(
        _("rounding step, ₸"), choices=RoundingStep.choices, default=RoundingStep.ONE
    )
    rounding_mode = models.CharField(_("rounding"), max_length=8, choices=RoundingMode.choices, default=RoundingMode.UP)
    rounding_ending = models.PositiveIntegerField(
        _("price ending"),
        default=0,
        help_text=_(
            "Remainder of the price by the step, e.g. 90 with step 100 gives …90, 990 with step 1000 "
            "gives …990. 0: round prices."
        ),
    )
    min_margin = models.PositiveIntegerField(
        _("minimum net margin, ₸"), default=0, help_text=_("After the marketplace commission.")
    )
    min_margin_percent = models.DecimalField(
        # xgettext:no-python-format
        _("minimum net margin, % of price"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=MARGIN_PERCENT_VALIDATORS,
    )
    cap = models.CharField(_("never above"), max_length=8, choices=CapPrice.choices, blank=True, default="")
    publish_min_stock = models.PositiveIntegerField(
        _("minimum stock to publish as available"),
        default=1,
        help_text=_("Below this stock the product is published as unavailable."),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("pricing rule")
        verbose_name_plural = _("pricing rules")
        ordering = ["product", "category__left", "brand__name"]
        constraints = [
            _one_row_per_scope(
                "category",
                "brand",
                "product",
                name="price_rule_one_per_scope",
                message=_("A rule for this scope already exists: edit that rule instead."),
            ),
            models.CheckConstraint(
                condition=Q(product__isnull=True) | Q(category__isnull=True, brand__isnull=True),
                name="price_rule_product_alone",
            ),
            models.CheckConstraint(
                condition=Q(rounding_ending__lt=models.F("rounding_step")), name="price_rule_ending_below_step"
            ),
        ]

    def __str__(self):
        return self.label

    @property
    def scope(self) -> str:
        if self.product_id:
            return RuleScope.PRODUCT
        if self.brand_id and self.category_id:
            return RuleScope.BRAND_IN_CATEGORY
        if self.category_id:
            return RuleScope.CATEGORY
        if self.brand_id:
            return RuleScope.BRAND
        return RuleScope.GLOBAL

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        scope = self.scope
        if scope == RuleScope.PRODUCT:
            return str(self.product)
        if scope == RuleScope.BRAND_IN_CATEGORY:
            return f"{self.brand} / {self.category}"
        if scope == RuleScope.CATEGORY:
            return str(self.category)
        if scope == RuleScope.BRAND:
            return str(self.brand)
        return str(_("all products"))

    def clean(self):
        errors = {}
        if self.product_id and (self.category_id or self.brand_id):
            errors["product"] = _("A product rule cannot also name a category or a brand.")
        if self.rounding_step and self.rounding_ending >= self.rounding_step:
            errors["rounding_ending"] = _(
                "The ending must be smaller than the rounding step (e.g. 90 with step 100, 990 with step 1000)."
            )
        if errors:
            raise ValidationError(errors)


class PriceBand(models.Model):
    """A dealer-price band of a rule: from `low` (inclusive) to `high` (exclusive, empty = no upper
    bound) the band's markup replaces the rule's."""

    rule = models.ForeignKey(PriceRule, verbose_name=_("rule"), on_delete=models.CASCADE, related_name="bands")
    low = models.PositiveIntegerField(_("dealer price from, ₸"), default=0)
    high = models.PositiveIntegerField(
        _("dealer price below, ₸"), null=True, blank=True, help_text=_("Empty: no upper bound.")
    )
    markup_percent = models.DecimalField(
        _("markup, %"), max_digits=6, decimal_places=2, default=Decimal("0"), validators=PERCENT_VALIDATORS
    )
    markup_fixed = models.PositiveIntegerField(_("fixed addition, ₸"), default=0)

    class Meta:
        verbose_name = _("dealer price band")
        verbose_name_plural = _("dealer price bands")
        ordering = ["rule", "low"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "low"], name="price_band_unique_low"),
            models.CheckConstraint(
                condition=Q(high__isnull=True) | Q(high__gt=models.F("low")), name="price_band_high_above_low"
            ),
        ]

    def __str__(self):
        high = "∞" if self.high is None else display.money(self.high)
        return f"{display.money(self.low)} – {high}: {display.percent(self.markup_percent)}"

    def clean(self):
        if self.high is not None and self.low is not None and self.high <= self.low:
            raise ValidationError({"high": _("The upper bound must be above the lower bound.")})


class CommissionRate(models.Model):
    """The marketplace commission, in percent of the sale price, for a category subtree (the
    deepest one wins) or, with no category, the global default."""

    category = models.ForeignKey(
        "catalog.Category",
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="commission_rates",
        help_text=_("Empty: the default for every category."),
    )
    percent = models.DecimalField(_("commission, %"), max_digits=5, decimal_places=2, validators=COMMISSION_VALIDATORS)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("marketplace commission")
        verbose_name_plural = _("marketplace commissions")
        ordering = ["category__left"]
        constraints = [
            _one_row_per_scope(
                "category",
                name="commission_one_per_category",
                message=_("A commission for this category already exists."),
            )
        ]

    def __str__(self):
        name = self.category or _("default")  # (not inside the f-string: xgettext would not see it)
        return f"{name}: {display.percent(self.percent)}"


class FeedExclusion(models.Model):
    """Keeps a category subtree, a brand or one product out of the Kaspi feed."""

    category = models.ForeignKey(
        "catalog.Category",
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="feed_exclusions",
    )
    brand = models.ForeignKey(
        "catalog.Brand",
        verbose_name=_("brand"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="feed_exclusions",
    )
    product = models.ForeignKey(
        "catalog.Product",
        verbose_name=_("product"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="feed_exclusions",
    )
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("feed exclusion")
        verbose_name_plural = _("feed exclusions")
        ordering = ["-created_at"]
        constraints = [
            _one_row_per_scope(
                "category",
                "brand",
                "product",
                name="feed_exclusion_one_per_target",
                message=_("This is already excluded from the feed."),
            ),
            models.CheckConstraint(
                condition=(
                    Q(category__isnull=False, brand__isnull=True, product__isnull=True)
                    | Q(category__isnull=True, brand__isnull=False, product__isnull=True)
                    | Q(category__isnull=True, brand__isnull=True, product__isnull=False)
                ),
                name="feed_exclusion_exactly_one_target",
            ),
        ]

    def __str__(self):
        return str(self.category or self.brand or self.product)

    def clean(self):
        if sum(x is not None for x in (self.category_id, self.brand_id, self.product_id)) != 1:
            raise ValidationError(_("Choose exactly one: a category, a brand or a product."))


class PriceOverride(models.Model):
    """A manual sale price for one product, optionally until a moment (then pricing takes over)."""

    product = models.OneToOneField(
        "catalog.Product", verbose_name=_("product"), on_delete=models.CASCADE, related_name="price_override"
    )
    price = models.PositiveIntegerField(_("manual price, ₸"), validators=[MinValueValidator(1)])
    expires_at = models.DateTimeField(_("until"), null=True, blank=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("set by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("set at"), default=timezone.now)

    class Meta:
        verbose_name = _("manual price")
        verbose_name_plural = _("manual prices")

    def __str__(self):
        return f"{self.product}: {display.money(self.price)}"


class PriceChangeCause(models.TextChoices):
    IMPORT = "import", _("import: supplier price or category changed")
    RULE = "rule", _("pricing rule change")
    OVERRIDE = "override", _("manual price")
    OVERRIDE_CLEARED = "override_cleared", _("manual price removed")
    EXPIRY = "expiry", _("manual price expired")
    RECOMPUTE = "recompute", _("recompute")


class PricingRun(JobRun):
    """One bulk recompute of sale prices."""

    cause = models.CharField(_("cause"), max_length=20, choices=PriceChangeCause.choices)
    examined = models.PositiveIntegerField(_("products examined"), default=0)
    changed = models.PositiveIntegerField(_("products changed"), default=0)

    class Meta(JobRun.Meta):
        verbose_name = _("price recompute")
        verbose_name_plural = _("price recomputes")


class SalePriceChange(models.Model):
    """History of a product's sale price: old -> new, why, by whom, when."""

    product = models.ForeignKey(
        "catalog.Product",
        verbose_name=_("product"),
        on_delete=models.CASCADE,
        related_name="sale_price_changes",
        db_index=False,
    )  # (product, -changed_at) below
    old_price = models.PositiveIntegerField(_("old price, ₸"), null=True, blank=True)
    new_price = models.PositiveIntegerField(_("new price, ₸"), null=True, blank=True)
    cause = models.CharField(_("cause"), max_length=20, choices=PriceChangeCause.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    run = models.ForeignKey(
        PricingRun,
        verbose_name=_("recompute"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="price_changes",
    )
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now)

    class Meta:
        verbose_name = _("sale price change")
        verbose_name_plural = _("sale price history")
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["product", "-changed_at"])]

    def __str__(self):
        return f"{self.product_id}: {display.money(self.old_price)} → {display.money(self.new_price)}"


class PricingAudit(models.Model):
    """Who changed which pricing rule, commission or exclusion, when, and what (field: [old, new])."""

    class Action(models.TextChoices):
        CREATED = "created", _("created")
        CHANGED = "changed", _("changed")
        DELETED = "deleted", _("deleted")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    action = models.CharField(_("action"), max_length=8, choices=Action.choices)
    object_type = models.CharField(_("object type"), max_length=40)
    object_id = models.PositiveBigIntegerField(_("object id"), null=True, blank=True)
    object_repr = models.CharField(_("object"), max_length=300)
    changes = models.JSONField(_("changes"), default=dict, blank=True)

    class Meta:
        verbose_name = _("pricing audit entry")
        verbose_name_plural = _("pricing audit")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.user} {self.action} {self.object_repr}"
