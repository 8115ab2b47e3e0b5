from __future__ import annotations

from django import forms

from rapport.catalog.models import Product
from rapport.insights.models import TierSatisfaction
from rapport.insights.rfm import SEGMENT_LABELS


class TierForm(forms.Form):
    name = forms.CharField(max_length=50)
    min_lifetime_value = forms.DecimalField(
        min_value=0, decimal_places=2, max_digits=16, label="Lifetime value at least"
    )
    min_tenure_days = forms.IntegerField(min_value=0, label="Customer for at least (days)")
    min_satisfaction = forms.ChoiceField(
        choices=TierSatisfaction.choices,
        required=False,
        label="Satisfaction",
        help_text="from their latest CSAT and NPS answers",
    )
    privileges = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        label="Privileges for staff to offer",
    )


def _codes(text: str) -> list[str]:
    return [code for code in text.replace(";", ",").replace(" ", ",").split(",") if code]


class OfferRuleForm(forms.Form):
    product = forms.ModelChoiceField(
        queryset=Product.objects.filter(deleted_at__isnull=True).order_by("name"),
        required=False,
        empty_label="(a whole category instead)",
    )
    category = forms.CharField(max_length=100, required=False, help_text="or every product in it")
    languages = forms.CharField(
        required=False, help_text="language codes, comma-separated: de, fr-CA", label="Languages"
    )
    countries = forms.CharField(
        required=False, help_text="country codes of a postal address: DE, AT, CH"
    )
    segments = forms.MultipleChoiceField(
        choices=[(str(key), label) for key, label in SEGMENT_LABELS.items()],
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text="RFM segments from the last refresh",
    )
    note = forms.CharField(max_length=300, required=False, help_text="why, for colleagues")

    def clean_languages(self) -> list[str]:
        return _codes(self.cleaned_data["languages"])

    def clean_countries(self) -> list[str]:
        return _codes(self.cleaned_data["countries"])
