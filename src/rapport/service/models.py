"""The service desk: tickets, their conversation, SLA policies and business calendars.

Contract relied on by other apps (surveys after a ticket is resolved):
``Ticket.contact``, ``company``, ``subject``, ``status`` ("resolved"),
``resolved_at`` and ``assignee`` keep these names.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from simple_history.models import HistoricalRecords

from rapport.core.models import CustomerRecord, TimestampedModel, VersionedModel
from rapport.customers.models import Company, Contact
from rapport.service.choices import (
    AlertKind,
    Delivery,
    InboundState,
    MessageKind,
    Priority,
    TicketChannel,
    TicketStatus,
)
from rapport.service.sla import Schedule
from rapport.trading.models import Asset
from rapport.users.models import Team

REFERENCE_PREFIX = "T-"


def weekdays_default() -> list[int]:
    return [0, 1, 2, 3, 4]


class BusinessCalendar(TimestampedModel, VersionedModel):
    """When the desk works: the SLA clocks run only inside these hours."""

    name = models.CharField(max_length=100, unique=True)
    time_zone = models.CharField(
        max_length=64, default="UTC", help_text="IANA name, e.g. Europe/Paris"
    )
    # Monday = 0 ... Sunday = 6, as Python's date.weekday().
    working_days = models.JSONField(default=weekdays_default)
    day_start = models.TimeField(default=dt.time(9, 0))
    day_end = models.TimeField(default=dt.time(17, 0))

    history = HistoricalRecords(excluded_fields=["updated_at", "updated_by", "version"])

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def schedule(self, holidays: frozenset[dt.date] | None = None) -> Schedule:
        if holidays is None:
            holidays = frozenset(self.holidays.values_list("date", flat=True))
        return Schedule(
            time_zone=self.time_zone,
            working_days=frozenset(self.working_days),
            day_start=self.day_start,
            day_end=self.day_end,
            holidays=holidays,
        )


class Holiday(models.Model):
    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="holidays"
    )
    date = models.DateField()
    name = models.CharField(max_length=100, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["date", "id"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="holiday_one_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}".strip()


class SlaPolicy(TimestampedModel, VersionedModel):
    """The promise for one priority: first answer and resolution within business minutes."""

    name = models.CharField(max_length=100)
    priority = models.CharField(max_length=10, choices=Priority.choices, unique=True)
    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.PROTECT, related_name="policies"
    )
    first_response_minutes = models.PositiveIntegerField(help_text="business minutes")
    resolution_minutes = models.PositiveIntegerField(help_text="business minutes")
    # "Breaching soon" starts this many wall-clock minutes before a due time.
    warning_minutes = models.PositiveIntegerField(default=60)

    history = HistoricalRecords(excluded_fields=["updated_at", "updated_by", "version"])

    class Meta:
        ordering = ["priority", "id"]
        verbose_name = "SLA policy"
        verbose_name_plural = "SLA policies"
        constraints = [
            models.CheckConstraint(
                condition=Q(first_response_minutes__gt=0) & Q(resolution_minutes__gt=0),
                name="sla_targets_positive",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Ticket(CustomerRecord):
    """A customer's request to the service desk.

    SLA due times are stored (and indexed) so the breach job and the
    "breaching soon" queue are range queries. While the ticket waits on the
    customer the resolution clock is paused: ``resolution_due`` is cleared and,
    on resuming, set again to the target plus ``paused_minutes`` of business
    time after ``created_at``.
    """

    subject = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    asset = models.ForeignKey(
        Asset, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    status = models.CharField(max_length=20, choices=TicketStatus.choices, default=TicketStatus.NEW)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tickets",
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    channel = models.CharField(
        max_length=10, choices=TicketChannel.choices, default=TicketChannel.WEB
    )
    # Where replies go when the ticket came by e-mail from an address not (yet) on a contact.
    requester_email = models.CharField(max_length=254, blank=True)
    sla_policy = models.ForeignKey(
        SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    first_response_due = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    resolution_due = models.DateTimeField(null=True, blank=True)
    # Business minutes spent pending the customer: added to the resolution target.
    paused_minutes = models.PositiveIntegerField(default=0, editable=False)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_message_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["-id"], name="ticket_id_desc_idx"),
            models.Index(fields=["status", "-id"], name="ticket_status_idx"),
            models.Index(fields=["priority", "-id"], name="ticket_priority_idx"),
            models.Index(fields=["assignee", "status", "-id"], name="ticket_assignee_idx"),
            models.Index(fields=["team", "status", "-id"], name="ticket_team_idx"),
            models.Index(fields=["contact", "-id"], name="ticket_contact_idx"),
            models.Index(fields=["company", "-id"], name="ticket_company_idx"),
            models.Index(fields=["asset", "-id"], name="ticket_asset_idx"),
            models.Index(fields=["first_response_due", "id"], name="ticket_fr_due_idx"),
            models.Index(fields=["resolution_due", "id"], name="ticket_res_due_idx"),
            models.Index(fields=["resolved_at"], name="ticket_resolved_idx"),
            models.Index(fields=["-updated_at", "-id"], name="ticket_updated_idx"),
        ]

    def __str__(self) -> str:
        return f"[#{self.reference}] {self.subject}"

    @property
    def reference(self) -> str:
        return f"{REFERENCE_PREFIX}{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("service:ticket", args=[self.pk])


class TicketMessage(TimestampedModel):
    """One message of a ticket's conversation: public reply, internal note or inbound e-mail.

    Messages are never edited; outgoing replies carry their delivery state.
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=10, choices=MessageKind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    from_address = models.CharField(max_length=254, blank=True)
    to_address = models.CharField(max_length=254, blank=True)
    body = models.TextField()
    message_id = models.CharField(max_length=255, blank=True)
    in_reply_to = models.CharField(max_length=255, blank=True)
    delivery = models.CharField(
        max_length=10, choices=Delivery.choices, default=Delivery.NOT_SENT, blank=True
    )
    send_attempts = models.PositiveSmallIntegerField(default=0)
    send_error = models.CharField(max_length=300, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords(excluded_fields=["updated_at", "updated_by"])

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["ticket", "created_at", "id"], name="ticket_message_idx"),
            models.Index(
                fields=["message_id"], condition=~Q(message_id=""), name="ticket_message_mid_idx"
            ),
            models.Index(
                fields=["delivery", "id"],
                condition=Q(delivery__in=["pending", "failed"]),
                name="ticket_message_delivery_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.ticket.reference}"

    @property
    def is_public(self) -> bool:
        return self.kind != MessageKind.NOTE

    def get_absolute_url(self) -> str:
        # The timeline links each reply to its place in the conversation.
        return f"{reverse('service:ticket', args=[self.ticket_id])}#message-{self.pk}"


def attachment_path(instance: Attachment, filename: str) -> str:
    return f"service/attachments/{instance.message.ticket_id}/{filename}"


class Attachment(models.Model):
    message = models.ForeignKey(TicketMessage, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=300)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveIntegerField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.filename


def inbound_path(instance: InboundMail, filename: str) -> str:
    return f"service/inbound/{filename}"


class InboundMail(models.Model):
    """Every accepted inbound e-mail, kept raw before it is parsed: nothing is lost.

    One that could not be filed stays ``failed`` with the reason, for staff.
    """

    received_at = models.DateTimeField(db_index=True)
    mail_from = models.CharField(max_length=254, blank=True)
    rcpt_to = models.CharField(max_length=1000, blank=True)
    raw = models.FileField(upload_to=inbound_path, max_length=300)
    size = models.PositiveIntegerField()
    state = models.CharField(
        max_length=10, choices=InboundState.choices, default=InboundState.RECEIVED
    )
    error = models.CharField(max_length=500, blank=True)
    # A foreign key, not one-to-one: the same message delivered twice is kept twice, filed once.
    message = models.ForeignKey(
        TicketMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="inbound"
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["state", "-received_at"], name="inbound_state_idx")]

    def __str__(self) -> str:
        return f"Mail from {self.mail_from or 'unknown'} at {self.received_at:%Y-%m-%d %H:%M}"


class TicketAlert(models.Model):
    """The in-app flag of an SLA warning or breach; one per ticket, kind and due time.

    The unique constraint makes the periodic job idempotent: a second run
    finds the alert and neither writes nor e-mails again.
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=30, choices=AlertKind.choices)
    due = models.DateTimeField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="ticket_alerts",
    )
    created_at = models.DateTimeField()
    emailed_at = models.DateTimeField(null=True, blank=True)
    seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "kind", "due"], name="ticket_alert_once")
        ]
        indexes = [
            models.Index(fields=["user", "seen_at", "-created_at"], name="ticket_alert_user_idx")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.ticket.reference}"
