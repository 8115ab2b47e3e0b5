"""Filters for customer and company scores (API; the same names as the contact list's)."""

from __future__ import annotations

import django_filters

from rapport.insights.models import SEGMENT_CHOICES, CompanyScore, CustomerScore


class ScoreFilterSet(django_filters.FilterSet):
    """The filters both kinds of scores share; subclasses name the model."""

    segment = django_filters.MultipleChoiceFilter(distinct=False, choices=SEGMENT_CHOICES)
    valuable_at_risk = django_filters.BooleanFilter()
    min_lifetime_value = django_filters.NumberFilter(field_name="lifetime_value", lookup_expr="gte")
    min_churn_risk = django_filters.NumberFilter(field_name="churn_risk", lookup_expr="gte")
    max_p_alive = django_filters.NumberFilter(field_name="p_alive", lookup_expr="lte")


class CustomerScoreFilterSet(ScoreFilterSet):
    class Meta:
        model = CustomerScore
        fields = ["segment", "valuable_at_risk"]


class CompanyScoreFilterSet(ScoreFilterSet):
    class Meta:
        model = CompanyScore
        fields = ["segment", "valuable_at_risk"]
