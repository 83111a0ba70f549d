"""The Kaspi price list: settings (stores, cities), built versions, and the fetch log."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kaspisync.models import JobRun

latin_alnum = RegexValidator(r"^[A-Za-z0-9]*$", _("Only Latin letters and digits."))
store_code = RegexValidator(r"^[A-Za-z0-9_-]{1,50}$", _("Latin letters, digits, '-' and '_' only."))
city_code = RegexValidator(r"^[0-9]{1,20}$", _("Digits only (the city code from Kaspi, e.g. 750000000)."))


def default_shrink_threshold():
    return settings.FEED_SHRINK_THRESHOLD


def default_keep_versions():
    return settings.FEED_KEEP_VERSIONS


class FeedSettings(models.Model):
    """One row, edited in the admin; created with defaults from the environment on first use."""

    SINGLETON_ID = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_ID, editable=False)
    company = models.CharField(_("company name"), max_length=255, blank=True)
    merchant_id = models.CharField(_("merchant id"), max_length=50, blank=True, validators=[latin_alnum])
    sku_prefix = models.CharField(
        _("SKU prefix"),
        max_length=8,
        blank=True,
        validators=[latin_alnum],
        help_text=_("SKU = prefix + Al-Style article, e.g. AS20908. Must match the SKUs of your cards on Kaspi."),
    )
    stock_threshold = models.PositiveIntegerField(
        _("minimum stock to be available"),
        default=1,
        help_text=_(
            'A store with less stock is published as available="no" (a product\'s own minimum, '
            "set by pricing, applies when higher)."
        ),
    )
    shrink_threshold = models.PositiveSmallIntegerField(
        _("shrink guard, %"),
        default=default_shrink_threshold,
        validators=[MaxValueValidator(100)],
        help_text=_(
            "Hold a build whose offer count, or count of available offers, drops by more than this "
            "share of the published price list."
        ),
    )
    keep_versions = models.PositiveSmallIntegerField(
        _("versions to keep"),
        default=default_keep_versions,
        validators=[MinValueValidator(2)],
        help_text=_("Files of older versions are deleted; their records stay."),
    )
    retired_stores = models.JSONField(
        _("stores no longer sold from"),
        default=list,
        blank=True,
        help_text=_(
            'Codes of stores removed from the list below, e.g. ["PP2"]. Every offer lists them as '
            'available="no": Kaspi stops selling at a store only when the price list says so, not when '
            "the store is left out. A removed store is added here by itself."
        ),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("price list settings")
        verbose_name_plural = _("price list settings")

    def __str__(self):
        return str(_("Price list settings"))

    def clean(self):
        longest = len(self.sku_prefix) + 10  # articles are up to 10 digits
        if longest > 20:
            raise ValidationError({"sku_prefix": _("Prefix plus article must fit in 20 characters.")})
        if self.retired_stores is None:  # the box left empty
            self.retired_stores = []
        codes = self.retired_stores
        if not isinstance(codes, list) or not all(isinstance(c, str) and store_code.regex.match(c) for c in codes):
            raise ValidationError(
                {"retired_stores": _('A list of store codes (Latin letters, digits, "-" and "_"), e.g. ["PP2"].')}
            )


class FeedStore(models.Model):
    """A Kaspi point of sale («Склады и магазины»): one `availability` per store in every offer."""

    feed = models.ForeignKey(FeedSettings, on_delete=models.CASCADE, related_name="stores")
    store_id = models.CharField(
        _("Kaspi store id"),
        max_length=50,
        unique=True,
        validators=[store_code],
        help_text=_("The point code from the Kaspi cabinet, e.g. PP1."),
    )
    pre_order_days = models.PositiveSmallIntegerField(
        _("pre-order, days"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(30)],
        help_text=_("1–30 extra days for delivery; empty when not a pre-order."),
    )
    warehouses = models.JSONField(
        _("Al-Style warehouses"),
        default=list,
        blank=True,
        help_text=_('Warehouse codes whose stock this store sells, e.g. ["panfilov"]. Empty: the total stock.'),
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("Kaspi store")
        verbose_name_plural = _("Kaspi stores")
        ordering = ["position", "id"]

    def __str__(self):
        return self.store_id

    def clean(self):
        if not isinstance(self.warehouses, list) or not all(isinstance(c, str) and c for c in self.warehouses):
            raise ValidationError({"warehouses": _("A list of warehouse codes (strings).")})


class FeedCity(models.Model):
    """A city with its own price: `cityprices` replace `price` once any city is configured."""

    feed = models.ForeignKey(FeedSettings, on_delete=models.CASCADE, related_name="cities")
    city_id = models.CharField(_("Kaspi city id"), max_length=20, unique=True, validators=[city_code])
    name = models.CharField(pgettext_lazy("object name", "name"), max_length=100, blank=True)
    offset = models.IntegerField(
        _("price offset, ₸"), default=0, help_text=_("Added to the sale price in this city (may be negative).")
    )
    percent = models.DecimalField(
        _("price offset, %"),
        max_digits=6,
        decimal_places=2,
        default=0,
        help_text=_("Applied to the sale price before the fixed offset."),
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("city price")
        verbose_name_plural = _("city prices")
        ordering = ["position", "id"]

    def __str__(self):
        return self.name or self.city_id

    def clean(self):
        """Offsets that would price the cheapest published product at zero or less would make
        every price list invalid (the last good one would stay live with stale prices)."""
        from catalog.selectors import lowest_publishable_price

        from .writer import City

        lowest = lowest_publishable_price()
        if lowest is None or self.percent is None or self.offset is None:
            return
        city_price = City(self.city_id, offset=self.offset, percent=Decimal(self.percent)).price(None, lowest)
        if city_price <= 0:
            raise ValidationError(
                _(
                    "With these offsets the cheapest product in the price list (%(low)s ₸) would cost "
                    "%(price)s ₸ in this city: prices must stay above zero."
                )
                % {"low": lowest, "price": city_price}
            )


class FeedCityPriceOverride(models.Model):
    """A fixed price for one product in one city (wins over the city's offsets)."""

    city = models.ForeignKey(FeedCity, verbose_name=_("city"), on_delete=models.CASCADE, related_name="overrides")
    product = models.ForeignKey(
        "catalog.Product", verbose_name=_("product"), on_delete=models.CASCADE, related_name="+"
    )
    price = models.PositiveIntegerField(_("price, ₸"), validators=[MinValueValidator(1)])

    class Meta:
        verbose_name = _("city price override")
        verbose_name_plural = _("city price overrides")
        constraints = [models.UniqueConstraint(fields=["city", "product"], name="feeds_city_product_unique")]

    def __str__(self):
        return f"{self.city}: {self.price} ₸"


class FeedResult(models.TextChoices):
    BUILDING = "building", _("building")
    PUBLISHED = "published", _("published")
    UNCHANGED = "unchanged", _("unchanged (not republished)")
    REJECTED = "rejected", _("held: shrank too much")
    INVALID = "invalid", _("invalid")
    WRITTEN = "written", _("written to a file only")
    SKIPPED = "skipped", _("skipped: another build was running")


class FeedVersion(JobRun):
    """One build of the price list (a run row): its numbers, checks, file and diff."""

    result = models.CharField(
        _("result"), max_length=16, choices=FeedResult.choices, default=FeedResult.BUILDING, db_index=True
    )
    offers = models.PositiveIntegerField(_("offers"), default=0)
    available_offers = models.PositiveIntegerField(_("available offers"), default=0)
    size = models.PositiveBigIntegerField(_("size, bytes"), default=0)
    gzip_size = models.PositiveBigIntegerField(_("gzip size, bytes"), default=0)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    offers_sha256 = models.CharField(
        _("SHA-256 of the offers"),
        max_length=64,
        blank=True,
        help_text=_("Everything but the date: equal means nothing changed."),
    )
    file = models.CharField(_("file"), max_length=255, blank=True)
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    errors = models.JSONField(_("validation errors"), default=list, blank=True)
    # One offer that fails the checks is left out, the rest published (feeds.writer). The alerts
    # hook on `dropped_offers` of a finished build.
    dropped_offers = models.PositiveIntegerField(
        _("offers left out"),
        default=0,
        help_text=_("Offers that failed the checks: left out of this version, every other offer is in it."),
    )
    dropped = models.JSONField(_("offers left out, and why"), default=list, blank=True)
    diff = models.JSONField(_("changes against the published version"), default=dict, blank=True)
    previous = models.ForeignKey(
        "self", verbose_name=_("compared with"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True, db_index=True)
    published_by = models.CharField(_("published by"), max_length=150, blank=True)
    forced = models.BooleanField(_("published past the shrink guard"), default=False)

    class Meta(JobRun.Meta):
        verbose_name = _("price list version")
        verbose_name_plural = _("price list versions")
        permissions = [
            ("build_feed", _("Can build the price list now")),
            ("publish_anyway", _("Can publish a held price list")),
        ]

    def __str__(self):
        return f"#{self.pk} {self.get_result_display()}"

    @property
    def snapshot_file(self) -> str:
        return f"{self.file}.offers.json.gz" if self.file else ""

    @property
    def gzip_file(self) -> str:
        return f"{self.file}.gz" if self.file else ""


class FeedFetch(models.Model):
    """A request for the public price list URL with the right token (Kaspi's robot, or anyone
    holding the token); kept FEED_FETCH_KEEP_DAYS. Wrong tokens are counted in FeedProbe."""

    fetched_at = models.DateTimeField(_("fetched at"), db_index=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)
    method = models.CharField(_("method"), max_length=8, default="GET")
    status = models.PositiveSmallIntegerField(_("HTTP status"))
    bytes_sent = models.PositiveBigIntegerField(_("bytes sent"), default=0)
    gzip = models.BooleanField(_("gzip"), default=False)
    version = models.ForeignKey(
        FeedVersion,
        verbose_name=_("version"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )

    class Meta:
        verbose_name = _("price list fetch")
        verbose_name_plural = _("price list fetches")
        ordering = ["-fetched_at", "-id"]

    def __str__(self):
        return f"{self.fetched_at:%Y-%m-%d %H:%M:%S} {self.ip} {self.status}"


class FeedProbe(models.Model):
    """Requests for the price list URL with a wrong token, counted per day and address (one row,
    whatever their number): guessing is visible without a row per request. Kept
    FEED_PROBE_KEEP_DAYS; past FEED_PROBE_MAX_ADDRESSES addresses a day, the rest share one row."""

    day = models.DateField(_("day"), db_index=True)
    ip = models.CharField(_("IP address"), max_length=45, blank=True)  # "": unknown, or beyond the cap
    count = models.PositiveIntegerField(_("requests"), default=0)
    first_at = models.DateTimeField(_("first request"))
    last_at = models.DateTimeField(_("last request"))
    user_agent = models.CharField(_("last user agent"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("wrong-token request")
        verbose_name_plural = _("wrong-token requests")
        ordering = ["-day", "-count"]
        constraints = [models.UniqueConstraint(fields=["day", "ip"], name="feeds_probe_one_row_per_day_and_ip")]

    def __str__(self):
        return f"{self.day} {self.ip or '—'} × {self.count}"


def defaults_from_env() -> dict:
    return {
        "company": settings.KASPI_COMPANY_NAME,
        "merchant_id": settings.KASPI_MERCHANT_ID,
        "sku_prefix": settings.FEED_SKU_PREFIX,
        "stock_threshold": settings.FEED_STOCK_THRESHOLD,
    }
