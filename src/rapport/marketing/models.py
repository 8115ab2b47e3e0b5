"""Segments (saved rule sets or hand-picked lists), campaigns and their messages."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from rapport.core.models import CustomerRecord
from rapport.customers.models import Contact
from rapport.marketing.choices import (
    CampaignStatus,
    DeliveryStatus,
    MessageState,
    RunOutcome,
    SegmentKind,
    Trigger,
    UnsubscribeSource,
)


class Segment(CustomerRecord):
    """Who a campaign is for: a rule set evaluated on every use, or a hand-picked list.

    ``rules`` holds the validated rule tree (see ``rules.py``); it is compiled
    to one queryset each time, so a dynamic segment is never stale.
    """

    name = models.CharField(max_length=150)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=10, choices=SegmentKind.choices, default=SegmentKind.DYNAMIC)
    rules = models.JSONField(default=dict, blank=True)
    members = models.ManyToManyField(
        Contact, through="ListMember", blank=True, related_name="marketing_lists"
    )

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["name", "id"], name="segment_name_idx"),
            models.Index(fields=["kind", "name"], name="segment_kind_idx"),
            models.Index(fields=["-updated_at", "-id"], name="segment_updated_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class ListMember(models.Model):
    """A contact picked by hand into a static list."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="list_members")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["segment", "contact"], name="list_member_unique")
        ]
        indexes = [models.Index(fields=["contact", "segment"], name="list_member_contact_idx")]

    def __str__(self) -> str:
        return f"{self.contact_id} in {self.segment_id}"


class Campaign(CustomerRecord):
    """An e-mail to everyone in a segment who agreed to marketing e-mail."""

    name = models.CharField(max_length=150)
    segment = models.ForeignKey(Segment, on_delete=models.PROTECT, related_name="campaigns")
    subject = models.CharField(max_length=200)
    html_body = models.TextField(blank=True)
    text_body = models.TextField()
    status = models.CharField(
        max_length=10, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT
    )
    scheduled_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True, editable=False)
    finished_at = models.DateTimeField(null=True, blank=True, editable=False)
    track_opens = models.BooleanField(
        default=False, help_text="Add an invisible image that tells when the message is opened"
    )
    attribution_days = models.PositiveSmallIntegerField(
        default=30, help_text="Orders this many days after sending count for the campaign"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="campaign_created_idx"),
            models.Index(fields=["status", "scheduled_at"], name="campaign_status_idx"),
            models.Index(fields=["name", "id"], name="campaign_name_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class Message(models.Model):
    """One campaign e-mail to one contact, and what became of it.

    The unique (campaign, contact) pair and the queued → sending claim make
    sending at most once per recipient, whatever happens to workers.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="messages")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    email = models.CharField(max_length=254)
    state = models.CharField(
        max_length=10, choices=MessageState.choices, default=MessageState.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim = models.CharField(max_length=36, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "contact"], name="message_once_per_contact")
        ]
        indexes = [
            models.Index(fields=["campaign", "state", "id"], name="message_state_idx"),
            models.Index(fields=["contact", "-created_at"], name="message_contact_idx"),
            models.Index(
                fields=["state", "claimed_at"],
                condition=Q(state="sending"),
                name="message_claimed_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} → {self.email}"


class Unsubscribe(models.Model):
    """Someone left marketing e-mail from a campaign message: when and how."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="unsubscribes"
    )
    message = models.OneToOneField(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="unsubscribe"
    )
    source = models.CharField(max_length=10, choices=UnsubscribeSource.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["campaign", "-created_at"], name="unsubscribe_campaign_idx"),
            models.Index(fields=["contact", "-created_at"], name="unsubscribe_contact_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} left via {self.source}"


class AutomationRule(CustomerRecord):
    """When a trigger fires for a contact who meets the conditions, do the actions.

    ``trigger_params`` and ``actions`` are validated by ``automation.py``;
    ``conditions`` is a segment rule tree.
    """

    name = models.CharField(max_length=150)
    enabled = models.BooleanField(default=True)
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    trigger_params = models.JSONField(default=dict, blank=True)
    conditions = models.JSONField(default=dict, blank=True)
    actions = models.JSONField(default=list)
    last_run_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Event triggers look only at events from this moment on (set when the rule
    # is created or enabled), so a new rule never fires for old history.
    armed_at = models.DateTimeField(default=timezone.now, editable=False)
    # Signs the webhook calls (HMAC-SHA256); shown to admins on the rule's page.
    secret = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["enabled", "trigger"], name="automation_enabled_idx"),
            models.Index(fields=["name", "id"], name="automation_name_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class AutomationRun(models.Model):
    """One firing of a rule for one contact: the run log.

    ``occurrence`` names what fired (a birthday's year, a due date, a score
    crossing); the unique (rule, contact, occurrence) row means a rule fires
    once per occurrence, so no rule can trigger itself over and over.
    """

    rule = models.ForeignKey(AutomationRule, on_delete=models.CASCADE, related_name="runs")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    occurrence = models.CharField(max_length=60)
    fired_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(
        max_length=10, choices=RunOutcome.choices, default=RunOutcome.RETRYING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    # One entry per action: {"ok": bool, "detail": str}.
    results = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-fired_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "contact", "occurrence"], name="automation_run_once"
            )
        ]
        indexes = [
            models.Index(fields=["rule", "-fired_at"], name="automation_run_rule_idx"),
            models.Index(fields=["outcome", "fired_at"], name="automation_run_outcome_idx"),
            # The run log, newest first (page and API).
            models.Index(fields=["-fired_at", "-id"], name="automation_run_fired_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id} for {self.contact_id}: {self.outcome}"


class WebhookEndpoint(CustomerRecord):
    """An address that gets a signed POST for each record event it listens to.

    ``cursors`` holds, per object type, the last history row already turned
    into deliveries (``webhooks.collect``); it starts at the newest row when
    the endpoint is registered, so an endpoint never gets old history.
    """

    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    enabled = models.BooleanField(default=True)
    # The events it listens to, e.g. ["contact.created", "deal.updated"].
    events = models.JSONField(default=list)
    # Signs each POST (HMAC-SHA256); shown to the admin once, when made or rotated.
    secret = models.CharField(max_length=64, editable=False)
    cursors = models.JSONField(default=dict, blank=True, editable=False)

    class Meta:
        ordering = ["url", "id"]
        indexes = [models.Index(fields=["enabled"], name="webhook_enabled_idx")]

    def __str__(self) -> str:
        return self.description or self.url


class WebhookDelivery(models.Model):
    """One event for one endpoint, and each attempt to deliver it: the delivery log.

    The unique (endpoint, event key) pair means an event is queued once per
    endpoint, however often the collecting job runs; ``body`` is the exact
    JSON sent (and signed) on every attempt.
    """

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=40)
    # "contact:<history id>" for record events, "ping:<uuid>" and "resend:<uuid>" otherwise.
    event_key = models.CharField(max_length=80)
    body = models.TextField()
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.CharField(max_length=500, blank=True)
    error = models.CharField(max_length=300, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event_key"], name="webhook_event_once")
        ]
        indexes = [
            # The delivery log of an endpoint, newest first (keyset pages on id).
            models.Index(fields=["endpoint", "-id"], name="webhook_delivery_log_idx"),
            # The sender: pending deliveries that are due.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="webhook_delivery_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint_id}: {self.status}"
