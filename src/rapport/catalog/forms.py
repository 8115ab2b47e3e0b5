from __future__ import annotations

from typing import Any

from django import forms

from rapport.catalog.choices import ProductKind
from rapport.catalog.models import Product


class ProductForm(forms.Form):
    sku = forms.CharField(max_length=50, label="SKU")
    name = forms.CharField(max_length=200)
    category = forms.CharField(max_length=100, required=False)
    kind = forms.ChoiceField(choices=ProductKind.choices, initial=ProductKind.PRODUCT)
    unit_price = forms.DecimalField(max_digits=12, decimal_places=2, min_value=0)
    currency = forms.CharField(max_length=3, required=False, help_text="ISO code; empty: base")
    active = forms.BooleanField(required=False, initial=True)
    service_interval_days = forms.IntegerField(
        min_value=1, required=False, help_text="Days between maintenance visits"
    )
    warranty_months = forms.IntegerField(min_value=1, max_value=600, required=False)
    renewal_months = forms.IntegerField(
        min_value=1,
        max_value=600,
        required=False,
        help_text="Contract or subscription term; units get a renewal date",
    )
    upgrade_to = forms.ModelChoiceField(
        queryset=Product.objects.none(), required=False, empty_label="None"
    )
    related = forms.ModelMultipleChoiceField(
        queryset=Product.objects.none(), required=False, help_text="Complementary products"
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, products: Any, exclude: int | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        choices = products.exclude(pk=exclude) if exclude else products
        field_upgrade: Any = self.fields["upgrade_to"]
        field_related: Any = self.fields["related"]
        field_upgrade.queryset = choices
        field_related.queryset = choices


class ExchangeRateForm(forms.Form):
    currency = forms.CharField(max_length=3, help_text="ISO code, e.g. USD")
    rate = forms.DecimalField(max_digits=18, decimal_places=8, help_text="1 unit in base currency")
    valid_from = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
