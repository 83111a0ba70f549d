"""Kaspi product cards: Kaspi's classification (cached), the mapping from Al-Style, each
product's card status, and every upload with its per-product outcomes.

- `KaspiCategory`, `KaspiAttribute`, `KaspiAttributeValue`: Kaspi's categories, the attributes of
  a category and the allowed values of an enum attribute, as the content API last listed them.
- `CategoryMapping`: an Al-Style category (and its subtree, unless a deeper one is mapped) → a
  Kaspi leaf category; `AttributeMapping`: how one Kaspi attribute is filled (an Al-Style
  property by name, a fixed value, or left empty, which only an optional attribute may be).
- `AlstyleProperties`: the supplier's product properties ({name: value}) as last read from
  Al-Style for products of mapped categories (cards' own copy: catalog does not read them).
- `ProductCard`: one row per product of a mapped category (or with upload history): its status,
  the reasons it is not ready (structured, rendered in words by `cards.reasons.describe`),
  the fingerprint of its card now and as last sent.
- `UploadRun` (a job run), `UploadBatch` (one POST /import), `CardOutcome` (one product in one
  batch, with Kaspi's message).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kaspisync.models import JobRun


class AttributeType(models.TextChoices):
    BOOLEAN = "boolean", _("yes/no")
    ENUM = "enum", _("value from a list")
    STRING = "string", _("text")
    NUMBER = "number", _("number")


class KaspiCategory(models.Model):
    code = models.CharField(_("code"), max_length=512, unique=True)
    title = models.CharField(pgettext_lazy("Kaspi category", "title"), max_length=500, blank=True)
    is_active = models.BooleanField(
        _("listed by Kaspi"), default=True, help_text=_("Kaspi listed it in the last refresh of categories.")
    )
    refreshed_at = models.DateTimeField(_("refreshed at"), null=True, blank=True)
    attributes_loaded_at = models.DateTimeField(_("attributes loaded at"), null=True, blank=True)

    class Meta:
        verbose_name = _("Kaspi category")
        verbose_name_plural = _("Kaspi categories")
        ordering = ["title", "code"]

    def __str__(self):
        return f"{self.title} ({self.code})" if self.title else self.code


class KaspiAttribute(models.Model):
    category = models.ForeignKey(
        KaspiCategory, verbose_name=_("Kaspi category"), on_delete=models.CASCADE, related_name="attributes"
    )
    code = models.CharField(_("code"), max_length=512)
    type = models.CharField(_("type"), max_length=16, choices=AttributeType.choices)
    multi_valued = models.BooleanField(_("several values"), default=False)
    mandatory = models.BooleanField(_("mandatory"), default=False)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("Kaspi attribute")
        verbose_name_plural = _("Kaspi attributes")
        ordering = ["category", "-mandatory", "position"]
        constraints = [models.UniqueConstraint(fields=["category", "code"], name="cards_attribute_unique_code")]

    def __str__(self):
        return self.short_name

    @property
    def short_name(self) -> str:
        """The last segment of the code ("…*type" → "type"): what staff recognise."""
        return self.code.rsplit("*", 1)[-1] or self.code


class KaspiAttributeValue(models.Model):
    attribute = models.ForeignKey(
        KaspiAttribute, verbose_name=_("Kaspi attribute"), on_delete=models.CASCADE, related_name="values"
    )
    code = models.CharField(_("code"), max_length=512)
    name = models.CharField(pgettext_lazy("object name", "name"), max_length=512, blank=True)

    class Meta:
        verbose_name = _("allowed value")
        verbose_name_plural = _("allowed values")
        ordering = ["attribute", "name", "code"]
        constraints = [models.UniqueConstraint(fields=["attribute", "code"], name="cards_value_unique_code")]

    def __str__(self):
        return self.name or self.code


class CategoryMapping(models.Model):
    alstyle_category = models.OneToOneField(
        "catalog.Category",
        verbose_name=_("Al-Style category"),
        on_delete=models.CASCADE,
        related_name="kaspi_mapping",
        help_text=_("Applies to its subcategories too, unless one of them is mapped itself."),
    )
    kaspi_category = models.ForeignKey(
        KaspiCategory, verbose_name=_("Kaspi category"), on_delete=models.PROTECT, related_name="mappings"
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = models.CharField(_("updated by"), max_length=150, blank=True)

    class Meta:
        verbose_name = _("category mapping")
        verbose_name_plural = _("category mappings")
        ordering = ["alstyle_category__left"]
        permissions = [("upload_cards", _("Can upload product cards to Kaspi"))]

    def __str__(self):
        return f"{self.alstyle_category} → {self.kaspi_category.code}"


class AttributeSource(models.TextChoices):
    EMPTY = "", _("left empty")
    PROPERTY = "property", _("Al-Style property")
    VALUE = "value", _("fixed value")


class AttributeMapping(models.Model):
    mapping = models.ForeignKey(
        CategoryMapping, verbose_name=_("category mapping"), on_delete=models.CASCADE, related_name="attributes"
    )
    attribute = models.ForeignKey(KaspiAttribute, verbose_name=_("Kaspi attribute"), on_delete=models.CASCADE)
    source = models.CharField(
        _("filled from"), max_length=16, choices=AttributeSource.choices, blank=True, default=AttributeSource.EMPTY
    )
    property_name = models.CharField(_("Al-Style property"), max_length=255, blank=True)
    value = models.JSONField(_("fixed value"), null=True, blank=True)

    class Meta:
        verbose_name = _("attribute mapping")
        verbose_name_plural = _("attribute mappings")
        ordering = ["mapping", "attribute__position"]
        constraints = [
            models.UniqueConstraint(fields=["mapping", "attribute"], name="cards_attribute_mapping_unique"),
        ]

    def __str__(self):
        return str(self.attribute)


class AlstyleProperties(models.Model):
    product = models.OneToOneField(
        "catalog.Product", verbose_name=_("product"), on_delete=models.CASCADE, related_name="alstyle_properties"
    )
    values = models.JSONField(_("properties"), default=dict, blank=True)
    fetched_at = models.DateTimeField(_("read at"))

    class Meta:
        verbose_name = _("Al-Style properties")
        verbose_name_plural = _("Al-Style properties")

    def __str__(self):
        return str(self.product_id)


class CardStatus(models.TextChoices):
    NO_MAPPING = "no_mapping", _("no mapping")
    NOT_READY = "not_ready", _("not ready")
    READY = "ready", _("ready")
    SENT = "sent", pgettext_lazy("card status", "sent")
    CREATED = "created", pgettext_lazy("card status", "created")
    ERROR = "error", _("error")


class UploadState(models.TextChoices):
    NONE = "", _("never sent")
    SENT = "sent", _("sent, waiting for Kaspi")
    UNKNOWN = "unknown", _("sent, answer lost")
    CREATED = "created", pgettext_lazy("card status", "created")
    ERROR = "error", _("refused by Kaspi")


class ProductCard(models.Model):
    product = models.OneToOneField(
        "catalog.Product", verbose_name=_("product"), on_delete=models.CASCADE, related_name="kaspi_card"
    )
    status = models.CharField(
        _("card status"), max_length=16, choices=CardStatus.choices, default=CardStatus.NO_MAPPING
    )
    reasons = models.JSONField(_("why not ready"), default=list, blank=True)
    sku = models.CharField(_("SKU"), max_length=64, blank=True)
    kaspi_category = models.CharField(_("Kaspi category"), max_length=512, blank=True)
    card_hash = models.CharField(max_length=32, blank=True, editable=False)
    upload_state = models.CharField(
        _("upload"), max_length=16, choices=UploadState.choices, blank=True, default=UploadState.NONE
    )
    sent_hash = models.CharField(max_length=32, blank=True, editable=False)
    sent_at = models.DateTimeField(_("last sent"), null=True, blank=True)
    message = models.TextField(_("Kaspi's message"), blank=True)
    checked_at = models.DateTimeField(_("checked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("product card")
        verbose_name_plural = _("product cards")
        # By status, with the product: the product list's card filter (and its count) joins the
        # products of one status from this index alone, without reading each card.
        indexes = [models.Index(fields=["status", "product"], name="card_status_product")]

    def __str__(self):
        return f"{self.sku or self.product_id}: {self.get_status_display()}"


class UploadRun(JobRun):
    """One upload: its batches, how many were sent, created, refused; `errors` is the one place
    alerts read (cards refused by Kaspi, plus batches that failed or whose answer was lost)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), null=True, blank=True, on_delete=models.SET_NULL
    )
    resend = models.BooleanField(_("resend requested"), default=False)
    sent = models.PositiveIntegerField(_("sent"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    errors = models.PositiveIntegerField(_("errors"), default=0)
    not_ready = models.PositiveIntegerField(_("not ready"), default=0)
    unknown = models.PositiveIntegerField(_("outcome unknown"), default=0)
    import_codes = models.CharField(_("Kaspi import codes"), max_length=2000, blank=True)

    class Meta(JobRun.Meta):
        verbose_name = _("card upload")
        verbose_name_plural = _("card uploads")


class BatchStatus(models.TextChoices):
    SENDING = "sending", _("sending")
    UPLOADED = "uploaded", _("accepted, Kaspi is processing it")
    FINISHED = "finished", _("finished")
    ABORTED = "aborted", _("aborted by Kaspi")
    REFUSED = "refused", _("refused by Kaspi")
    ANSWER_LOST = "answer_lost", _("answer lost")
    TIMED_OUT = "timed_out", _("still processing when we stopped waiting")


class UploadBatch(models.Model):
    run = models.ForeignKey(UploadRun, verbose_name=_("upload"), on_delete=models.CASCADE, related_name="batches")
    number = models.PositiveIntegerField(_("batch"), default=1)
    status = models.CharField(_("status"), max_length=16, choices=BatchStatus.choices, default=BatchStatus.SENDING)
    import_code = models.CharField(_("Kaspi import code"), max_length=100, blank=True, db_index=True)
    kaspi_status = models.CharField(_("Kaspi's status"), max_length=50, blank=True)
    description = models.TextField(_("Kaspi's description"), blank=True)
    sent = models.PositiveIntegerField(_("sent"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    errors = models.PositiveIntegerField(_("errors"), default=0)
    summary = models.JSONField(_("Kaspi's totals"), default=dict, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    checked_at = models.DateTimeField(_("last checked"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("upload batch")
        verbose_name_plural = _("upload batches")
        ordering = ["run", "number"]

    def __str__(self):
        return f"#{self.run_id}/{self.number} {self.import_code}"


class Outcome(models.TextChoices):
    SENT = "sent", _("sent, waiting for Kaspi")
    CREATED = "created", pgettext_lazy("card status", "created")
    ERROR = "error", _("refused by Kaspi")
    UNKNOWN = "unknown", _("outcome unknown")


class CardOutcome(models.Model):
    batch = models.ForeignKey(UploadBatch, verbose_name=_("batch"), on_delete=models.CASCADE, related_name="outcomes")
    product = models.ForeignKey(
        "catalog.Product", verbose_name=_("product"), on_delete=models.CASCADE, related_name="card_outcomes"
    )
    sku = models.CharField(_("SKU"), max_length=64)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, default=Outcome.SENT)
    message = models.TextField(_("message"), blank=True)
    card_hash = models.CharField(max_length=32, blank=True, editable=False)
    at = models.DateTimeField(_("when"))

    class Meta:
        verbose_name = _("card outcome")
        verbose_name_plural = _("card outcomes")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["product", "-at"])]
        constraints = [models.UniqueConstraint(fields=["batch", "product"], name="cards_outcome_once_per_batch")]

    def __str__(self):
        return f"{self.sku}: {self.get_outcome_display()}"


class RefreshKind(models.TextChoices):
    CLASSIFICATION = "classification", _("Kaspi categories and attributes")
    PROPERTIES = "properties", _("Al-Style properties")


class RefreshRun(JobRun):
    """A refresh of Kaspi's classification or of the Al-Style properties of mapped categories."""

    kind = models.CharField(_("kind"), max_length=16, choices=RefreshKind.choices)

    class Meta(JobRun.Meta):
        verbose_name = _("cards refresh")
        verbose_name_plural = _("cards refreshes")
