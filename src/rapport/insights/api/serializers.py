from __future__ import annotations

from typing import Any

from rest_framework import serializers

from rapport.insights.models import CompanyScore, CustomerScore, ModelRun


class CustomerScoreSerializer(serializers.ModelSerializer[CustomerScore]):
    contact: serializers.PrimaryKeyRelatedField[Any] = serializers.PrimaryKeyRelatedField(
        read_only=True
    )

    class Meta:
        model = CustomerScore
        fields = [
            "contact", "first_order_on", "last_order_on", "purchases", "spend", "recency_days",
            "recency_score", "frequency_score", "monetary_score", "segment",
            "expected_purchases", "p_alive", "churn_risk", "expected_order_value",
            "lifetime_value", "value_percentile", "valuable_at_risk",
        ]  # fmt: skip
        read_only_fields = fields


class CompanyScoreSerializer(serializers.ModelSerializer[CompanyScore]):
    company: serializers.PrimaryKeyRelatedField[Any] = serializers.PrimaryKeyRelatedField(
        read_only=True
    )

    class Meta:
        model = CompanyScore
        fields = [
            "company", "first_order_on", "last_order_on", "purchases", "spend", "recency_days",
            "recency_score", "frequency_score", "monetary_score", "segment",
            "expected_purchases", "p_alive", "churn_risk", "expected_order_value",
            "lifetime_value", "value_percentile", "valuable_at_risk",
        ]  # fmt: skip
        read_only_fields = fields


class ModelRunSerializer(serializers.ModelSerializer[ModelRun]):
    class Meta:
        model = ModelRun
        fields = [
            "id", "started_at", "finished_at", "status", "customers", "orders", "diagnostics",
            "error",
        ]  # fmt: skip
        read_only_fields = fields
