"""People and companies we have relationships with, and what we know about them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from simple_history.models import HistoricalRecords

from rapport.core.models import CustomerRecord
from rapport.customers.choices import (
    AddressKind,
    CompanySize,
    ConsentChannel,
    ConsentPurpose,
    ConsentStatus,
    ContactLabel,
    LifecycleStage,
)


class Tag(models.Model):
    name = models.CharField(max_length=60)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="tag_name_unique_ci")]

    def __str__(self) -> str:
        return self.name


class Company(CustomerRecord):
    name = models.CharField(max_length=200)
    domain = models.CharField(max_length=253, blank=True, help_text="e.g. example.com")
    industry = models.CharField(max_length=100, blank=True)
    size = models.CharField(max_length=10, choices=CompanySize.choices, blank=True)
    annual_revenue = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True, help_text="ISO 4217, e.g. EUR")
    lifecycle_stage = models.CharField(
        max_length=20, choices=LifecycleStage.choices, default=LifecycleStage.LEAD
    )
    notes = models.TextField(blank=True)
    # No plain index: nearly every row is live, and an index on ``deleted_at`` lures
    # SQLite's planner into reading all live rows and sorting them instead of walking
    # a sort index (docs/performance.md). The trash is served by a partial index.
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)
    tags = models.ManyToManyField(Tag, blank=True, related_name="companies")
    custom_fields = models.JSONField(default=dict, blank=True)
    # NULL, not "", when unset: unique only among records that have one.
    external_id = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001

    class Meta:
        verbose_name_plural = "companies"
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"],
                condition=Q(external_id__isnull=False),
                name="company_external_id_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["name", "id"], name="company_name_idx"),
            models.Index(fields=["domain"], name="company_domain_idx"),
            models.Index(fields=["lifecycle_stage", "name"], name="company_stage_idx"),
            models.Index(fields=["owner", "name"], name="company_owner_idx"),
            models.Index(fields=["-updated_at", "-id"], name="company_updated_idx"),
            models.Index(fields=["-created_at", "-id"], name="company_created_idx"),
            models.Index(
                fields=["-deleted_at"],
                condition=Q(deleted_at__isnull=False),
                name="company_trash_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Contact(CustomerRecord):
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    # "First Last", kept by the services for sorting and display.
    full_name = models.CharField(max_length=201, editable=False)
    # The primary e-mail and phone, copied from their rows for lists and search.
    email = models.CharField(max_length=254, blank=True, editable=False)
    phone = models.CharField(max_length=20, blank=True, editable=False)
    job_title = models.CharField(max_length=150, blank=True)
    birthday = models.DateField(null=True, blank=True)
    language = models.CharField(max_length=10, blank=True, help_text="e.g. en, de, fr-CA")
    time_zone = models.CharField(max_length=64, blank=True, help_text="e.g. Europe/Berlin")
    source = models.CharField(max_length=100, blank=True, help_text="How we got them")
    lifecycle_stage = models.CharField(
        max_length=20, choices=LifecycleStage.choices, default=LifecycleStage.LEAD
    )
    notes = models.TextField(blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="contacts")
    companies = models.ManyToManyField(
        Company, through="Membership", blank=True, related_name="contacts"
    )
    custom_fields = models.JSONField(default=dict, blank=True)
    # NULL, not "", when unset: unique only among records that have one.
    external_id = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    last_activity_at = models.DateTimeField(null=True, blank=True, editable=False)
    # No plain index: nearly every row is live, and an index on ``deleted_at`` lures
    # SQLite's planner into reading all live rows and sorting them instead of walking
    # a sort index (docs/performance.md). The trash is served by a partial index.
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Without the single-column indexes of the base classes: every contact written
    # updates each index (bulk import is bound by them), and the composite indexes
    # below serve these columns' sorts, date ranges and owner filters.
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )

    class Meta:
        ordering = ["full_name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"],
                condition=Q(external_id__isnull=False),
                name="contact_external_id_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["full_name", "id"], name="contact_name_idx"),
            models.Index(fields=["last_name", "first_name", "id"], name="contact_last_name_idx"),
            models.Index(fields=["email"], name="contact_email_idx"),
            # Live contacts only: lists and segment counts always ask for live ones,
            # and a count by stage is then read from the index alone.
            models.Index(
                fields=["lifecycle_stage", "full_name", "id"],
                condition=Q(deleted_at__isnull=True),
                name="contact_live_stage_idx",
            ),
            # Also the owner's foreign key index (deleting a user, owner filters).
            models.Index(fields=["owner", "full_name"], name="contact_owner_idx"),
            models.Index(fields=["-last_activity_at", "-id"], name="contact_activity_idx"),
            models.Index(fields=["-updated_at", "-id"], name="contact_updated_idx"),
            models.Index(fields=["-created_at", "-id"], name="contact_created_idx"),
            # "My customers, most recently active first": the commonest filtered list.
            models.Index(
                fields=["owner", "lifecycle_stage", "-last_activity_at", "-id"],
                name="contact_owner_stage_idx",
            ),
            models.Index(
                fields=["-deleted_at"],
                condition=Q(deleted_at__isnull=False),
                name="contact_trash_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email or f"Contact {self.pk}"


class ContactEmail(models.Model):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="emails")
    email = models.CharField(max_length=254, help_text="stored lower-case")
    label = models.CharField(max_length=10, choices=ContactLabel.choices, default=ContactLabel.WORK)
    is_primary = models.BooleanField(default=False)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-is_primary", "id"]
        constraints = [
            models.UniqueConstraint(fields=["email"], name="contact_email_unique"),
            models.UniqueConstraint(
                fields=["contact"], condition=Q(is_primary=True), name="contact_one_primary_email"
            ),
        ]

    def __str__(self) -> str:
        return self.email


class ContactPhone(models.Model):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="phones")
    number = models.CharField(max_length=20, help_text="E.164, e.g. +4930123456")
    label = models.CharField(max_length=10, choices=ContactLabel.choices, default=ContactLabel.WORK)
    is_primary = models.BooleanField(default=False)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-is_primary", "id"]
        indexes = [models.Index(fields=["number"], name="contact_phone_number_idx")]
        constraints = [
            models.UniqueConstraint(fields=["contact", "number"], name="contact_phone_unique"),
            models.UniqueConstraint(
                fields=["contact"], condition=Q(is_primary=True), name="contact_one_primary_phone"
            ),
        ]

    def __str__(self) -> str:
        return self.number


class Address(models.Model):
    """A postal address of a contact or of a company (exactly one of them)."""

    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="addresses"
    )
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.CASCADE, related_name="addresses"
    )
    kind = models.CharField(max_length=10, choices=AddressKind.choices, default=AddressKind.OFFICE)
    street = models.CharField(max_length=200, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2, e.g. DE")

    history = HistoricalRecords()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(contact__isnull=False) & Q(company__isnull=True))
                | (Q(contact__isnull=True) & Q(company__isnull=False)),
                name="address_belongs_to_one",
            )
        ]

    def __str__(self) -> str:
        parts = [self.street, f"{self.postal_code} {self.city}".strip(), self.country]
        return ", ".join(part for part in parts if part)


class Membership(models.Model):
    """A contact's place at a company: 0..n companies per contact."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="memberships")
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=150, blank=True, help_text="e.g. Purchasing manager")
    is_primary = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-is_primary", "id"]
        constraints = [
            models.UniqueConstraint(fields=["contact", "company"], name="membership_unique"),
        ]
        indexes = [models.Index(fields=["company", "contact"], name="membership_company_idx")]

    def __str__(self) -> str:
        return f"{self.contact} at {self.company}"


class LifecycleChange(models.Model):
    """Every move between lifecycle stages: when, who, why."""

    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="stage_changes"
    )
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.CASCADE, related_name="stage_changes"
    )
    from_stage = models.CharField(max_length=20, choices=LifecycleStage.choices, blank=True)
    to_stage = models.CharField(max_length=20, choices=LifecycleStage.choices)
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [
            models.Index(fields=["contact", "-changed_at"], name="stage_change_contact_idx"),
            models.Index(fields=["company", "-changed_at"], name="stage_change_company_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(contact__isnull=False) & Q(company__isnull=True))
                | (Q(contact__isnull=True) & Q(company__isnull=False)),
                name="stage_change_belongs_to_one",
            )
        ]

    def __str__(self) -> str:
        return f"{self.from_stage or 'new'} → {self.to_stage}"


class Consent(models.Model):
    """The current consent of a contact for one channel and purpose.

    Every change is kept in its history (simple-history) with source and
    evidence, so "who agreed to what, when, how" can always be shown.
    """

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="consents")
    channel = models.CharField(max_length=10, choices=ConsentChannel.choices)
    purpose = models.CharField(max_length=10, choices=ConsentPurpose.choices)
    status = models.CharField(max_length=10, choices=ConsentStatus.choices)
    changed_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=100, help_text="e.g. web form, phone call, import")
    evidence = models.TextField(blank=True, help_text="what the person agreed to, in their words")

    history = HistoricalRecords()

    class Meta:
        ordering = ["channel", "purpose"]
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "channel", "purpose"], name="consent_one_per_channel_purpose"
            )
        ]
        indexes = [
            # With the contact last: "who granted e-mail marketing" (segments, campaigns)
            # is read from the index alone.
            models.Index(
                fields=["channel", "purpose", "status", "contact"], name="consent_granted_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contact}: {self.channel}/{self.purpose} {self.status}"
