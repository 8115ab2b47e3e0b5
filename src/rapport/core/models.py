"""Abstract bases shared by every customer-facing model. No business rules here."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords


class LiveQuerySet[M: models.Model](models.QuerySet[M]):
    def live(self) -> LiveQuerySet[M]:
        return self.filter(deleted_at__isnull=True)

    def trashed(self) -> LiveQuerySet[M]:
        return self.filter(deleted_at__isnull=False)


class TimestampedModel(models.Model):
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        abstract = True


class VersionedModel(models.Model):
    """Optimistic locking: every saved change increments ``version``.

    Writers pass the version they read; ``core.services.save_changes`` refuses a
    stale one with ``ConflictError`` instead of silently overwriting.
    """

    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        abstract = True


class SoftDeleteModel(models.Model):
    """Deleted rows go to the trash (``deleted_at`` set) and can be restored."""

    deleted_at = models.DateTimeField(null=True, blank=True, editable=False, db_index=True)

    objects: ClassVar[Any] = LiveQuerySet.as_manager()

    class Meta:
        abstract = True

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class OwnedModel(models.Model):
    """Records with an owner: visibility by ownership and team goes through it."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        abstract = True


class CustomerRecord(TimestampedModel, VersionedModel, SoftDeleteModel, OwnedModel):
    """The base of every customer-facing model: timestamps, owner, trash, version, audit."""

    history = HistoricalRecords(
        inherit=True,
        # "secret": signing keys (webhooks, automation) must not outlive a rotation in
        # the audit tables, where anyone with a database copy could read them.
        excluded_fields=["updated_at", "updated_by", "version", "secret"],
        cascade_delete_history=False,
    )

    class Meta:
        abstract = True


class CustomFieldType(models.TextChoices):
    TEXT = "text", "Text"
    NUMBER = "number", "Number"
    DATE = "date", "Date"
    CHOICE = "choice", "Choice"
    MULTI_CHOICE = "multi_choice", "Several choices"
    BOOLEAN = "boolean", "Yes/no"
    URL = "url", "Link (URL)"


class CustomFieldTarget(models.TextChoices):
    CONTACT = "contact", "Contacts"
    COMPANY = "company", "Companies"
    DEAL = "deal", "Deals"


class CustomFieldDefinition(TimestampedModel, VersionedModel):
    """A typed field admins add to contacts, companies or deals.

    Values live in each record's ``custom_fields`` JSON under ``key`` and are
    validated on every write by ``core.custom_fields.clean_values``.
    """

    target = models.CharField(max_length=20, choices=CustomFieldTarget.choices)
    key = models.SlugField(max_length=50, help_text="used in the API, imports and filters")
    label = models.CharField(max_length=100)
    field_type = models.CharField(max_length=20, choices=CustomFieldType.choices)
    choices = models.JSONField(default=list, blank=True)
    required = models.BooleanField(default=False)
    help_text = models.CharField(max_length=200, blank=True)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    history = HistoricalRecords(excluded_fields=["updated_at", "updated_by", "version"])

    class Meta:
        ordering = ["target", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["target", "key"], name="custom_field_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.get_target_display()}: {self.label}"


class SavedView(models.Model):
    """A named filter, sort and column choice for a list, private or shared with everyone."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    list_key = models.CharField(max_length=50, help_text="which list, e.g. contacts")
    name = models.CharField(max_length=100)
    query = models.CharField(max_length=2000, blank=True, help_text="the list's query string")
    shared = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["list_key", "user"], name="saved_view_list_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "list_key", "name"], name="saved_view_name_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name
