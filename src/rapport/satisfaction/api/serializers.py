from __future__ import annotations

from typing import Any

from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from rapport.satisfaction.choices import (
    CsatClass,
    InvitationStatus,
    NpsClass,
    SourceKind,
    SurveyKind,
)
from rapport.satisfaction.models import Response, Survey, SurveyInvitation


def _enum(choices: type[models.TextChoices], *, blank: bool = False) -> serializers.CharField:
    """A read-only choice, described inline: names like "kind" and "status" are taken by
    other apps' enums, and inline values need no entry in ENUM_NAME_OVERRIDES."""
    values = [*([""] if blank else []), *choices.values]
    described = ", ".join(f"{value} ({label})" for value, label in choices.choices)

    @extend_schema_field({"type": "string", "enum": values, "description": described})
    class EnumField(serializers.CharField):
        pass

    return EnumField(read_only=True)


class SurveySerializer(serializers.ModelSerializer[Survey]):
    kind = _enum(SurveyKind)

    class Meta:
        model = Survey
        fields = [
            "id", "name", "kind", "intro", "expectation_question", "performance_question",
            "score_question", "comment_question", "is_active", "link_valid_days",
            "after_delivery_days", "after_ticket_days", "created_at", "updated_at", "version",
        ]  # fmt: skip
        read_only_fields = fields


class SurveyInvitationSerializer(serializers.ModelSerializer[SurveyInvitation]):
    survey_name = serializers.CharField(source="survey.name", read_only=True)
    contact_name = serializers.CharField(source="contact.full_name", read_only=True)
    status = _enum(InvitationStatus)
    source_kind = _enum(SourceKind, blank=True)

    class Meta:
        model = SurveyInvitation
        fields = [
            "id", "survey", "survey_name", "contact", "contact_name", "status", "source_kind",
            "source_id", "email", "sent_at", "expires_at", "answered_at", "attempts",
            "last_error", "created_at", "updated_at", "version",
        ]  # fmt: skip
        read_only_fields = fields


class NewSurveyInvitationsSerializer(serializers.Serializer[Any]):
    survey = serializers.IntegerField(help_text="id of an active survey")
    contacts = serializers.ListField(
        child=serializers.IntegerField(), min_length=1, max_length=1000, help_text="contact ids"
    )


class SurveyInviteSkippedSerializer(serializers.Serializer[Any]):
    contact = serializers.IntegerField()
    reason = serializers.CharField()


class SurveyInviteResultSerializer(serializers.Serializer[Any]):
    invited = SurveyInvitationSerializer(many=True)
    skipped = SurveyInviteSkippedSerializer(many=True)


class SurveyResponseSerializer(serializers.ModelSerializer[Response]):
    survey_name = serializers.CharField(source="survey.name", read_only=True)
    # The survey's kind again, as plain text: one enum per choice set keeps the schema's names.
    kind = serializers.CharField(read_only=True, help_text="csat or nps, as the survey's")
    csat_class = _enum(CsatClass, blank=True)
    nps_class = _enum(NpsClass, blank=True)

    class Meta:
        model = Response
        fields = [
            "id", "survey", "survey_name", "invitation", "contact", "kind", "expectation",
            "performance", "gap", "csat_class", "score", "nps_class", "comment", "answered_at",
        ]  # fmt: skip
        read_only_fields = fields
