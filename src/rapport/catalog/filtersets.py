"""One FilterSet per list: the product list, the API and the export filter alike."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from rapport.catalog.choices import ProductKind
from rapport.catalog.models import ExchangeRate, Product


class ListFilterSet(django_filters.FilterSet):
    """What the list templates need: the filters shown at once and under "More filters"."""

    primary_filters: tuple[str, ...] = ("q",)
    api_only_filters: tuple[str, ...] = ()

    def primary_fields(self) -> list[Any]:
        return [self.form[name] for name in self.primary_filters if name in self.form.fields]

    def more_fields(self) -> list[Any]:
        hidden = (*self.primary_filters, *self.api_only_filters)
        return [self.form[name] for name in self.form.fields if name not in hidden]


class ProductFilterSet(ListFilterSet):
    q = django_filters.CharFilter(method="search", label="Name or SKU")
    kind = django_filters.ChoiceFilter(choices=ProductKind.choices, empty_label="Any kind")
    category = django_filters.CharFilter(lookup_expr="iexact")
    active = django_filters.BooleanFilter(
        widget=forms.Select(choices=[("", "Any"), ("true", "Active"), ("false", "Inactive")])
    )
    currency = django_filters.CharFilter(lookup_expr="iexact", label="Currency")
    serviced = django_filters.BooleanFilter(
        field_name="service_interval_days",
        lookup_expr="isnull",
        exclude=True,
        label="Needs service",
        widget=forms.Select(choices=[("", "Any"), ("true", "Yes"), ("false", "No")]),
    )
    price_min = django_filters.NumberFilter(field_name="unit_price", lookup_expr="gte")
    price_max = django_filters.NumberFilter(field_name="unit_price", lookup_expr="lte")

    primary_filters = ("q", "kind", "active")

    class Meta:
        model = Product
        fields = ["q", "kind", "category", "active", "currency", "serviced"]

    def search(self, queryset: QuerySet[Product], name: str, value: str) -> QuerySet[Product]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(sku__istartswith=value))


class ExchangeRateFilterSet(django_filters.FilterSet):
    currency = django_filters.CharFilter(lookup_expr="iexact")
    valid_on_or_before = django_filters.DateFilter(field_name="valid_from", lookup_expr="lte")

    class Meta:
        model = ExchangeRate
        fields = ["currency", "valid_on_or_before"]
