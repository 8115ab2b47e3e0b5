from __future__ import annotations

import json
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from rapport.customers.models import Contact
from rapport.marketing import queries
from rapport.marketing.choices import (
    WEBHOOK_EVENTS,
    CampaignStatus,
    DeliveryStatus,
    RunOutcome,
    SegmentKind,
    Trigger,
)
from rapport.marketing.models import (
    AutomationRule,
    AutomationRun,
    Campaign,
    Message,
    Segment,
    WebhookDelivery,
    WebhookEndpoint,
)

RULES_HELP = (
    'The rule tree: {"op": "and"|"or", "rules": [rule or group, ...]}; a rule is '
    '{"kind": ..., "op": ..., "value": ...} (see the user guide for the kinds and '
    "their parameters). Groups nest up to 4 deep."
)


# drf-spectacular names enums after the field; "kind" and "status" carry other
# choice sets elsewhere (products, orders), so here they are strings with the
# values in their help text (the services validate them).
KIND_VALUES = " or ".join(SegmentKind.values)
STATUS_VALUES = ", ".join(CampaignStatus.values)


class SegmentSerializer(serializers.ModelSerializer[Segment]):
    rules = serializers.JSONField(help_text=RULES_HELP)
    kind = serializers.CharField(read_only=True, help_text=KIND_VALUES)

    class Meta:
        model = Segment
        fields = [
            "id", "name", "description", "kind", "rules", "owner", "version",
            "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class NewSegmentSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=150)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    kind = serializers.CharField(default=SegmentKind.DYNAMIC, help_text=KIND_VALUES)
    rules = serializers.JSONField(required=False, default=None, help_text=RULES_HELP)


class SegmentChangeSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=150, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    rules = serializers.JSONField(required=False, help_text=RULES_HELP)


class RulesSerializer(serializers.Serializer[Any]):
    rules = serializers.JSONField(help_text=RULES_HELP)


class CountSerializer(serializers.Serializer[Any]):
    count = serializers.IntegerField(help_text="Members the caller may see")


class ListMembersSerializer(serializers.Serializer[Any]):
    contacts = serializers.ListField(
        child=serializers.IntegerField(), max_length=1000, help_text="Contact ids"
    )


class ChangedSerializer(serializers.Serializer[Any]):
    changed = serializers.IntegerField(help_text="How many were added or removed")


class MemberSerializer(serializers.ModelSerializer[Contact]):
    class Meta:
        model = Contact
        fields = ["id", "full_name", "email", "lifecycle_stage", "owner"]
        read_only_fields = fields


class VisibleSegmentField(serializers.PrimaryKeyRelatedField[Segment]):
    def get_queryset(self) -> Any:
        request = self.context.get("request")
        return queries.segments(getattr(request, "user", None))


class CampaignSerializer(serializers.ModelSerializer[Campaign]):
    status = serializers.CharField(read_only=True, help_text=STATUS_VALUES)

    class Meta:
        model = Campaign
        fields = [
            "id", "name", "segment", "subject", "text_body", "html_body", "status",
            "scheduled_at", "started_at", "finished_at", "track_opens", "attribution_days",
            "owner", "version", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class NewCampaignSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=150)
    segment = VisibleSegmentField(queryset=Segment.objects.none())
    subject = serializers.CharField(max_length=200)
    text_body = serializers.CharField()
    html_body = serializers.CharField(required=False, allow_blank=True, default="")
    track_opens = serializers.BooleanField(required=False, default=False)
    attribution_days = serializers.IntegerField(
        required=False, default=30, min_value=1, max_value=365
    )


class CampaignChangeSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=150, required=False)
    segment = VisibleSegmentField(queryset=Segment.objects.none(), required=False)
    subject = serializers.CharField(max_length=200, required=False)
    text_body = serializers.CharField(required=False)
    html_body = serializers.CharField(required=False, allow_blank=True)
    track_opens = serializers.BooleanField(required=False)
    attribution_days = serializers.IntegerField(required=False, min_value=1, max_value=365)


class ScheduleSerializer(serializers.Serializer[Any]):
    at = serializers.DateTimeField(help_text="When to send (in the future)")


class TestSendSerializer(serializers.Serializer[Any]):
    to = serializers.EmailField()
    contact = serializers.IntegerField(help_text="Render the message as this contact gets it")


class TestSentSerializer(serializers.Serializer[Any]):
    sent_to = serializers.EmailField()


class ReportSerializer(serializers.Serializer[Any]):
    total = serializers.IntegerField()
    queued = serializers.IntegerField()
    sent = serializers.IntegerField()
    delivered = serializers.IntegerField()
    bounced = serializers.IntegerField()
    failed = serializers.IntegerField()
    opened = serializers.IntegerField()
    clicked = serializers.IntegerField()
    unsubscribed = serializers.IntegerField()
    orders = serializers.IntegerField(help_text="Orders within attribution_days after sending")
    revenue = serializers.DecimalField(max_digits=20, decimal_places=2)
    attribution_days = serializers.IntegerField()
    as_of = serializers.DateTimeField()


class MessageSerializer(serializers.ModelSerializer[Message]):
    class Meta:
        model = Message
        fields = [
            "id", "contact", "email", "state", "attempts", "sent_at", "opened_at",
            "clicked_at", "unsubscribed_at", "error",
        ]  # fmt: skip
        read_only_fields = fields


# --- automation -------------------------------------------------------------------------

TRIGGER_VALUES = ", ".join(Trigger.values)
OUTCOME_VALUES = ", ".join(RunOutcome.values)
TRIGGER_PARAMS_HELP = (
    'Per trigger: score {"metric", "op": "gte"|"lte", "value"}; service_due and renewal_due '
    '{"days": days before}; stage_changed {"stage"?}; order_delivered and ticket_resolved '
    '{"days"?: days after}; survey_answered {"answer_class"?}; contact_updated {"fields"?: '
    '["owner", "custom_fields.<key>", ...], any change when empty}; the others {}.'
)
ACTIONS_HELP = (
    'Up to 5 actions, run in order; each {"type": ...} with create_task {title, due_in_days}, '
    "send_email {campaign}, change_stage {stage}, add_tag {tag}, send_survey {survey}, "
    "change_owner {owner}, add_to_list {list}, webhook {url}."
)


class AutomationRuleSerializer(serializers.ModelSerializer[AutomationRule]):
    trigger = serializers.CharField(read_only=True, help_text=TRIGGER_VALUES)
    trigger_params = serializers.JSONField(read_only=True, help_text=TRIGGER_PARAMS_HELP)
    conditions = serializers.JSONField(read_only=True, help_text=RULES_HELP)
    actions = serializers.JSONField(read_only=True, help_text=ACTIONS_HELP)

    class Meta:
        model = AutomationRule
        fields = [
            "id", "name", "enabled", "trigger", "trigger_params", "conditions", "actions",
            "armed_at", "last_run_at", "owner", "version", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class NewAutomationRuleSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=150)
    enabled = serializers.BooleanField(required=False, default=True)
    trigger = serializers.CharField(help_text=TRIGGER_VALUES)
    trigger_params = serializers.JSONField(
        required=False, default=dict, help_text=TRIGGER_PARAMS_HELP
    )
    conditions = serializers.JSONField(required=False, default=None, help_text=RULES_HELP)
    actions = serializers.JSONField(help_text=ACTIONS_HELP)


class AutomationRuleChangeSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=150, required=False)
    enabled = serializers.BooleanField(required=False)
    trigger = serializers.CharField(required=False, help_text=TRIGGER_VALUES)
    trigger_params = serializers.JSONField(required=False, help_text=TRIGGER_PARAMS_HELP)
    conditions = serializers.JSONField(required=False, help_text=RULES_HELP)
    actions = serializers.JSONField(required=False, help_text=ACTIONS_HELP)


class AutomationRunSerializer(serializers.ModelSerializer[AutomationRun]):
    outcome = serializers.CharField(read_only=True, help_text=OUTCOME_VALUES)
    results = serializers.JSONField(
        read_only=True, help_text='One {"ok": bool, "detail": str} per action of the rule'
    )

    class Meta:
        model = AutomationRun
        fields = [
            "id", "rule", "contact", "occurrence", "fired_at", "outcome", "attempts", "results",
        ]  # fmt: skip
        read_only_fields = fields


# --- webhooks ---------------------------------------------------------------------------

EVENTS_HELP = "Record events to send: " + ", ".join(WEBHOOK_EVENTS)
DELIVERY_STATUS_VALUES = ", ".join(DeliveryStatus.values)


class WebhookEndpointSerializer(serializers.ModelSerializer[WebhookEndpoint]):
    events = serializers.ListField(child=serializers.CharField(), help_text=EVENTS_HELP)

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id", "url", "description", "enabled", "events", "owner", "version", "created_at",
            "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="The signing secret: returned here once, keep it"
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class NewWebhookEndpointSerializer(serializers.Serializer[Any]):
    url = serializers.CharField(max_length=500, help_text="https:// address to POST to")
    description = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )
    enabled = serializers.BooleanField(required=False, default=True)
    events = serializers.ListField(child=serializers.CharField(), help_text=EVENTS_HELP)


class WebhookEndpointChangeSerializer(serializers.Serializer[Any]):
    url = serializers.CharField(max_length=500, required=False)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    enabled = serializers.BooleanField(required=False)
    events = serializers.ListField(
        child=serializers.CharField(), required=False, help_text=EVENTS_HELP
    )


class SecretSerializer(serializers.Serializer[Any]):
    secret = serializers.CharField(help_text="The new signing secret: returned here once")


class WebhookDeliverySerializer(serializers.ModelSerializer[WebhookDelivery]):
    status = serializers.CharField(read_only=True, help_text=DELIVERY_STATUS_VALUES)
    payload = serializers.SerializerMethodField(help_text="The JSON body sent (and signed)")

    class Meta:
        model = WebhookDelivery
        fields = [
            "id", "endpoint", "event", "event_key", "occurred_at", "created_at", "status",
            "attempts", "next_attempt_at", "last_attempt_at", "response_status",
            "response_body", "error", "delivered_at", "payload",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_payload(self, delivery: WebhookDelivery) -> Any:
        return json.loads(delivery.body)
