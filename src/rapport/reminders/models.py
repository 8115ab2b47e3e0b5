"""Tasks people do (call back, send the quote), and the private calendar feed of them.

Customer-facing reminders (service due, warranty end, renewal) live here too, as
``ServiceReminder``; ``Task`` is only what colleagues have to do.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from rapport.core.models import CustomerRecord
from rapport.customers.models import Company, Contact
from rapport.reminders.choices import Priority


class Task(CustomerRecord):
    """Something a colleague has to do by a day (and, unless all-day, a time).

    ``owner`` is who asked for it (created or delegated it); ``assignee`` is who
    does it, and visibility follows the assignee (see permissions.py).

    The due moment is kept three ways: ``due_date`` and ``due_time`` are the
    wall clock in ``time_zone`` as the person said it (so a daily 09:00 task
    stays at 09:00 across daylight-saving changes), and ``due_at`` is that
    instant (the start of the day for all-day tasks), for sorting and the
    overdue/today/upcoming buckets.
    """

    title = models.CharField(max_length=200)
    notes = models.TextField(blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks",
    )
    due_date = models.DateField()
    due_time = models.TimeField(null=True, blank=True, help_text="empty for an all-day task")
    time_zone = models.CharField(max_length=64, help_text="IANA name, e.g. Europe/Berlin")
    due_at = models.DateTimeField(editable=False)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="tasks"
    )
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.CASCADE, related_name="tasks"
    )
    # Any other record the task is about (a deal, a ticket...), once those apps exist.
    related_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    related_id = models.PositiveBigIntegerField(null=True, blank=True)
    related = GenericForeignKey("related_type", "related_id")
    done_at = models.DateTimeField(null=True, blank=True, editable=False)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # An RFC 5545 RRULE value (without "RRULE:"), e.g. FREQ=WEEKLY;BYDAY=MO.
    recurrence = models.CharField(max_length=500, blank=True)
    # The first occurrence of the series: COUNT and INTERVAL count from it.
    series_start = models.DateTimeField(null=True, blank=True, editable=False)
    # The occurrence whose completion created this one. One-to-one, so completing
    # the same occurrence twice (a retry, a reopen) can never create two successors.
    recurs_from = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="next_occurrence",
    )

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            # My day and the feed: one person's open tasks by due.
            models.Index(
                fields=["assignee", "due_at", "id"],
                condition=Q(done_at__isnull=True),
                name="task_open_assignee_idx",
            ),
            models.Index(fields=["assignee", "-done_at"], name="task_assignee_done_idx"),
            models.Index(fields=["due_at", "id"], name="task_due_idx"),
            models.Index(fields=["contact", "due_at"], name="task_contact_idx"),
            models.Index(fields=["company", "due_at"], name="task_company_idx"),
            models.Index(fields=["related_type", "related_id"], name="task_related_idx"),
            models.Index(fields=["priority", "due_at"], name="task_priority_idx"),
            models.Index(fields=["title", "id"], name="task_title_idx"),
            models.Index(fields=["-updated_at", "-id"], name="task_updated_idx"),
            models.Index(fields=["-created_at", "-id"], name="task_created_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(related_type__isnull=True, related_id__isnull=True)
                | Q(related_type__isnull=False, related_id__isnull=False),
                name="task_related_both_or_neither",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("reminders:task", args=[self.pk])

    @property
    def is_done(self) -> bool:
        return self.done_at is not None

    @property
    def all_day(self) -> bool:
        return self.due_time is None

    @property
    def is_overdue(self) -> bool:
        if self.done_at is not None:
            return False
        if self.due_time is None:
            return self.due_date < timezone.localdate()
        return self.due_at < timezone.now()

    @property
    def customer(self) -> Contact | Company | None:
        return self.contact or self.company


class CalendarFeed(models.Model):
    """The secret address of one person's task calendar. Only its SHA-256 is stored.

    Calendar apps cannot sign in, so the address is the credential: it is
    shown once, and making a new one revokes the old.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feeds"
    )
    prefix = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(revoked_at__isnull=True), name="calendar_feed_one_live"
            )
        ]

    def __str__(self) -> str:
        return f"Calendar of {self.user} ({self.prefix}…)"


# --- customer-facing reminders: service due, warranty end, renewal -------------
# (rapport.reminders.outreach is their only write path.) Imported here, not at the
# top, so this section stays an append-only addition to the tasks' module.

from simple_history.models import HistoricalRecords  # noqa: E402

from rapport.core.models import TimestampedModel, VersionedModel  # noqa: E402
from rapport.reminders.outreach_choices import ReminderKind, ReminderStatus  # noqa: E402


class ServiceReminder(TimestampedModel):
    """One reminder e-mail to a customer about one date of one asset.

    Unique per (asset, kind, due date): planning it twice, or two workers
    planning at once, can only ever make one row, and one row is at most one
    e-mail. Delivery state moves pending → sending → sent (or skipped, or back
    to pending with ``next_attempt_at`` after a failure, and failed after the
    last attempt); the move to sending is a conditional UPDATE that only one
    worker can win, and ``claim_token`` says which one holds it.
    """

    asset = models.ForeignKey(
        "trading.Asset", on_delete=models.CASCADE, related_name="service_reminders"
    )
    kind = models.CharField(max_length=10, choices=ReminderKind.choices)
    due_date = models.DateField()
    # Who it went to (the asset's contact, or its company's primary contact), set when sent.
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recipient = models.CharField(max_length=254, blank=True, help_text="the address used")
    status = models.CharField(
        max_length=10, choices=ReminderStatus.choices, default=ReminderStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    last_attempt_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True)
    skip_reason = models.CharField(max_length=200, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=255, blank=True, editable=False)
    interaction = models.ForeignKey(
        "interactions.Interaction",
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    # People's actions (retry now) are audited; the job's own moves are the row itself.
    history = HistoricalRecords(excluded_fields=["updated_at", "updated_by"])

    class Meta:
        ordering = ["due_date", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["asset", "kind", "due_date"], name="service_reminder_once"
            ),
            models.CheckConstraint(
                condition=~Q(status="sending") | Q(claimed_at__isnull=False),
                name="service_reminder_sending_is_claimed",
            ),
        ]
        indexes = [
            # The delivery sweep: what may be tried now (waiting ones, and stuck claims).
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=Q(status="pending"),
                name="service_reminder_due_idx",
            ),
            models.Index(
                fields=["claimed_at"],
                condition=Q(status="sending"),
                name="service_reminder_claimed_idx",
            ),
            models.Index(fields=["status", "due_date", "id"], name="service_reminder_status_idx"),
            models.Index(fields=["kind", "due_date", "id"], name="service_reminder_kind_idx"),
            models.Index(fields=["due_date", "id"], name="service_reminder_list_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.due_date:%Y-%m-%d} of asset {self.asset_id}"

    def get_absolute_url(self) -> str:
        """A reminder is shown, with its delivery state, on its unit's page."""
        return reverse("trading:asset", args=[self.asset_id]) + "#reminders"


class ReminderTemplate(TimestampedModel, VersionedModel):
    """The e-mail of one reminder kind, in Django template syntax, as admins wrote it.

    The context is fixed and documented (``outreach.CONTEXT_NAMES``);
    saving renders it with a sample so mistakes are refused, not mailed.
    """

    kind = models.CharField(max_length=10, choices=ReminderKind.choices, unique=True)
    subject = models.CharField(max_length=300)
    body = models.TextField()
    booking_url = models.URLField(max_length=500, blank=True)
    booking_phone = models.CharField(max_length=60, blank=True)

    history = HistoricalRecords(excluded_fields=["updated_at", "updated_by", "version"])

    class Meta:
        ordering = ["kind"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} e-mail"
