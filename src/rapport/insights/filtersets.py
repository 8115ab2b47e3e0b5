"""Filters for customer scores (API; the same names as the contact list's)."""

from __future__ import annotations

import django_filters

from rapport.insights.models import SEGMENT_CHOICES, CustomerScore


class CustomerScoreFilterSet(django_filters.FilterSet):
    segment = django_filters.MultipleChoiceFilter(choices=SEGMENT_CHOICES)
    valuable_at_risk = django_filters.BooleanFilter()
    min_lifetime_value = django_filters.NumberFilter(field_name="lifetime_value", lookup_expr="gte")
    min_churn_risk = django_filters.NumberFilter(field_name="churn_risk", lookup_expr="gte")
    max_p_alive = django_filters.NumberFilter(field_name="p_alive", lookup_expr="lte")

    class Meta:
        model = CustomerScore
        fields = ["segment", "valuable_at_risk"]
