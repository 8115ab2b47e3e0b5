from __future__ import annotations

from django import forms


class TierForm(forms.Form):
    name = forms.CharField(max_length=50)
    min_lifetime_value = forms.DecimalField(
        min_value=0, decimal_places=2, max_digits=16, label="Lifetime value at least"
    )
    min_tenure_days = forms.IntegerField(min_value=0, label="Customer for at least (days)")
    privileges = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        label="Privileges for staff to offer",
    )
