"""Import jobs (file, mapping, dry run, row errors, progress) and saved mappings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from rapport.dataio.choices import Entity, FileFormat, JobStatus, MatchOn


class SavedMapping(models.Model):
    """A column mapping kept for the next file from the same source."""

    name = models.CharField(max_length=100)
    entity = models.CharField(max_length=20, choices=Entity.choices)
    # {"Column header in the file": "target field"}; targets of custom fields are "cf:<key>".
    columns = models.JSONField(default=dict)
    match_on = models.CharField(max_length=20, choices=MatchOn.choices, default=MatchOn.EMAIL)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["entity", "name"], name="saved_mapping_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class ImportJob(models.Model):
    entity = models.CharField(max_length=20, choices=Entity.choices)
    file = models.FileField(upload_to="imports/%Y/%m/", max_length=300)
    filename = models.CharField(max_length=255, help_text="the name the file was uploaded with")
    file_format = models.CharField(max_length=10, choices=FileFormat.choices)
    encoding = models.CharField(max_length=40, blank=True)
    delimiter = models.CharField(max_length=1, blank=True)
    headers = models.JSONField(default=list)
    columns = models.JSONField(default=dict, help_text="file column → target field")
    match_on = models.CharField(max_length=20, choices=MatchOn.choices, default=MatchOn.EMAIL)
    dry_run = models.BooleanField(default=True)
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.NEW)
    message = models.TextField(blank=True)
    total_rows = models.PositiveIntegerField(null=True, blank=True)
    processed_rows = models.PositiveIntegerField(default=0)
    # Data rows whose batch is committed: a resumed import starts after them.
    committed_rows = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    invalid = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="import_job_created_idx"),
            models.Index(fields=["status"], name="import_job_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_entity_display()} from {self.filename}"

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 0
        return min(100, round(100 * self.processed_rows / self.total_rows))


class ImportRowError(models.Model):
    """One invalid row of a file: where, what and why, with the row as it was."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="row_errors")
    row_number = models.PositiveIntegerField(help_text="line in the file, header = 1")
    column = models.CharField(max_length=255, blank=True)
    reason = models.TextField()
    values = models.JSONField(default=list, help_text="the row's cells, to fix and re-import")

    class Meta:
        ordering = ["row_number", "id"]
        indexes = [models.Index(fields=["job", "row_number"], name="import_error_row_idx")]

    def __str__(self) -> str:
        return f"row {self.row_number}: {self.reason}"


class ErasureRecord(models.Model):
    """That a person's data was erased, when, by whom and why; never what was erased."""

    object_kind = models.CharField(max_length=30, help_text="e.g. contact")
    object_id = models.PositiveBigIntegerField()
    erased_at = models.DateTimeField(default=timezone.now)
    erased_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=200, help_text="e.g. request by e-mail, retention rule")

    class Meta:
        ordering = ["-erased_at", "-id"]
        indexes = [models.Index(fields=["-erased_at", "-id"], name="erasure_when_idx")]

    def __str__(self) -> str:
        return f"{self.object_kind} {self.object_id} erased"


class RetentionRule(models.Model):
    """How long leads without any activity are kept before a periodic job erases them."""

    stage = models.CharField(max_length=20, unique=True, help_text="lifecycle stage, e.g. lead")
    inactive_days = models.PositiveIntegerField()
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["stage"]

    def __str__(self) -> str:
        return f"{self.stage}: {self.inactive_days} days"


class DuplicateKind(models.TextChoices):
    CONTACT = "contact", "Contacts"
    COMPANY = "company", "Companies"


class PairStatus(models.TextChoices):
    OPEN = "open", "To review"
    MERGED = "merged", "Merged"
    DISMISSED = "dismissed", "Not a duplicate"


class DuplicatePair(models.Model):
    """Two records the scan thinks are the same person or company.

    The pair is stored with the lower id first, so it is found again by the
    next scan and a dismissed pair never comes back.
    """

    kind = models.CharField(max_length=10, choices=DuplicateKind.choices)
    contact_a = models.ForeignKey(
        "customers.Contact", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    contact_b = models.ForeignKey(
        "customers.Contact", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    company_a = models.ForeignKey(
        "customers.Company", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    company_b = models.ForeignKey(
        "customers.Company", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    score = models.FloatField(help_text="0..1, how alike the two records are")
    # {"fields": {"name": 0.97, ...}, "keys": ["email-domain", ...]}
    reasons = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=PairStatus.choices, default=PairStatus.OPEN)
    found_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-score", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["contact_a", "contact_b"],
                condition=models.Q(kind="contact"),
                name="duplicate_contact_pair_unique",
            ),
            models.UniqueConstraint(
                fields=["company_a", "company_b"],
                condition=models.Q(kind="company"),
                name="duplicate_company_pair_unique",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(
                        kind="contact",
                        contact_a__isnull=False,
                        contact_b__isnull=False,
                        company_a__isnull=True,
                        company_b__isnull=True,
                        contact_a__lt=models.F("contact_b"),
                    )
                    | models.Q(
                        kind="company",
                        company_a__isnull=False,
                        company_b__isnull=False,
                        contact_a__isnull=True,
                        contact_b__isnull=True,
                        company_a__lt=models.F("company_b"),
                    )
                ),
                name="duplicate_pair_shape",
            ),
        ]
        indexes = [
            models.Index(fields=["kind", "status", "-score", "id"], name="duplicate_queue_idx"),
            models.Index(fields=["contact_b"], name="duplicate_contact_b_idx"),
            models.Index(fields=["company_b"], name="duplicate_company_b_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.first} ~ {self.second} ({self.score:.2f})"

    @property
    def first(self) -> Any:
        return self.contact_a if self.kind == DuplicateKind.CONTACT else self.company_a

    @property
    def second(self) -> Any:
        return self.contact_b if self.kind == DuplicateKind.CONTACT else self.company_b


class MergeRecord(models.Model):
    """One merge: who merged what into what, and everything needed to undo it.

    ``undo`` lists each change the merge made (field values of the survivor
    before, rows moved from the loser, flags cleared, rows dropped because the
    survivor already had one, tags added) so ``merge.undo_merge`` can reverse it.
    """

    kind = models.CharField(max_length=10, choices=DuplicateKind.choices)
    survivor_contact = models.ForeignKey(
        "customers.Contact", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    loser_contact = models.ForeignKey(
        "customers.Contact", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    survivor_company = models.ForeignKey(
        "customers.Company", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    loser_company = models.ForeignKey(
        "customers.Company", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    pair = models.ForeignKey(
        DuplicatePair, null=True, blank=True, on_delete=models.SET_NULL, related_name="merges"
    )
    undo = models.JSONField(default=dict)
    merged_at = models.DateTimeField(default=timezone.now)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-merged_at", "-id"]
        indexes = [
            models.Index(fields=["-merged_at", "-id"], name="merge_when_idx"),
            models.Index(fields=["loser_contact"], name="merge_loser_contact_idx"),
            models.Index(fields=["loser_company"], name="merge_loser_company_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.loser} merged into {self.survivor}"

    @property
    def survivor(self) -> Any:
        return (
            self.survivor_contact if self.kind == DuplicateKind.CONTACT else self.survivor_company
        )

    @property
    def loser(self) -> Any:
        return self.loser_contact if self.kind == DuplicateKind.CONTACT else self.loser_company


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Ready to download"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired (file deleted)"


class ExportFormat(models.TextChoices):
    CSV = "csv", "CSV files in a ZIP"
    JSON = "json", "JSON files in a ZIP"


class ExportJob(models.Model):
    """The "Export everything" job: one ZIP with a file per list the requester may export.

    The file lives under ``DATAIO_EXPORT_DIR`` (by default the data directory's
    ``exports/``) with a random name; only the requester and admins fetch it, and
    a periodic job deletes it at ``expires_at``. ``entities`` holds the progress,
    one ``{"key", "label", "rows", "written", "done"}`` per list.
    """

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    file_type = models.CharField(
        max_length=10, choices=ExportFormat.choices, default=ExportFormat.CSV
    )
    file_name = models.CharField(
        max_length=200, blank=True, help_text="the ZIP's name inside the export directory"
    )
    file_size = models.PositiveBigIntegerField(default=0)
    entities = models.JSONField(default=list)
    total_rows = models.PositiveIntegerField(null=True, blank=True)
    written_rows = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords(excluded_fields=["entities", "written_rows"])

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="export_job_created_idx"),
            models.Index(fields=["status", "expires_at"], name="export_job_expiry_idx"),
        ]

    def __str__(self) -> str:
        return f"Export everything #{self.pk} ({self.get_status_display()})"

    @property
    def percent(self) -> int:
        if self.status == ExportStatus.DONE:
            return 100
        if not self.total_rows:
            return 0
        return min(99, round(100 * self.written_rows / self.total_rows))

    @property
    def active(self) -> bool:
        return self.status in (ExportStatus.QUEUED, ExportStatus.RUNNING)

    @property
    def downloadable(self) -> bool:
        return self.status == ExportStatus.DONE and bool(self.file_name)
