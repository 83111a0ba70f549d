"""Kaspi orders as pulled from the Kaspi Shop API: orders, their entries, the timeline, pull runs.

Enumerations are stored as plain strings: Kaspi adds values without notice, and an unknown
value is data to show, not a reason to crash (the choices only give known values a label).
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kaspisync.models import JobRun


class OrderState(models.TextChoices):
    NEW = "NEW", pgettext_lazy("order state", "new")
    SIGN_REQUIRED = "SIGN_REQUIRED", _("signature required")
    PICKUP = "PICKUP", _("pickup")
    DELIVERY = "DELIVERY", _("delivery")
    KASPI_DELIVERY = "KASPI_DELIVERY", _("Kaspi Delivery")
    ARCHIVE = "ARCHIVE", _("archive")


class OrderStatus(models.TextChoices):
    APPROVED_BY_BANK = "APPROVED_BY_BANK", _("approved by bank (waiting for acceptance)")
    ACCEPTED_BY_MERCHANT = "ACCEPTED_BY_MERCHANT", _("accepted by merchant")
    COMPLETED = "COMPLETED", _("completed")
    CANCELLED = "CANCELLED", _("cancelled")
    CANCELLING = "CANCELLING", _("cancelling")
    KASPI_DELIVERY_RETURN_REQUESTED = "KASPI_DELIVERY_RETURN_REQUESTED", _("return requested (Kaspi Delivery)")
    RETURN_ACCEPTED_BY_MERCHANT = "RETURN_ACCEPTED_BY_MERCHANT", _("return accepted by merchant")
    RETURNED = "RETURNED", _("returned")


# Orders in these statuses are settled: they are not re-read by code on every pull.
FINAL_STATUSES = (OrderStatus.COMPLETED, OrderStatus.CANCELLED, OrderStatus.RETURNED)
# Except that a buyer can still return a completed order (KASPI_DELIVERY_RETURN_REQUESTED,
# RETURN_ACCEPTED_BY_MERCHANT, RETURNED): a completed order is re-read by its code for
# RETURN_PERIOD after its last stored change (`changed_at`: for a completed order, when a pull or
# an action stored its completion, or any later change), once every RETURN_CHECK_EVERY. 30 days
# covers the buyer's 14-day return right plus the time a return takes to show up at Kaspi.
RETURN_PERIOD = timedelta(days=30)
RETURN_CHECK_EVERY = timedelta(hours=3)


class OrderAction(models.TextChoices):
    """What staff can do to an order at Kaspi (each behind its permission `orders.<value>_order`)."""

    ACCEPT = "accept", _("Accept the order")
    CANCEL = "cancel", _("Cancel the order")  # never just "Cancel": it reads as "close the dialog"
    COMPLETE = "complete", _("Complete (buyer code)")
    ASSEMBLE = "assemble", _("Assembled (Kaspi Delivery)")

    @property
    def permission(self) -> str:
        return f"orders.{self.value}_order"


# The actions Kaspi allows for an order in each status (its POST /orders transitions); any other
# status allows none. ASSEMBLE is for Kaspi Delivery orders only.
ACTIONS_BY_STATUS = {
    OrderStatus.APPROVED_BY_BANK: (OrderAction.ACCEPT, OrderAction.CANCEL),
    OrderStatus.ACCEPTED_BY_MERCHANT: (OrderAction.CANCEL, OrderAction.COMPLETE, OrderAction.ASSEMBLE),
}
KASPI_DELIVERY_ACTIONS = (OrderAction.ASSEMBLE,)


class PaymentMode(models.TextChoices):
    PAY_WITH_CREDIT = "PAY_WITH_CREDIT", _("credit / instalments")
    PREPAID = "PREPAID", _("prepaid")


class DeliveryMode(models.TextChoices):
    DELIVERY_LOCAL = "DELIVERY_LOCAL", _("local delivery")
    DELIVERY_PICKUP = "DELIVERY_PICKUP", _("pickup")
    DELIVERY_REGIONAL_TODOOR = "DELIVERY_REGIONAL_TODOOR", _("regional, to the door")
    DELIVERY_REGIONAL_PICKUP = "DELIVERY_REGIONAL_PICKUP", _("regional, pickup point")


class CancellationReason(models.TextChoices):
    BUYER_CANCELLATION_BY_MERCHANT = "BUYER_CANCELLATION_BY_MERCHANT", _("the buyer asked to cancel")
    BUYER_NOT_REACHABLE = "BUYER_NOT_REACHABLE", _("the buyer cannot be reached")
    MERCHANT_OUT_OF_STOCK = "MERCHANT_OUT_OF_STOCK", _("out of stock")


def cancellation_reason_label(code: str) -> str:
    return str(CancellationReason(code).label) if code in CancellationReason.values else code


def status_label(code: str) -> str:
    """An order status in words (a status Kaspi adds later reads as sent)."""
    return str(OrderStatus(code).label) if code in OrderStatus.values else code


class Order(models.Model):
    kaspi_id = models.CharField(_("Kaspi id"), max_length=64, unique=True)
    code = models.CharField(_("order number"), max_length=32, db_index=True)
    state = models.CharField(_("state"), max_length=32, choices=OrderState.choices, db_index=True)
    status = models.CharField(_("status"), max_length=48, choices=OrderStatus.choices, db_index=True)
    total_price = models.DecimalField(_("total, ₸"), max_digits=14, decimal_places=2)
    payment_mode = models.CharField(_("payment mode"), max_length=32, choices=PaymentMode.choices, blank=True)
    delivery_mode = models.CharField(_("delivery mode"), max_length=48, choices=DeliveryMode.choices, blank=True)
    is_kaspi_delivery = models.BooleanField(_("Kaspi Delivery"), default=False)
    delivery_cost = models.DecimalField(_("delivery cost, ₸"), max_digits=12, decimal_places=2, default=0)
    delivery_cost_for_seller = models.DecimalField(
        _("delivery cost for seller, ₸"), max_digits=12, decimal_places=2, default=0
    )
    signature_required = models.BooleanField(_("signature required"), default=False)
    pre_order = models.BooleanField(_("pre-order"), default=False)
    credit_term = models.PositiveSmallIntegerField(_("credit term, months"), null=True, blank=True)
    pickup_point_id = models.CharField(_("pickup point"), max_length=64, blank=True)
    city = models.CharField(_("city"), max_length=128, blank=True, db_index=True)
    # Customer personal data: shown only to users with `orders.view_customer_data`.
    customer_name = models.CharField(_("customer name"), max_length=255, blank=True)
    customer_phone = models.CharField(_("customer phone"), max_length=32, blank=True)
    delivery_address = models.TextField(_("delivery address"), blank=True)
    delivery_address_data = models.JSONField(_("delivery address (structured)"), default=dict, blank=True)
    # Dates (Kaspi sends epoch ms, Almaty time; stored aware).
    created_at = models.DateTimeField(pgettext_lazy("order", "created"), db_index=True)
    approved_by_bank_at = models.DateTimeField(_("approved by bank"), null=True, blank=True)
    planned_delivery_at = models.DateTimeField(_("planned delivery"), null=True, blank=True)
    reservation_at = models.DateTimeField(_("reserved until"), null=True, blank=True)
    # Kaspi Delivery.
    waybill = models.CharField(_("waybill"), max_length=500, blank=True)
    waybill_number = models.CharField(_("waybill number"), max_length=64, blank=True)
    courier_transmission_at = models.DateTimeField(_("handed to courier"), null=True, blank=True)
    courier_transmission_planned_at = models.DateTimeField(_("courier pickup planned"), null=True, blank=True)
    express = models.BooleanField(_("express"), default=False)
    returned_to_warehouse = models.BooleanField(_("returned to warehouse"), default=False)
    number_of_space = models.PositiveSmallIntegerField(_("parcels"), null=True, blank=True)
    # Our side.
    cancellation_reason = models.CharField(_("cancellation reason"), max_length=48, blank=True)
    cancellation_comment = models.TextField(_("cancellation comment"), blank=True)
    raw = models.JSONField(_("raw payload"), default=dict, blank=True)
    attributes_hash = models.CharField(max_length=64, editable=False)
    # Bumped by every write (pull or action): a pull writes an order only if the version it read
    # is still there, so an action taken while the pull ran is never overwritten with older data.
    version = models.PositiveIntegerField(default=0, editable=False)
    first_seen_at = models.DateTimeField(_("first seen"), auto_now_add=True)
    changed_at = models.DateTimeField(_("last change"), null=True, blank=True)
    # When a completed order was last re-read by its code to see whether it was returned.
    return_checked_at = models.DateTimeField(_("last checked for a return"), null=True, blank=True)
    # When the order was seen going from waiting for acceptance to accepted (accepted here by
    # staff or auto-accept, or elsewhere and seen by a pull), and how long it had waited since the
    # bank approved it: set once where that happens (`acceptance_values`), never rewritten; empty
    # for an order first seen already accepted. The quality figures read them (orders/quality.py).
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    acceptance_time = models.DurationField(_("waited for acceptance"), null=True, blank=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at"]
        permissions = [
            ("view_customer_data", _("Can see customer personal data (name, phone, address)")),
            ("accept_order", _("Can accept orders at Kaspi")),
            ("cancel_order", _("Can cancel orders at Kaspi")),
            ("complete_order", _("Can complete orders at Kaspi (buyer code)")),
            ("assemble_order", _("Can mark Kaspi Delivery orders as assembled")),
            ("pull_orders", _("Can start an order pull")),
        ]
        indexes = [
            # quality figures (orders/quality.py): cancelled and returned orders by creation date
            # and reason, and acceptance times by creation date, read from the index alone
            models.Index(fields=["status", "created_at", "cancellation_reason"], name="orders_quality_status_idx"),
            models.Index(fields=["created_at", "acceptance_time"], name="orders_quality_accept_idx"),
        ]

    def __str__(self):
        return self.code

    @property
    def cancellation_reason_label(self) -> str:
        """The cancellation reason in words (a reason Kaspi adds later reads as sent)."""
        return cancellation_reason_label(self.cancellation_reason)

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def allowed_actions(self) -> list[OrderAction]:
        """The actions Kaspi allows for this order now, as far as we know its status."""
        return [
            action
            for action in ACTIONS_BY_STATUS.get(self.status, ())
            if self.is_kaspi_delivery or action not in KASPI_DELIVERY_ACTIONS
        ]


def acceptance_values(
    from_status: str, accepted_at: datetime | None, to_status: str, at: datetime, waiting_since: datetime
) -> dict:
    """The Order values a status change at `at` stores about acceptance: `accepted_at` and
    `acceptance_time` (since `waiting_since`: approved by the bank, else created) when an order
    waiting for acceptance becomes accepted and has no acceptance stored yet; else nothing. The
    pull, the actions (manual and auto-accept) and the backfill migration 0011 follow this rule."""
    accepted = from_status == OrderStatus.APPROVED_BY_BANK and to_status == OrderStatus.ACCEPTED_BY_MERCHANT
    if not accepted or accepted_at is not None:
        return {}
    return {"accepted_at": at, "acceptance_time": at - waiting_since}


class QualityReport(Order):
    """The Kaspi quality page's place in the admin (figures from orders/quality.py): a proxy of
    Order, no table of its own. Seen by whoever may view orders."""

    class Meta:
        proxy = True
        verbose_name = _("Kaspi quality")
        verbose_name_plural = _("Kaspi quality: cancellations and returns")
        default_permissions = ()


class OrderEntry(models.Model):
    order = models.ForeignKey(Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="entries")
    kaspi_id = models.CharField(_("Kaspi entry id"), max_length=96)
    entry_number = models.PositiveSmallIntegerField(_("line"), default=0)
    sku = models.CharField(_("merchant SKU"), max_length=64, blank=True, db_index=True)
    product = models.ForeignKey(
        "catalog.Product",
        verbose_name=_("catalog product"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="order_entries",
    )
    name = models.CharField(_("Kaspi product name"), max_length=1000, blank=True)
    master_product_code = models.CharField(_("Kaspi product code"), max_length=64, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=3)
    unit_type = models.CharField(_("unit"), max_length=32, blank=True)
    base_price = models.DecimalField(_("unit price, ₸"), max_digits=14, decimal_places=2)
    total_price = models.DecimalField(_("line total, ₸"), max_digits=14, decimal_places=2)
    delivery_cost = models.DecimalField(_("delivery cost, ₸"), max_digits=12, decimal_places=2, default=0)
    category_code = models.CharField(_("Kaspi category"), max_length=255, blank=True)
    # Set when Kaspi refused the product lookup for this entry (e.g. 404): the SKU is unknown.
    sku_error = models.CharField(_("SKU lookup error"), max_length=500, blank=True)
    # The catalog's dealer price and Kaspi commission when the entry was first stored: the order's
    # margin stays what it was when sold, whatever later imports and rules do (empty: unmatched then).
    dealer_price_at_order = models.PositiveIntegerField(_("dealer price when ordered, ₸"), null=True, blank=True)
    commission_percent_at_order = models.DecimalField(
        _("Kaspi commission when ordered, %"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    raw = models.JSONField(_("raw payload"), default=dict, blank=True)

    class Meta:
        verbose_name = _("order entry")
        verbose_name_plural = _("order entries")
        ordering = ["order", "entry_number"]
        constraints = [models.UniqueConstraint(fields=["order", "kaspi_id"], name="orders_entry_unique_per_order")]

    def __str__(self):
        return f"{self.sku or self.master_product_code} × {self.quantity}"

    @property
    def is_matched(self) -> bool:
        return self.product_id is not None

    @classmethod
    def waiting_for_product(cls):
        """Entries whose SKU matched no catalog product when stored: matched once it is imported."""
        return cls.objects.filter(product__isnull=True).exclude(sku="")


class MasterProductSku(models.Model):
    """Kaspi's answer to "which merchant SKU is this Kaspi product" (`/masterproducts/{id}/
    merchantProduct`), kept so that a product is asked about once, not once per order."""

    master_product_id = models.CharField(_("Kaspi product id"), max_length=128, unique=True)
    sku = models.CharField(_("merchant SKU"), max_length=64, blank=True)
    looked_up_at = models.DateTimeField(_("asked"))

    class Meta:
        verbose_name = _("Kaspi product SKU")
        verbose_name_plural = _("Kaspi product SKUs")

    def __str__(self):
        return f"{self.master_product_id} → {self.sku}"


class EventSource(models.TextChoices):
    PULL = "pull", _("pull from Kaspi")
    USER = "user", _("user action")
    AUTO = "auto", _("auto-accept")


class OrderEvent(models.Model):
    """One line of an order's timeline: a state/status change, by a pull or by a user."""

    order = models.ForeignKey(Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("when"), db_index=True)
    source = models.CharField(_("source"), max_length=8, choices=EventSource.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), null=True, blank=True, on_delete=models.SET_NULL
    )
    from_state = models.CharField(_("from state"), max_length=32, blank=True)
    to_state = models.CharField(_("to state"), max_length=32, blank=True)
    from_status = models.CharField(_("from status"), max_length=48, blank=True)
    to_status = models.CharField(_("to status"), max_length=48, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("timeline event")
        verbose_name_plural = _("timeline events")
        ordering = ["order", "at", "pk"]
        indexes = [
            # an order's acceptance or cancellation event (orders/quality.py), from the index alone
            models.Index(fields=["order", "to_status", "from_status", "at"], name="orders_event_status_idx"),
        ]

    def __str__(self):
        return f"{self.from_status or '—'} → {self.to_status}"

    @staticmethod
    def _label(choices, value: str) -> str:
        return str(choices(value).label) if value in choices.values else value  # unknown values as sent

    @property
    def note_display(self) -> str:
        """The note in words: cancellation reasons stored as Kaspi's codes read as their labels."""
        note = self.note
        for code in CancellationReason.values:
            if code in note:
                note = note.replace(code, cancellation_reason_label(code))
        return note

    @property
    def from_display(self) -> str:
        return " / ".join(
            filter(None, [self._label(OrderState, self.from_state), self._label(OrderStatus, self.from_status)])
        )

    @property
    def to_display(self) -> str:
        return " / ".join(
            filter(None, [self._label(OrderState, self.to_state), self._label(OrderStatus, self.to_status)])
        )


class PullRun(JobRun):
    window_start = models.DateTimeField(_("window start"), null=True, blank=True)
    window_end = models.DateTimeField(_("window end"), null=True, blank=True)
    orders_seen = models.PositiveIntegerField(_("orders seen"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    refreshed_by_code = models.PositiveIntegerField(_("refreshed by code"), default=0)
    events = models.PositiveIntegerField(_("timeline events"), default=0)
    entries_written = models.PositiveIntegerField(_("entries written"), default=0)
    unmatched_entries = models.PositiveIntegerField(_("unmatched entries"), default=0)
    errors = models.PositiveIntegerField(_("errors"), default=0)

    class Meta(JobRun.Meta):
        verbose_name = _("order pull")
        verbose_name_plural = _("order pulls")


# --- buying the goods from Al-Style (the purchase list) ----------------------------------------
class PurchaseList(OrderEntry):
    """The purchase list's admin page and its permission. Proxy of the order entries it is made
    of; the page itself shows them aggregated per Al-Style article (orders.purchase_list)."""

    class Meta:
        proxy = True
        verbose_name = _("purchase list")
        verbose_name_plural = _("purchase list")
        default_permissions = ()
        permissions = [("view_purchase_list", _("Can see the purchase list (what to buy from Al-Style)"))]


class Purchase(models.Model):
    """Units of one order entry bought from Al-Style: with Al-Style's document number and the
    price actually paid, which replaces the estimate in the order's margin. A purchase is never
    deleted: unmarking it keeps the row (who, when, why). The entry may later disappear (Kaspi
    no longer lists it); the order, the product and the article stay, and so does the stock
    reservation the purchase holds until the next catalog import (orders.purchase_list)."""

    order = models.ForeignKey(Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="purchases")
    entry = models.ForeignKey(
        OrderEntry,
        verbose_name=_("order entry"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="purchases",
    )
    product = models.ForeignKey(
        "catalog.Product",
        verbose_name=_("catalog product"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="purchases",
    )
    article = models.PositiveIntegerField(_("article"), db_index=True)
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = models.PositiveIntegerField(_("price paid per unit, ₸"))
    document = models.CharField(_("Al-Style document number"), max_length=64)
    recorded_at = models.DateTimeField(_("recorded"), db_index=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    unmarked_at = models.DateTimeField(_("unmarked"), null=True, blank=True, db_index=True)
    unmarked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("unmarked by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    unmark_reason = models.CharField(_("why unmarked"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("purchase from Al-Style")
        verbose_name_plural = _("purchases from Al-Style")
        ordering = ["-recorded_at", "-pk"]
        default_permissions = ("view",)
        permissions = [("mark_purchased", _("Can mark goods as bought from Al-Style, and unmark them"))]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="orders_purchase_quantity_positive"),
            models.CheckConstraint(condition=models.Q(unit_price__gt=0), name="orders_purchase_price_positive"),
        ]

    def __str__(self):
        return f"{self.article} × {self.quantity} ({self.document})"

    @property
    def is_active(self) -> bool:
        return self.unmarked_at is None


# --- auto-accept (orders.services.autoaccept) ----------------------------------------------------
class AutoAcceptSettings(models.Model):
    """The auto-accept switch and its daily cap (one row). Off until staff turn it on."""

    SINGLETON_ID = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_ID, editable=False)
    enabled = models.BooleanField(_("accept matching orders automatically"), default=False)
    enabled_at = models.DateTimeField(
        _("on since"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("Only orders that arrive while auto-accept is on are accepted automatically."),
    )
    daily_cap = models.PositiveIntegerField(
        _("at most this many orders a day"), default=20, validators=[MinValueValidator(1)]
    )
    changed_by = models.CharField(_("changed by"), max_length=150, blank=True, editable=False)
    changed_at = models.DateTimeField(_("changed at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("auto-accept settings")
        verbose_name_plural = _("auto-accept settings")
        permissions = [("switch_autoaccept", _("Can turn auto-accept on and off"))]

    def __str__(self):
        return str(self._meta.verbose_name)

    @classmethod
    def load(cls) -> "AutoAcceptSettings":
        return cls.objects.get_or_create(id=cls.SINGLETON_ID)[0]


class AutoAcceptRule(models.Model):
    """Which waiting orders may be accepted without a person. Every rule also requires every
    entry to be matched to a catalog product with enough Al-Style stock (as last imported)."""

    name = models.CharField(pgettext_lazy("object name", "name"), max_length=100, unique=True)
    is_active = models.BooleanField(pgettext_lazy("auto-accept rule", "active"), default=True)
    max_total = models.DecimalField(
        _("order total up to, ₸"), max_digits=14, decimal_places=2, validators=[MinValueValidator(0)]
    )
    delivery_modes = models.JSONField(_("delivery modes"), default=list)
    payment_modes = models.JSONField(_("payment modes"), default=list)
    position = models.PositiveSmallIntegerField(_("order of checking"), default=0)

    class Meta:
        verbose_name = _("auto-accept rule")
        verbose_name_plural = _("auto-accept rules")
        ordering = ["position", "pk"]

    def __str__(self):
        return self.name

    def clean(self):
        errors = {}
        if not self.delivery_modes:
            errors["delivery_modes"] = _("Choose at least one delivery mode.")
        if not self.payment_modes:
            errors["payment_modes"] = _("Choose at least one payment mode.")
        if errors:
            raise ValidationError(errors)


class AutoAcceptOutcome(models.TextChoices):
    ACCEPTED = "accepted", _("accepted automatically")
    HELD = "held", _("left for staff: a condition is not met")
    CAPPED = "capped", _("left for staff: the daily cap is reached")
    SENDING = "sending", _("being accepted at Kaspi")
    UNKNOWN = "unknown", _("outcome at Kaspi unknown")
    REFUSED = "refused", _("Kaspi refused")


class AutoAcceptCheck(models.Model):
    """Auto-accept's decision on one order, made once (never repeated: an acceptance is sent to
    Kaspi at most once per order). `reasons` name the conditions that failed, or Kaspi's answer."""

    order = models.OneToOneField(Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="autoaccept")
    checked_at = models.DateTimeField(_("checked at"), db_index=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=AutoAcceptOutcome.choices)
    rule = models.ForeignKey(
        AutoAcceptRule, verbose_name=_("rule"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rule_name = models.CharField(_("rule"), max_length=100, blank=True)
    reasons = models.JSONField(_("reasons"), default=list, blank=True)

    class Meta:
        verbose_name = _("auto-accept decision")
        verbose_name_plural = _("auto-accept decisions")
        ordering = ["-checked_at"]

    def __str__(self):
        return f"{self.order} — {self.get_outcome_display()}"


class QualityWatch(models.Model):
    """Where the 30-day share of cancelled orders stood at the last check (orders/services/quality.py):
    a crossing of 3 % or 4 % is alerted once, when this level changes. One row."""

    SINGLETON_ID = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_ID, editable=False)
    level = models.CharField(_("level"), max_length=8, default="green")
    crossings = models.PositiveIntegerField(_("crossings so far"), default=0)
    orders = models.PositiveIntegerField(_("orders in 30 days"), default=0)
    cancelled = models.PositiveIntegerField(_("cancelled in 30 days"), default=0)
    checked_at = models.DateTimeField(_("last checked"), null=True, blank=True)
    changed_at = models.DateTimeField(_("level changed"), null=True, blank=True)

    class Meta:
        verbose_name = _("Kaspi quality watch")
        verbose_name_plural = _("Kaspi quality watch")

    def __str__(self):
        return f"{self.level}: {self.cancelled}/{self.orders}"
