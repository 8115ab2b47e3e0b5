"""One FilterSet per list (orders, deliveries, assets): web, API and export agree."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone

from rapport.catalog.filtersets import ListFilterSet
from rapport.customers.filtersets import OwnerFilter, owner_choices
from rapport.trading.choices import DeliveryStatus, OrderStatus
from rapport.trading.models import Asset, Delivery, Order, OrderLine

DATE = forms.DateInput(attrs={"type": "date"})


class OrderFilterSet(ListFilterSet):
    q = django_filters.CharFilter(method="search", label="Number or customer")
    status = django_filters.MultipleChoiceFilter(
        distinct=False, choices=OrderStatus.choices, widget=forms.CheckboxSelectMultiple
    )
    owner = OwnerFilter(label="Taken by")
    ordered_from = django_filters.DateFilter(
        field_name="order_date", lookup_expr="gte", widget=DATE, label="Ordered from"
    )
    ordered_until = django_filters.DateFilter(
        field_name="order_date", lookup_expr="lte", widget=DATE, label="Ordered until"
    )
    currency = django_filters.CharFilter(lookup_expr="iexact")
    contact = django_filters.NumberFilter(field_name="contact_id", label="Contact id")
    company = django_filters.NumberFilter(field_name="company_id", label="Company id")
    product = django_filters.NumberFilter(method="with_product", label="Product id")

    primary_filters = ("q", "status", "owner")
    api_only_filters = ("contact", "company", "product")

    class Meta:
        model = Order
        fields = ["q", "status", "owner", "ordered_from", "ordered_until", "currency"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters["owner"].extra["widget"] = forms.Select(choices=owner_choices())

    def search(self, queryset: QuerySet[Order], name: str, value: str) -> QuerySet[Order]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(number__icontains=value)
            | Q(contact__full_name__icontains=value)
            | Q(company__name__icontains=value)
        )

    def with_product(self, queryset: QuerySet[Order], name: str, value: int) -> QuerySet[Order]:
        if value is None:
            return queryset
        return queryset.filter(pk__in=OrderLine.objects.filter(product_id=value).values("order_id"))


class DeliveryFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=DeliveryStatus.choices)
    order = django_filters.NumberFilter(field_name="order_id")

    class Meta:
        model = Delivery
        fields = ["status", "order"]


SERVICE_DUE = [
    ("overdue", "Overdue"),
    ("30", "Due within 30 days"),
    ("90", "Due within 90 days"),
    ("none", "No service planned"),
]


class AssetFilterSet(ListFilterSet):
    q = django_filters.CharFilter(method="search", label="Product, serial or customer")
    due = django_filters.ChoiceFilter(
        choices=SERVICE_DUE, method="service_due", label="Service", empty_label="Any"
    )
    due_before = django_filters.DateFilter(
        field_name="next_service_due", lookup_expr="lte", widget=DATE, label="Service due by"
    )
    renews_before = django_filters.DateFilter(
        field_name="renewal_on", lookup_expr="lte", widget=DATE, label="Renews by"
    )
    product = django_filters.NumberFilter(field_name="product_id", label="Product id")
    contact = django_filters.NumberFilter(field_name="contact_id", label="Contact id")
    company = django_filters.NumberFilter(field_name="company_id", label="Company id")
    category = django_filters.CharFilter(field_name="product__category", lookup_expr="iexact")
    under_warranty = django_filters.BooleanFilter(
        method="warranty",
        label="Under warranty",
        widget=forms.Select(choices=[("", "Any"), ("true", "Yes"), ("false", "No")]),
    )

    primary_filters = ("q", "due")
    api_only_filters = ("product", "contact", "company")

    class Meta:
        model = Asset
        fields = ["q", "due", "due_before", "renews_before", "category", "under_warranty"]

    def search(self, queryset: QuerySet[Asset], name: str, value: str) -> QuerySet[Asset]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(product__name__icontains=value)
            | Q(serial__istartswith=value)
            | Q(contact__full_name__icontains=value)
            | Q(company__name__icontains=value)
        )

    def service_due(self, queryset: QuerySet[Asset], name: str, value: str) -> QuerySet[Asset]:
        today = timezone.localdate()
        if value == "overdue":
            return queryset.filter(next_service_due__lt=today)
        if value in ("30", "90"):
            return queryset.filter(next_service_due__lte=today + timedelta(days=int(value)))
        if value == "none":
            return queryset.filter(next_service_due__isnull=True)
        return queryset

    def warranty(self, queryset: QuerySet[Asset], name: str, value: bool | None) -> QuerySet[Asset]:
        if value is None:
            return queryset
        covered = Q(warranty_end__gte=timezone.localdate())
        return queryset.filter(covered) if value else queryset.exclude(covered)
