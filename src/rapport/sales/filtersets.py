"""One FilterSet for deals: the list, the board, the API and the export agree."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from rapport.catalog.filtersets import ListFilterSet
from rapport.customers.filtersets import OwnerFilter, owner_choices
from rapport.sales.choices import DealSource, DealStatus
from rapport.sales.models import Deal, DealLine
from rapport.sales.services import stale_before

DATE = forms.DateInput(attrs={"type": "date"})
YES_NO = [("", "Any"), ("true", "Yes"), ("false", "No")]


class DealFilterSet(ListFilterSet):
    q = django_filters.CharFilter(method="search", label="Name or customer")
    status = django_filters.MultipleChoiceFilter(
        distinct=False, choices=DealStatus.choices, widget=forms.CheckboxSelectMultiple
    )
    owner = OwnerFilter(label="Owner")
    pipeline = django_filters.NumberFilter(field_name="pipeline_id", label="Pipeline id")
    stage = django_filters.NumberFilter(field_name="stage_id", label="Stage id")
    source = django_filters.ChoiceFilter(choices=DealSource.choices, empty_label="Any source")
    closes_from = django_filters.DateFilter(
        field_name="expected_close", lookup_expr="gte", widget=DATE, label="Expected close from"
    )
    closes_until = django_filters.DateFilter(
        field_name="expected_close", lookup_expr="lte", widget=DATE, label="Expected close until"
    )
    amount_min = django_filters.NumberFilter(
        field_name="amount_base", lookup_expr="gte", label="Amount (base) from"
    )
    amount_max = django_filters.NumberFilter(
        field_name="amount_base", lookup_expr="lte", label="Amount (base) up to"
    )
    stale = django_filters.BooleanFilter(
        method="stale_deals", label="Stale", widget=forms.Select(choices=YES_NO)
    )
    currency = django_filters.CharFilter(lookup_expr="iexact")
    contact = django_filters.NumberFilter(field_name="contact_id", label="Contact id")
    company = django_filters.NumberFilter(field_name="company_id", label="Company id")
    product = django_filters.NumberFilter(method="with_product", label="Product id")

    primary_filters = ("q", "status", "owner")
    api_only_filters = ("pipeline", "stage", "contact", "company", "product")

    class Meta:
        model = Deal
        fields = [
            "q", "status", "owner", "pipeline", "stage", "source", "closes_from",
            "closes_until", "amount_min", "amount_max", "stale", "currency",
        ]  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters["owner"].extra["widget"] = forms.Select(choices=owner_choices())

    def search(self, queryset: QuerySet[Deal], name: str, value: str) -> QuerySet[Deal]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(name__icontains=value)
            | Q(contact__full_name__icontains=value)
            | Q(company__name__icontains=value)
        )

    def stale_deals(
        self, queryset: QuerySet[Deal], name: str, value: bool | None
    ) -> QuerySet[Deal]:
        if value is None:
            return queryset
        stale = Q(status=DealStatus.OPEN, last_activity_at__lt=stale_before())
        return queryset.filter(stale) if value else queryset.exclude(stale)

    def with_product(self, queryset: QuerySet[Deal], name: str, value: int) -> QuerySet[Deal]:
        if value is None:
            return queryset
        return queryset.filter(pk__in=DealLine.objects.filter(product_id=value).values("deal_id"))
