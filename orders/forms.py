"""Forms of the order action pages (each action is confirmed on its own page)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import CancellationReason
from .services.actions import MAX_COMMENT


class ConfirmForm(forms.Form):
    """Nothing to enter: the page itself is the confirmation."""


class CancelForm(forms.Form):
    # No reason is preselected: one click must never send a cancellation to Kaspi.
    reason = forms.ChoiceField(
        label=_("Why is the order cancelled?"),
        choices=[("", _("— choose the reason —")), *CancellationReason.choices],
        error_messages={"required": _("Choose why the order is cancelled.")},
    )
    comment = forms.CharField(
        label=_("Comment"), max_length=MAX_COMMENT, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    # Kaspi quality guard: an out-of-stock cancellation is the merchant's own, so it is confirmed
    # knowingly, with the share of cancelled orders it leads to shown on the page.
    confirm_out_of_stock = forms.BooleanField(
        label=_("Out of stock: I confirm this cancellation although it raises the share of cancelled orders"),
        required=False,
    )

    def clean(self):
        data = super().clean()
        if data.get("reason") == CancellationReason.MERCHANT_OUT_OF_STOCK and not data.get("confirm_out_of_stock"):
            self.add_error(
                "confirm_out_of_stock",
                _("A cancellation for out of stock counts against the shop at Kaspi: tick the box to confirm it."),
            )
        return data


class CompleteForm(forms.Form):
    code = forms.CharField(label=_("Code from the buyer"), max_length=16, required=False)


class AssembleForm(forms.Form):
    number_of_space = forms.IntegerField(label=_("Number of parcels"), min_value=1, max_value=99, initial=1)


# --- the purchase list --------------------------------------------------------------------------
class PurchaseFilterForm(forms.Form):
    """The purchase list's filters (GET)."""

    until = forms.DateField(
        label=_("Planned delivery on or before"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Orders without a planned date are always listed."),
    )
    warehouse = forms.ChoiceField(label=_("Al-Style warehouse"), required=False)
    delivery_mode = forms.ChoiceField(label=_("Delivery mode"), required=False)
    warnings_only = forms.BooleanField(label=_("With warnings only"), required=False)

    def __init__(self, *args, warehouses=(), **kwargs):
        from .models import DeliveryMode

        super().__init__(*args, **kwargs)
        self.set_warehouses(warehouses)
        self.fields["delivery_mode"].choices = [("", _("all"))] + list(DeliveryMode.choices)

    def set_warehouses(self, codes) -> None:
        from catalog.models.catalog import warehouse_name

        named = sorted((warehouse_name(code), code) for code in set(codes))
        self.fields["warehouse"].choices = [("", _("all"))] + [(code, name) for name, code in named]


class MarkPurchasedForm(forms.Form):
    quantity = forms.IntegerField(label=_("Units bought"), min_value=1)
    unit_price = forms.IntegerField(
        label=_("Price paid per unit, ₸"),
        min_value=1,
        max_value=999_999_999,
        help_text=_("As on Al-Style's document; it replaces the dealer price in the order's margin."),
    )
    document = forms.CharField(label=_("Al-Style document number"), max_length=64)


class UnmarkPurchaseForm(forms.Form):
    reason = forms.CharField(label=_("Why"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}))
