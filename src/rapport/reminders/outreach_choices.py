"""Choices of the customer-facing reminders (kept apart from the task choices)."""

from django.db import models


class ReminderKind(models.TextChoices):
    """What a reminder is about; each kind reads one date of the asset (see outreach.SOURCES)."""

    SERVICE = "service", "Service due"
    WARRANTY = "warranty", "Warranty ends"
    RENEWAL = "renewal", "Renewal"


class ReminderStatus(models.TextChoices):
    """pending → sending → sent; a failed attempt goes back to pending until the last one.

    ``skipped`` is a decision, not an error: no consent, nobody to write to, or the
    date moved (the unit was serviced meanwhile).
    """

    PENDING = "pending", "Waiting"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"
