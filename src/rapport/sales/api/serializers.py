from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from rapport.customers.api.serializers import OwnerField, VisibleCompanyField
from rapport.customers.models import Company, Contact
from rapport.sales import queries
from rapport.sales.choices import DealSource, DealStatus, StageKind
from rapport.sales.models import Deal, DealLine, Pipeline, Stage, StageChange
from rapport.trading.api.serializers import LineWriteSerializer, VisibleContactField

STATUS_VALUES = ", ".join(DealStatus.values)
SOURCE_VALUES = ", ".join(DealSource.values)


def money_field(help_text: str = "") -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=16, decimal_places=2, read_only=True, help_text=help_text or None
    )


class VisibleStageField(serializers.PrimaryKeyRelatedField[Stage]):
    def get_queryset(self) -> Any:
        request = self.context.get("request")
        return queries.stages(getattr(request, "user", None))


class StageSerializer(serializers.ModelSerializer[Stage]):
    kind = serializers.CharField(read_only=True, help_text=", ".join(StageKind.values))

    class Meta:
        model = Stage
        fields = ["id", "name", "position", "probability", "kind"]
        read_only_fields = fields


class PipelineSerializer(serializers.ModelSerializer[Pipeline]):
    stages = StageSerializer(many=True, read_only=True)

    class Meta:
        model = Pipeline
        fields = ["id", "name", "is_default", "active", "position", "stages", "version"]
        read_only_fields = fields


class DealLineSerializer(serializers.ModelSerializer[DealLine]):
    product_name = serializers.CharField(source="product.name", read_only=True)
    sku = serializers.CharField(source="product.sku", read_only=True)

    class Meta:
        model = DealLine
        fields = [
            "id", "position", "product", "sku", "product_name", "description", "quantity",
            "unit_price", "discount_percent", "line_total",
        ]  # fmt: skip
        read_only_fields = fields


class StageChangeSerializer(serializers.ModelSerializer[StageChange]):
    class Meta:
        model = StageChange
        fields = ["id", "from_stage", "to_stage", "changed_by", "changed_at", "note"]
        read_only_fields = fields


class DealListSerializer(serializers.ModelSerializer[Deal]):
    status = serializers.CharField(read_only=True, help_text=STATUS_VALUES)
    amount = money_field()
    amount_base = money_field("The amount in the base currency")
    stage_name = serializers.CharField(source="stage.name", read_only=True)
    probability = serializers.IntegerField(source="stage.probability", read_only=True)

    class Meta:
        model = Deal
        fields = [
            "id", "name", "pipeline", "stage", "stage_name", "probability", "status", "contact",
            "company", "amount", "currency", "amount_base", "expected_close", "closed_on",
            "owner", "next_step", "last_activity_at", "version", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class DealSerializer(DealListSerializer):
    """A deal as read, with its product lines and stage history."""

    lines = DealLineSerializer(many=True, read_only=True)
    stage_changes = StageChangeSerializer(many=True, read_only=True)
    # A field named like a Field attribute: fine at runtime, a clash for the stubs.
    source = serializers.CharField(read_only=True, help_text=SOURCE_VALUES)  # type: ignore[assignment]

    class Meta(DealListSerializer.Meta):
        fields = [
            *DealListSerializer.Meta.fields, "source", "lost_reason", "next_step_due", "notes",
            "order", "exchange_rate", "custom_fields", "contacts", "lines", "stage_changes",
            "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class NewDealSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200)
    expected_close = serializers.DateField()
    contact = VisibleContactField(
        queryset=Contact.objects.none(), required=False, allow_null=True, default=None
    )
    company = VisibleCompanyField(
        queryset=Company.objects.none(), required=False, allow_null=True, default=None
    )
    stage = VisibleStageField(
        queryset=Stage.objects.none(),
        required=False,
        allow_null=True,
        default=None,
        help_text="An open stage; default: the first stage of the default pipeline",
    )
    amount = serializers.DecimalField(
        max_digits=16,
        decimal_places=2,
        min_value=Decimal(0),
        required=False,
        allow_null=True,
        default=None,
        help_text="Omit with lines: the lines' total",
    )
    currency = serializers.CharField(max_length=3, required=False, allow_blank=True, default="")
    owner = OwnerField(allow_null=True, required=False, default=None)
    source = serializers.CharField(  # type: ignore[assignment]
        max_length=10, required=False, allow_blank=True, default="", help_text=SOURCE_VALUES
    )
    next_step = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    next_step_due = serializers.DateField(required=False, allow_null=True, default=None)
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    lines = LineWriteSerializer(many=True, required=False, default=list)
    custom_fields = serializers.DictField(required=False, default=dict)
    contacts = VisibleContactField(
        queryset=Contact.objects.none(),
        many=True,
        required=False,
        default=list,
        help_text="Others involved besides contact",
    )


class DealChangeSerializer(serializers.Serializer[Any]):
    """PATCH: any of these; ``lines`` replaces all lines. Stages move with ``/move``."""

    name = serializers.CharField(max_length=200, required=False)
    expected_close = serializers.DateField(required=False)
    contact = VisibleContactField(queryset=Contact.objects.none(), required=False, allow_null=True)
    company = VisibleCompanyField(queryset=Company.objects.none(), required=False, allow_null=True)
    amount = serializers.DecimalField(
        max_digits=16, decimal_places=2, min_value=Decimal(0), required=False
    )
    currency = serializers.CharField(max_length=3, required=False)
    owner = OwnerField(allow_null=True, required=False)
    source = serializers.CharField(max_length=10, required=False, allow_blank=True)  # type: ignore[assignment]
    next_step = serializers.CharField(max_length=200, required=False, allow_blank=True)
    next_step_due = serializers.DateField(required=False, allow_null=True)
    notes = serializers.CharField(required=False, allow_blank=True)
    lines = LineWriteSerializer(many=True, required=False)
    custom_fields = serializers.DictField(required=False)
    contacts = VisibleContactField(
        queryset=Contact.objects.none(), many=True, required=False, help_text="Replaces them all"
    )


class MoveSerializer(serializers.Serializer[Any]):
    stage = VisibleStageField(
        queryset=Stage.objects.none(), help_text="A stage of the same pipeline"
    )
    lost_reason = serializers.CharField(
        max_length=1000,
        required=False,
        allow_blank=True,
        default="",
        help_text="Required when lost",
    )
    create_order = serializers.BooleanField(
        required=False, default=False, help_text="When won: place an order of the deal's lines"
    )
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
