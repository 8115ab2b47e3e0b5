from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from rapport.customers.forms import COMPANY_PICKER, owner_field
from rapport.sales.choices import DealSource
from rapport.trading.forms import LineFormSet

DATE = forms.DateInput(attrs={"type": "date"})

__all__ = ["DealForm", "LineFormSet", "MoveForm", "NextStepForm", "StageForm", "TargetForm"]


class DealForm(forms.Form):
    name = forms.CharField(max_length=200)
    contact = forms.IntegerField(
        required=False, min_value=1, label="Contact id", help_text="Start from the contact's page"
    )
    company = forms.CharField(
        max_length=200,
        required=False,
        help_text="Type to pick an existing company",
        widget=forms.TextInput(attrs=COMPANY_PICKER),
    )
    others = forms.CharField(
        max_length=500,
        required=False,
        label="Others involved",
        help_text="Contact ids, separated by commas",
    )
    stage = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    amount = forms.DecimalField(
        max_digits=16,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text="Empty with product lines: their total",
    )
    currency = forms.CharField(max_length=3, required=False, help_text="ISO code; empty: base")
    expected_close = forms.DateField(widget=DATE)
    owner = owner_field()
    source = forms.ChoiceField(choices=[("", "—"), *DealSource.choices], required=False)
    next_step = forms.CharField(max_length=200, required=False)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, stage_choices: list[tuple[Any, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["stage"]
        field.choices = stage_choices

    def clean_others(self) -> list[int]:
        ids = [part.strip() for part in self.cleaned_data["others"].split(",") if part.strip()]
        bad = [part for part in ids if not part.isdigit()]
        if bad:
            raise forms.ValidationError(f"{', '.join(bad)}: contact ids are whole numbers.")
        return [int(part) for part in ids]


class MoveForm(forms.Form):
    stage = forms.IntegerField(min_value=1)
    lost_reason = forms.CharField(max_length=1000, required=False, label="Why was it lost?")
    create_order = forms.BooleanField(required=False, label="Place an order of its lines")
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)


class NextStepForm(forms.Form):
    title = forms.CharField(max_length=200, label="Next step")
    due_date = forms.DateField(widget=DATE, label="Due")


class StageForm(forms.Form):
    name = forms.CharField(max_length=100)
    probability = forms.IntegerField(min_value=0, max_value=100, label="Win probability %")


class TargetForm(forms.Form):
    owner = forms.TypedChoiceField(coerce=int, label="For")
    month = forms.DateField(
        widget=forms.DateInput(attrs={"type": "month"}), input_formats=["%Y-%m"]
    )
    amount = forms.DecimalField(max_digits=16, decimal_places=2, min_value=Decimal(0))

    def __init__(self, *args: Any, owner_choices: list[tuple[Any, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["owner"]
        field.choices = owner_choices
