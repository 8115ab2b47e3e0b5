"""The timeline: one row per touchpoint with a customer, whichever app it came from."""

from __future__ import annotations

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q

from rapport.core.models import CustomerRecord
from rapport.customers.models import Company, Contact
from rapport.interactions.choices import Channel, Direction, InteractionKind, Outcome


class Interaction(CustomerRecord):
    """A touchpoint: an inquiry, order, delivery, call, note, survey answer...

    ``owner`` is the colleague who had it (or logged it); rows written by other
    apps have no owner and point at their source record.
    """

    kind = models.CharField(max_length=20, choices=InteractionKind.choices)
    channel = models.CharField(max_length=20, choices=Channel.choices, blank=True)
    direction = models.CharField(max_length=10, choices=Direction.choices, blank=True)
    occurred_at = models.DateTimeField()
    # Looked up through the (customer, -occurred_at, -id) indexes below; a plain
    # foreign-key index as well would only slow every write (ten million rows).
    contact = models.ForeignKey(
        Contact,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="interactions",
        db_index=False,
    )
    company = models.ForeignKey(
        Company,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="interactions",
        db_index=False,
    )
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    duration_minutes = models.PositiveIntegerField(null=True, blank=True)
    # The record this touchpoint is about (an order, a ticket, a survey response...).
    source_type = models.ForeignKey(
        ContentType,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # interaction_source_idx leads with it
    )
    source_id = models.PositiveBigIntegerField(null=True, blank=True)
    source = GenericForeignKey("source_type", "source_id")
    # Set by apps that write automatically, so a retried job never writes twice.
    dedupe_key = models.CharField(max_length=120, null=True, blank=True, editable=False)  # noqa: DJ001
    # Trash only, through a partial index: see Contact.deleted_at.
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(contact__isnull=False) | Q(company__isnull=False),
                name="interaction_has_customer",
            ),
            models.UniqueConstraint(
                fields=["dedupe_key"],
                condition=Q(dedupe_key__isnull=False),
                name="interaction_dedupe_key_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["contact", "-occurred_at", "-id"], name="interaction_contact_idx"),
            models.Index(fields=["company", "-occurred_at", "-id"], name="interaction_company_idx"),
            models.Index(fields=["-occurred_at", "-id"], name="interaction_recent_idx"),
            models.Index(fields=["kind", "-occurred_at"], name="interaction_kind_idx"),
            models.Index(fields=["source_type", "source_id"], name="interaction_source_idx"),
            models.Index(fields=["owner", "-occurred_at"], name="interaction_owner_idx"),
            models.Index(
                fields=["-deleted_at"],
                condition=Q(deleted_at__isnull=False),
                name="interaction_trash_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject}"
