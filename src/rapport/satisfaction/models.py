"""Surveys, the invitations sent for them, and the answers (one per invitation)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.urls import reverse
from simple_history.models import HistoricalRecords

from rapport.core.models import CustomerRecord, TimestampedModel, VersionedModel
from rapport.customers.models import Contact
from rapport.satisfaction.choices import (
    CsatClass,
    InvitationStatus,
    NpsClass,
    SourceKind,
    SurveyKind,
)

DEFAULT_LINK_DAYS = 30


class Survey(CustomerRecord):
    """A questionnaire of one kind, and when Rapport sends it by itself.

    ``after_delivery_days`` / ``after_ticket_days``: None means the trigger is
    off; a number sends the survey that many days after a delivery arrived or
    a ticket was resolved (the periodic job, see ``services.run_triggers``).
    """

    name = models.CharField(max_length=150)
    kind = models.CharField(max_length=10, choices=SurveyKind.choices)
    intro = models.TextField(blank=True, help_text="shown above the questions")
    expectation_question = models.CharField(
        max_length=300, blank=True, help_text="CSAT: what the customer expected (1-5)"
    )
    performance_question = models.CharField(
        max_length=300, blank=True, help_text="CSAT: how well it went (1-5)"
    )
    score_question = models.CharField(
        max_length=300, blank=True, help_text="NPS: how likely to recommend (0-10)"
    )
    comment_question = models.CharField(max_length=300, blank=True)
    is_active = models.BooleanField(default=True)
    link_valid_days = models.PositiveSmallIntegerField(default=DEFAULT_LINK_DAYS)
    after_delivery_days = models.PositiveSmallIntegerField(null=True, blank=True)
    after_ticket_days = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=SurveyKind.values), name="survey_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(link_valid_days__gte=1), name="survey_link_valid_days_positive"
            ),
        ]
        indexes = [
            models.Index(fields=["name", "id"], name="survey_name_idx"),
            models.Index(fields=["kind", "name"], name="survey_kind_idx"),
            models.Index(fields=["is_active", "name"], name="survey_active_idx"),
            models.Index(fields=["-updated_at", "-id"], name="survey_updated_idx"),
            models.Index(fields=["-created_at", "-id"], name="survey_created_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("satisfaction:survey", args=[self.pk])


class SurveyInvitation(TimestampedModel, VersionedModel):
    """One survey for one contact, reachable by a signed link (see ``links.py``).

    ``source_kind``/``source_id`` name what triggered it (a delivery, a ticket);
    the unique constraint makes the periodic trigger job idempotent.
    """

    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="invitations")
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="survey_invitations"
    )
    status = models.CharField(
        max_length=10, choices=InvitationStatus.choices, default=InvitationStatus.QUEUED
    )
    source_kind = models.CharField(max_length=10, choices=SourceKind.choices, blank=True)
    source_id = models.PositiveBigIntegerField(null=True, blank=True)
    email = models.EmailField(blank=True, help_text="where it was sent")
    sent_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    # Set while a worker sends it, so two workers never send the same one.
    claimed_at = models.DateTimeField(null=True, blank=True, editable=False)

    history = HistoricalRecords(excluded_fields=["updated_at", "updated_by", "version"])

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "source_kind", "source_id"],
                condition=Q(source_id__isnull=False),
                name="survey_invitation_one_per_source",
            ),
            models.CheckConstraint(
                condition=Q(source_id__isnull=True, source_kind="")
                | Q(source_id__isnull=False) & ~Q(source_kind=""),
                name="survey_invitation_source_pair",
            ),
        ]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="invitation_created_idx"),
            models.Index(fields=["survey", "-created_at"], name="invitation_survey_idx"),
            models.Index(fields=["contact", "-created_at"], name="invitation_contact_idx"),
            models.Index(fields=["status", "-created_at"], name="invitation_status_idx"),
            models.Index(fields=["source_kind", "-created_at"], name="invitation_source_idx"),
            models.Index(fields=["-sent_at", "-id"], name="invitation_sent_idx"),
            models.Index(fields=["-answered_at", "-id"], name="invitation_answered_idx"),
            models.Index(
                fields=["expires_at"],
                condition=Q(status="sent"),
                name="invitation_expiry_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.survey} for {self.contact}"

    def get_absolute_url(self) -> str:
        return reverse("customers:contact", args=[self.contact_id])


class Response(TimestampedModel):
    """One answer to one invitation; the classes are stored so lists and segments filter them."""

    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="responses")
    invitation = models.OneToOneField(
        SurveyInvitation, on_delete=models.CASCADE, related_name="response"
    )
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="survey_responses")
    kind = models.CharField(max_length=10, choices=SurveyKind.choices)
    expectation = models.PositiveSmallIntegerField(null=True, blank=True)
    performance = models.PositiveSmallIntegerField(null=True, blank=True)
    gap = models.SmallIntegerField(null=True, blank=True)
    csat_class = models.CharField(max_length=15, choices=CsatClass.choices, blank=True)
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    nps_class = models.CharField(max_length=10, choices=NpsClass.choices, blank=True)
    comment = models.TextField(blank=True)
    answered_at = models.DateTimeField()

    class Meta:
        ordering = ["-answered_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    kind="csat",
                    expectation__gte=1,
                    expectation__lte=5,
                    performance__gte=1,
                    performance__lte=5,
                    score__isnull=True,
                )
                | Q(kind="nps", score__gte=0, score__lte=10, expectation__isnull=True),
                name="survey_response_values",
            ),
        ]
        indexes = [
            # latest_classes(): each contact's latest answer per kind.
            models.Index(
                fields=["contact", "kind", "-answered_at", "-id"], name="response_latest_idx"
            ),
            models.Index(fields=["survey", "-answered_at"], name="response_survey_idx"),
            models.Index(fields=["-answered_at", "-id"], name="response_answered_idx"),
            models.Index(fields=["kind", "-answered_at"], name="response_kind_idx"),
            models.Index(fields=["nps_class", "-answered_at"], name="response_nps_class_idx"),
            models.Index(fields=["csat_class", "-answered_at"], name="response_csat_class_idx"),
        ]

    def __str__(self) -> str:
        return f"Answer to {self.survey}"

    def get_absolute_url(self) -> str:
        return reverse("customers:contact", args=[self.contact_id])
