"""Forms of the order action pages (each action is confirmed on its own page)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import CancellationReason
from .services.actions import MAX_COMMENT


class ConfirmForm(forms.Form):
    """Nothing to enter: the page itself is the confirmation."""


class CancelForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=CancellationReason.choices)
    comment = forms.CharField(
        label=_("Comment"), max_length=MAX_COMMENT, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class CompleteForm(forms.Form):
    code = forms.CharField(label=_("Code from the buyer"), max_length=16, required=False)


class AssembleForm(forms.Form):
    number_of_space = forms.IntegerField(label=_("Number of parcels"), min_value=1, max_value=99, initial=1)
