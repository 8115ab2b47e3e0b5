from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from rapport.customers import queries as customer_queries
from rapport.customers.api.serializers import OwnerField
from rapport.customers.models import Company, Contact
from rapport.interactions.choices import MANUAL_KINDS, Channel, Direction, Outcome
from rapport.interactions.models import Interaction
from rapport.interactions.services import SUBJECT_LENGTH


@extend_schema_field(OpenApiTypes.INT)
class VisibleContactField(serializers.PrimaryKeyRelatedField[Contact]):
    """A contact id the caller may see; others read as "does not exist"."""

    def get_queryset(self) -> Any:
        return customer_queries.contacts(getattr(self.context.get("request"), "user", None))


@extend_schema_field(OpenApiTypes.INT)
class VisibleCompanyField(serializers.PrimaryKeyRelatedField[Company]):
    """A company id the caller may see; others read as "does not exist"."""

    def get_queryset(self) -> Any:
        return customer_queries.companies(getattr(self.context.get("request"), "user", None))


@extend_schema_field(
    {
        "type": "string",
        "enum": [*Channel.values, ""],
        "description": "How it happened: "
        + ", ".join(f"`{value}` {label}" for value, label in Channel.choices)
        + "; empty when unknown.",
    },
    # Its own component: consents have a "channel" too, with other values, and
    # two enums of one name would need a settings-wide rename to tell apart.
    component_name="InteractionChannel",
)
class ChannelField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(choices=Channel.choices, allow_blank=True, **kwargs)


class InteractionSerializer(serializers.ModelSerializer[Interaction]):
    """A touchpoint as read; also the body of PATCH for the fields people may correct."""

    owner = OwnerField(read_only=True, help_text="who had it; null for rows Rapport wrote")
    channel = ChannelField()
    source_type = serializers.SerializerMethodField()

    class Meta:
        model = Interaction
        fields = [
            "id", "kind", "channel", "direction", "occurred_at", "contact", "company",
            "subject", "body", "outcome", "duration_minutes", "owner", "source_type",
            "source_id", "version", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = [
            "id", "contact", "company", "owner", "source_type", "source_id", "version",
            "created_at", "updated_at",
        ]  # fmt: skip

    @extend_schema_field(
        serializers.CharField(
            allow_null=True, help_text="the record it is about, e.g. trading.order; see source_id"
        )
    )
    def get_source_type(self, interaction: Interaction) -> str | None:
        kind = interaction.source_type
        return None if kind is None else f"{kind.app_label}.{kind.model}"


class NewInteractionSerializer(serializers.Serializer[Any]):
    """Log a touchpoint by hand: a call, meeting, e-mail, note, inquiry or visit."""

    kind = serializers.ChoiceField(choices=[(kind.value, kind.label) for kind in MANUAL_KINDS])
    subject = serializers.CharField(max_length=SUBJECT_LENGTH)
    contact = VisibleContactField(
        queryset=Contact.objects.none(), allow_null=True, required=False, default=None
    )
    company = VisibleCompanyField(
        queryset=Company.objects.none(), allow_null=True, required=False, default=None
    )
    occurred_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text="default: now"
    )
    body = serializers.CharField(required=False, allow_blank=True, default="")
    channel = ChannelField(default="")
    direction = serializers.ChoiceField(
        choices=Direction.choices, required=False, allow_blank=True, default=""
    )
    outcome = serializers.ChoiceField(
        choices=Outcome.choices, required=False, allow_blank=True, default=""
    )
    duration_minutes = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=0, max_value=1440
    )
    owner = OwnerField(
        allow_null=True,
        required=False,
        default=None,
        help_text="who had it; default: you (managers and admins may name a colleague)",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("contact") is None and attrs.get("company") is None:
            raise serializers.ValidationError(
                {"contact": ["Say which contact or company this was with."]}
            )
        return attrs
