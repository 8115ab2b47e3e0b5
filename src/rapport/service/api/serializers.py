from __future__ import annotations

from typing import Any, ClassVar

from rest_framework import serializers

from rapport.customers.api.serializers import OwnerField, VisibleCompanyField
from rapport.customers.models import Company, Contact
from rapport.service.choices import Priority, TicketChannel, TicketStatus
from rapport.service.models import (
    Attachment,
    BusinessCalendar,
    Holiday,
    SlaPolicy,
    Ticket,
    TicketMessage,
)
from rapport.trading import queries as trading_queries
from rapport.trading.api.serializers import VisibleContactField
from rapport.trading.models import Asset
from rapport.users.models import Team

# drf-spectacular names enum components after the field ("status", "kind",
# "channel") and warns when other apps use the same names for other choice
# sets; so these are strings whose values the help text lists and the
# services validate (400 naming the field). See the report: adding
# ENUM_NAME_OVERRIDES for them in settings would give them real enums.
STATUS_HELP = "One of: " + ", ".join(TicketStatus.values)
CHANNEL_HELP = "One of: " + ", ".join(TicketChannel.values)
KIND_HELP = "One of: reply (public, e-mailed), note (internal), inbound (from the customer)"


class VisibleAssetField(serializers.PrimaryKeyRelatedField[Asset]):
    """A unit of the installed base the caller may see."""

    def get_queryset(self) -> Any:
        request = self.context.get("request")
        return trading_queries.assets(getattr(request, "user", None))


class TicketListSerializer(serializers.ModelSerializer[Ticket]):
    reference = serializers.CharField(read_only=True)
    contact_name = serializers.CharField(source="contact", read_only=True, default=None)
    company_name = serializers.CharField(source="company", read_only=True, default=None)
    assignee_name = serializers.CharField(source="assignee", read_only=True, default=None)
    status = serializers.CharField(read_only=True, help_text=STATUS_HELP)
    channel = serializers.CharField(read_only=True, help_text=CHANNEL_HELP)

    class Meta:
        model = Ticket
        fields = [
            "id", "reference", "subject", "status", "priority", "channel", "contact",
            "contact_name", "company", "company_name", "asset", "assignee", "assignee_name",
            "team", "requester_email", "sla_policy", "first_response_due", "first_response_at",
            "resolution_due", "resolved_at", "closed_at", "version", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class TicketSerializer(TicketListSerializer):
    class Meta(TicketListSerializer.Meta):
        fields = [*TicketListSerializer.Meta.fields, "description", "paused_minutes"]
        read_only_fields = fields


class NewTicketSerializer(serializers.Serializer[Any]):
    subject = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    contact = VisibleContactField(
        queryset=Contact.objects.none(), required=False, allow_null=True, default=None
    )
    company = VisibleCompanyField(
        queryset=Company.objects.none(), required=False, allow_null=True, default=None
    )
    asset = VisibleAssetField(
        queryset=Asset.objects.none(), required=False, allow_null=True, default=None
    )
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.NORMAL)
    channel = serializers.CharField(default=TicketChannel.WEB, help_text=CHANNEL_HELP)
    assignee = OwnerField(required=False, allow_null=True, default=None)
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), required=False, allow_null=True, default=None
    )
    requester_email = serializers.EmailField(required=False, allow_blank=True, default="")


class TicketChangeSerializer(serializers.Serializer[Any]):
    subject = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    contact = VisibleContactField(queryset=Contact.objects.none(), required=False, allow_null=True)
    company = VisibleCompanyField(queryset=Company.objects.none(), required=False, allow_null=True)
    asset = VisibleAssetField(queryset=Asset.objects.none(), required=False, allow_null=True)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    channel = serializers.CharField(required=False, help_text=CHANNEL_HELP)
    assignee = OwnerField(required=False, allow_null=True)
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), required=False, allow_null=True
    )


class TicketStatusChangeSerializer(serializers.Serializer[Any]):
    status = serializers.CharField(help_text=STATUS_HELP)


class AttachmentSerializer(serializers.ModelSerializer[Attachment]):
    class Meta:
        model = Attachment
        fields = ["id", "filename", "content_type", "size"]
        read_only_fields = fields


class TicketMessageSerializer(serializers.ModelSerializer[TicketMessage]):
    author_name = serializers.CharField(source="author", read_only=True, default=None)
    attachments = AttachmentSerializer(many=True, read_only=True)
    kind = serializers.CharField(read_only=True, help_text=KIND_HELP)

    class Meta:
        model = TicketMessage
        fields = [
            "id", "ticket", "kind", "author", "author_name", "from_address", "to_address",
            "body", "message_id", "in_reply_to", "delivery", "send_attempts", "send_error",
            "sent_at", "created_at", "attachments",
        ]  # fmt: skip
        read_only_fields = fields


class NewMessageSerializer(serializers.Serializer[Any]):
    kind = serializers.CharField(
        help_text="reply (public, e-mailed to the customer) or note (internal)"
    )
    body = serializers.CharField()
    status = serializers.CharField(
        required=False,
        allow_null=True,
        default=None,
        help_text="replies only: move the ticket on in the same step (e.g. pending_customer); "
        + STATUS_HELP,
    )

    def validate_kind(self, value: str) -> str:
        if value not in ("reply", "note"):
            raise serializers.ValidationError("reply or note.")
        return value


class HolidaySerializer(serializers.ModelSerializer[Holiday]):
    class Meta:
        model = Holiday
        fields = ["id", "date", "name"]
        read_only_fields = ["id"]


class BusinessCalendarSerializer(serializers.ModelSerializer[BusinessCalendar]):
    holidays = HolidaySerializer(many=True, read_only=True)
    working_days = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6),
        help_text="0 = Monday ... 6 = Sunday",
    )

    class Meta:
        model = BusinessCalendar
        fields = [
            "id", "name", "time_zone", "working_days", "day_start", "day_end", "holidays",
            "version", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["id", "holidays", "version", "created_at", "updated_at"]


class SlaPolicySerializer(serializers.ModelSerializer[SlaPolicy]):
    priority = serializers.ChoiceField(choices=Priority.choices)

    class Meta:
        model = SlaPolicy
        fields = [
            "id", "name", "priority", "calendar", "first_response_minutes", "resolution_minutes",
            "warning_minutes", "version", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["id", "version", "created_at", "updated_at"]
        # The service checks uniqueness with a message naming the priority.
        extra_kwargs: ClassVar[dict[str, Any]] = {"priority": {"validators": []}}
