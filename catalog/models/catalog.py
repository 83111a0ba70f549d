"""The supplier's catalog as imported from Al-Style: categories, brands, products, history."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kaspisync.models import JobRun


class Category(models.Model):
    """Al-Style category. The supplier's nested set (left/right/level) is kept, and turned into
    parent links so the admin and pricing rules can walk the tree."""

    id = models.PositiveIntegerField(_("Al-Style id"), primary_key=True)
    name = models.CharField(pgettext_lazy("object name", "name"), max_length=500)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent"), null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    level = models.PositiveSmallIntegerField(_("level"), default=0)
    left = models.PositiveIntegerField(_("left"), default=0, db_index=True)
    right = models.PositiveIntegerField(_("right"), default=0)
    elements = models.PositiveIntegerField(_("products (supplier count)"), default=0)
    is_active = models.BooleanField(pgettext_lazy("category", "active"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["left"]

    def __str__(self):
        return self.name


class Brand(models.Model):
    name = models.CharField(pgettext_lazy("object name", "name"), max_length=255, unique=True)
    alstyle_guid = models.CharField(_("Al-Style GUID"), max_length=64, null=True, blank=True, unique=True)
    product_count = models.PositiveIntegerField(_("products (supplier count)"), default=0)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("brand")
        verbose_name_plural = _("brands")
        ordering = ["name"]

    def __str__(self):
        return self.name


class StockQualifier(models.TextChoices):
    EXACT = "=", _("exact")
    AT_LEAST = ">", _("more than")  # ">50": more than 50
    LESS_THAN = "<", _("fewer than")  # "<10": some, fewer than 10


# Al-Style's warehouse codes in words (their `warehouses` method names them); others read as sent.
WAREHOUSE_NAMES = {
    "panfilov": _("Almaty, Panfilov street"),
    "rayimbek": _("Almaty, Rayimbek avenue"),
    "astana": _("Astana"),
    "karaganda": _("Karaganda"),
    "markdown": _("markdown"),
}


def warehouse_name(code: str) -> str:
    return str(WAREHOUSE_NAMES.get(code, code))


class UnsellableReason(models.TextChoices):
    """Why the supplier's data makes a product unsellable (catalog.normalize states the rules)."""

    NONE = "", _("sellable")
    PRICE_ON_REQUEST = "price_on_request", _("price on request (price1 = 1)")
    PLACEHOLDER_PRICE = "placeholder_price", _("placeholder price (9 999 999)")
    NO_PRICE = "no_price", _("no dealer price")
    # A supplier number outside the sane bounds of catalog.normalize (below zero, or absurdly
    # large): the product is imported, but nothing is sold on a value that is plainly wrong.
    DEALER_PRICE_OUT_OF_BOUNDS = "dealer_price_out_of_bounds", _("dealer price out of bounds")
    RETAIL_PRICE_OUT_OF_BOUNDS = "retail_price_out_of_bounds", _("retail price out of bounds")
    STOCK_OUT_OF_BOUNDS = "stock_out_of_bounds", _("stock out of bounds")


class SupplierField(models.TextChoices):
    """Al-Style fields whose values are read as numbers (the names are the supplier's own)."""

    QUANTITY = "quantity", _("stock")
    PRICE1 = "price1", _("dealer price")
    PRICE2 = "price2", _("retail price")
    RRP = "rrp", _("RRP")
    WAREHOUSES = "warehouses", _("stock by warehouse")
    QUANTITY_MARKDOWN = "quantityMarkdown", _("markdown stock")
    PRICE_MARKDOWN = "priceMarkdown", _("markdown price")


class ValueProblem(models.TextChoices):
    """What is wrong with a supplier value that could not be used as it is."""

    UNREADABLE = "unreadable", _("unreadable")
    OUT_OF_BOUNDS = "out_of_bounds", _("out of bounds")


class Product(models.Model):
    """An Al-Style product. Supplier fields are written only by the import (normalised values:
    `stock` is the supplier's number read with `stock_qualifier`, so ">50" is 50 with AT_LEAST and
    "<10" is 10 with LESS_THAN; `warehouse_stock` is {warehouse code: count that can be promised});
    a product the supplier no longer lists is made inactive, never deleted."""

    # --- supplier fields (written only by the import) ---
    article = models.PositiveIntegerField(_("article"), unique=True)
    article_pn = models.CharField(_("part number"), max_length=255, blank=True)
    name = models.CharField(pgettext_lazy("object name", "name"), max_length=1000)
    full_name = models.TextField(_("full name"), blank=True)
    category = models.ForeignKey(
        Category, verbose_name=_("category"), null=True, blank=True, on_delete=models.SET_NULL, related_name="products"
    )
    brand = models.ForeignKey(
        Brand, verbose_name=_("brand"), null=True, blank=True, on_delete=models.SET_NULL, related_name="products"
    )
    dealer_price = models.PositiveIntegerField(_("dealer price, ₸"), null=True, blank=True)
    retail_price = models.PositiveIntegerField(_("retail price, ₸"), null=True, blank=True)
    rrp = models.PositiveIntegerField(_("RRP, ₸"), null=True, blank=True)
    unsellable_reason = models.CharField(
        _("not sellable because"), max_length=32, choices=UnsellableReason.choices, blank=True, default=""
    )
    unsellable_value = models.CharField(
        _("supplier's value out of bounds"),
        max_length=64,
        blank=True,
        help_text=_("The value the supplier sent, as it was sent, when it made the product unsellable."),
    )
    stock = models.PositiveIntegerField(_("stock"), default=0)
    stock_qualifier = models.CharField(
        _("stock qualifier"), max_length=1, choices=StockQualifier.choices, default=StockQualifier.EXACT
    )
    warehouse_stock = models.JSONField(_("stock by warehouse"), default=dict, blank=True)
    is_new = models.BooleanField(pgettext_lazy("product", "new"), default=False)
    barcode = models.CharField(_("barcode"), max_length=255, blank=True)
    weight = models.DecimalField(_("weight, kg"), max_digits=10, decimal_places=3, null=True, blank=True)
    warranty = models.CharField(_("warranty"), max_length=255, blank=True)
    description = models.TextField(_("description"), blank=True)
    url = models.URLField(_("supplier page"), max_length=500, blank=True)
    images = models.JSONField(_("images"), default=list, blank=True)
    markdown_stock = models.PositiveIntegerField(_("markdown stock"), default=0)
    markdown_price = models.PositiveIntegerField(_("markdown price, ₸"), null=True, blank=True)
    supplier_hash = models.CharField(max_length=32, blank=True, editable=False)
    # No index on is_active / changed_at: every import writes them, and lists over one
    # catalog (tens of thousands of rows) filter and sort them fast enough without.
    is_active = models.BooleanField(pgettext_lazy("product", "active"), default=True)
    first_seen_at = models.DateTimeField(_("first seen"), auto_now_add=True)
    changed_at = models.DateTimeField(_("last change"), null=True, blank=True)

    # --- derived by pricing (stored so lists and the feed never recompute) ---
    sale_price = models.PositiveIntegerField(_("sale price, ₸"), null=True, blank=True)
    feed_excluded = models.BooleanField(_("excluded from feed"), default=False)
    publish_min_stock = models.PositiveIntegerField(_("minimum stock to publish as available"), default=1)
    price_rule = models.ForeignKey(
        "catalog.PriceRule",
        verbose_name=_("pricing rule"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="priced_products",
        editable=False,
        db_index=False,  # rewritten in bulk by every recompute
    )
    price_explanation = models.CharField(_("price explanation"), max_length=500, blank=True, editable=False)
    net_margin = models.IntegerField(_("net margin, ₸"), null=True, blank=True, editable=False)
    net_margin_percent = models.DecimalField(
        _("net margin, %"), max_digits=7, decimal_places=2, null=True, blank=True, editable=False
    )
    below_margin_floor = models.BooleanField(_("below margin floor"), default=False, editable=False)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = pgettext_lazy("model name", "products")
        ordering = ["article"]
        # The product list's sortable columns (id: the admin's tie-breaker): a page of 100 sorted
        # rows is read from the index, not by sorting the whole catalog (issue 10).
        indexes = [
            models.Index(fields=[column, "id"], name=f"product_sort_{short}")
            for column, short in (
                ("name", "name"),
                ("dealer_price", "dealer"),
                ("sale_price", "sale"),
                ("net_margin_percent", "margin"),
                ("stock", "stock"),
            )
        ] + [
            # The list's filters on flags few products have, in the list's order: the count and
            # the page read those products only, not the whole catalog. Partial, so the products
            # without the flag (nearly all, rewritten by every recompute) are not in it.
            models.Index(fields=["article"], condition=models.Q(**{flag: True}), name=f"product_{short}")
            for flag, short in (("below_margin_floor", "below_floor"), ("feed_excluded", "feed_excluded"))
        ]

    def __str__(self):
        return f"{self.article} {self.name}"

    @property
    def stock_display(self) -> str:
        """The supplier's stock as it reads: "7", ">50", "<10"."""
        prefix = "" if self.stock_qualifier == StockQualifier.EXACT else self.stock_qualifier
        return f"{prefix}{self.stock}"

    @property
    def stock_total(self) -> int:
        """Units the supplier holds: the sum over its warehouses when it names them, else `stock`."""
        return sum(self.warehouse_stock.values()) if self.warehouse_stock else self.stock

    def stock_breakdown(self) -> list[tuple[str, int]]:
        """[(warehouse in words, units)], largest first."""
        items = sorted((self.warehouse_stock or {}).items(), key=lambda item: (-item[1], item[0]))
        return [(warehouse_name(code), count) for code, count in items]

    @property
    def is_sellable(self) -> bool:
        return self.unsellable_reason == UnsellableReason.NONE and self.dealer_price is not None


class ImportKind(models.TextChoices):
    FULL = "full", _("full import")
    QUICK = "quick", _("quick refresh (prices and stock)")


class ImportRun(JobRun):
    kind = models.CharField(_("kind"), max_length=8, choices=ImportKind.choices, default=ImportKind.FULL)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    deactivated = models.PositiveIntegerField(_("deactivated"), default=0)
    skipped = models.JSONField(_("skipped, by reason"), default=dict, blank=True)

    class Meta(JobRun.Meta):
        verbose_name = _("import run")
        verbose_name_plural = _("import runs")
        permissions = [("run_import", _("Can start a catalog import"))]

    def __str__(self):
        return f"#{self.pk} {self.get_kind_display()}"

    # --- the run's summary in words (admin page, management command) --------------------------
    def value_problem_rows(self) -> list[dict]:
        """Supplier values the run could not use: [{field, problem, count, examples}] in words;
        `examples` is [(article, value as sent)]."""
        return [
            {
                "field": _label(SupplierField, row["field"]),
                "problem": _label(ValueProblem, row["kind"]),
                "count": row["count"],
                "examples": [tuple(example) for example in row["examples"]],
            }
            for row in self.stats.get("value_problems", [])
        ]

    @property
    def value_problem_count(self) -> int:
        return sum(row["count"] for row in self.stats.get("value_problems", []))

    def records_text(self) -> str:
        """What the pages held against the supplier's total (full imports)."""
        records = self.stats.get("records")
        if not records:
            return ""
        return (
            _(
                "distinct products: %(read)s; repeated records: %(duplicates)s; records without a usable article: "
                "%(unusable)s; the supplier's total: %(total)s"
            )
            % records
        )


def _label(choices, code: str) -> str:
    """The words for a stored code; a code no longer known is shown as it is."""
    try:
        return str(choices(code).label)
    except ValueError:
        return code


class ProductChange(models.Model):
    """History of supplier values: dealer price, retail price, stock (old -> new, when, which run)."""

    class Field(models.TextChoices):
        DEALER_PRICE = "dealer_price", _("dealer price")
        RETAIL_PRICE = "retail_price", _("retail price")
        STOCK = "stock", _("stock")
        ACTIVE = "is_active", pgettext_lazy("changed field", "active")

    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.CASCADE, related_name="changes")
    field = models.CharField(_("field"), max_length=16, choices=Field.choices)
    old_value = models.BigIntegerField(_("old value"), null=True, blank=True)
    new_value = models.BigIntegerField(_("new value"), null=True, blank=True)
    changed_at = models.DateTimeField(_("changed at"), db_index=True)
    run = models.ForeignKey(
        ImportRun,
        verbose_name=_("import run"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="changes",
    )

    class Meta:
        verbose_name = _("supplier value change")
        verbose_name_plural = _("supplier value changes")
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["product", "-changed_at"])]

    def __str__(self):
        return f"{self.product_id}: {self.get_field_display()} {self.old_value} → {self.new_value}"
