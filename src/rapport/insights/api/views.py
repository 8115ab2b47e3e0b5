from __future__ import annotations

from typing import Any

from rest_framework import mixins, viewsets

from rapport.insights import queries
from rapport.insights.api import serializers as s
from rapport.insights.filtersets import CompanyScoreFilterSet, CustomerScoreFilterSet
from rapport.insights.models import CompanyScore, CustomerScore, ModelRun


class CustomerScoreViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[CustomerScore]
):
    """Scores from the last refresh, one per contact who bought; the id is the contact's."""

    permission_model = CustomerScore
    lookup_field = "contact"
    lookup_value_regex = r"\d+"
    serializer_class = s.CustomerScoreSerializer
    filterset_class = CustomerScoreFilterSet
    ordering_fields = (
        "lifetime_value", "churn_risk", "p_alive", "expected_purchases", "spend",
        "recency_days", "purchases", "contact",
    )  # fmt: skip
    default_ordering = ("-lifetime_value",)

    def get_queryset(self) -> Any:
        return queries.scores(self.request.user)


class CompanyScoreViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[CompanyScore]
):
    """Company scores from every order placed for a company; the id is the company's."""

    permission_model = CompanyScore
    lookup_field = "company"
    lookup_value_regex = r"\d+"
    serializer_class = s.CompanyScoreSerializer
    filterset_class = CompanyScoreFilterSet
    ordering_fields = (
        "lifetime_value", "churn_risk", "p_alive", "expected_purchases", "spend",
        "recency_days", "purchases", "company",
    )  # fmt: skip
    default_ordering = ("-lifetime_value",)

    def get_queryset(self) -> Any:
        return queries.company_scores(self.request.user)


class ModelRunViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[ModelRun]
):
    """Analytics refreshes, newest first, with fitted parameters and checks."""

    permission_model = ModelRun
    serializer_class = s.ModelRunSerializer
    ordering_fields = ("started_at", "id")
    default_ordering = ("-started_at",)

    def get_queryset(self) -> Any:
        return queries.runs(self.request.user)
