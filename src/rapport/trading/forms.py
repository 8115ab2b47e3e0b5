from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from rapport.customers.forms import COMPANY_PICKER, owner_field
from rapport.trading.choices import OrderStatus

DATE = forms.DateInput(attrs={"type": "date"})


class OrderForm(forms.Form):
    contact = forms.IntegerField(
        required=False, min_value=1, label="Contact id", help_text="Start from the contact's page"
    )
    company = forms.CharField(
        max_length=200,
        required=False,
        help_text="Type to pick an existing company",
        widget=forms.TextInput(attrs=COMPANY_PICKER),
    )
    order_date = forms.DateField(widget=DATE)
    currency = forms.CharField(max_length=3, required=False, help_text="ISO code; empty: base")
    status = forms.ChoiceField(
        choices=[(OrderStatus.PLACED, "Placed"), (OrderStatus.QUOTE, "Quote")],
        initial=OrderStatus.PLACED,
    )
    owner = owner_field()
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class LineForm(forms.Form):
    """One order line; a row without a product is left out."""

    product = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    quantity = forms.DecimalField(
        max_digits=12, decimal_places=3, min_value=Decimal("0.001"), required=False
    )
    unit_price = forms.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, required=False, help_text="empty: list price"
    )
    discount_percent = forms.DecimalField(
        max_digits=5,
        decimal_places=2,
        min_value=0,
        max_value=100,
        required=False,
        label="Discount %",
    )
    description = forms.CharField(max_length=300, required=False)

    def __init__(self, *args: Any, product_choices: list[tuple[Any, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["product"]
        field.choices = product_choices

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("product") and not data.get("quantity"):
            self.add_error("quantity", "How many?")
        return data


LineFormSet = forms.formset_factory(LineForm, extra=3, max_num=100)


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=OrderStatus.choices)
    on = forms.DateField(required=False, widget=DATE, label="On")
    reason = forms.CharField(max_length=300, required=False)


class ShipForm(forms.Form):
    carrier = forms.CharField(max_length=100, required=False)
    tracking = forms.CharField(max_length=100, required=False)
    notes = forms.CharField(max_length=1000, required=False)


class AssetForm(forms.Form):
    serial = forms.CharField(max_length=100, required=False)
    bought_on = forms.DateField(widget=DATE)
    installed_on = forms.DateField(widget=DATE, required=False)
    warranty_end = forms.DateField(widget=DATE, required=False)
    renewal_on = forms.DateField(
        widget=DATE, required=False, label="Renews on", help_text="Contract or subscription"
    )
    last_serviced_on = forms.DateField(widget=DATE, required=False)
    next_service_due = forms.DateField(
        widget=DATE, required=False, help_text="Computed; change it to postpone"
    )
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class ServiceForm(forms.Form):
    on = forms.DateField(widget=DATE, label="Serviced on")
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
