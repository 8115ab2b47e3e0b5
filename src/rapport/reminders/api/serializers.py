from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from rapport.customers import queries as customer_queries
from rapport.customers.api.serializers import OwnerField
from rapport.customers.models import Company, Contact
from rapport.reminders.choices import Priority
from rapport.reminders.models import Task


@extend_schema_field(OpenApiTypes.INT)
class VisibleContactField(serializers.PrimaryKeyRelatedField[Contact]):
    """A contact id the caller may see; others read as "does not exist"."""

    def get_queryset(self) -> Any:
        return customer_queries.contacts(getattr(self.context.get("request"), "user", None))


@extend_schema_field(OpenApiTypes.INT)
class VisibleCompanyField(serializers.PrimaryKeyRelatedField[Company]):
    def get_queryset(self) -> Any:
        return customer_queries.companies(getattr(self.context.get("request"), "user", None))


class TaskSerializer(serializers.ModelSerializer[Task]):
    """A task as read; also the body of PATCH for its own fields."""

    assignee = OwnerField(allow_null=True, required=False)
    contact = VisibleContactField(allow_null=True, required=False)
    company = VisibleCompanyField(allow_null=True, required=False)
    due_time = serializers.TimeField(
        allow_null=True, required=False, format="%H:%M", help_text="null for an all-day task"
    )
    time_zone = serializers.CharField(max_length=64, required=False, allow_blank=True)
    recurrence = serializers.CharField(
        max_length=500,
        required=False,
        allow_blank=True,
        help_text="RFC 5545 RRULE value, e.g. FREQ=WEEKLY;BYDAY=MO",
    )
    all_day = serializers.BooleanField(read_only=True)
    is_done = serializers.BooleanField(read_only=True)
    is_overdue = serializers.BooleanField(read_only=True)
    related_type = serializers.SerializerMethodField()
    next_occurrence = serializers.SerializerMethodField()

    class Meta:
        model = Task
        fields = [
            "id", "title", "notes", "assignee", "owner", "due_date", "due_time", "time_zone",
            "due_at", "all_day", "priority", "contact", "company", "related_type", "related_id",
            "recurrence", "is_done", "is_overdue", "done_at", "done_by", "next_occurrence",
            "version", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = [
            "id", "owner", "due_at", "related_id", "done_at", "done_by", "version",
            "created_at", "updated_at",
        ]  # fmt: skip

    @extend_schema_field(
        serializers.CharField(allow_null=True, help_text="e.g. sales.deal, for related_id")
    )
    def get_related_type(self, task: Task) -> str | None:
        kind = task.related_type
        return None if kind is None else f"{kind.app_label}.{kind.model}"

    @extend_schema_field(OpenApiTypes.INT)
    def get_next_occurrence(self, task: Task) -> int | None:
        """The occurrence created when this recurring one was done."""
        following = getattr(task, "next_occurrence", None)
        return None if following is None else following.pk


class NewTaskSerializer(serializers.Serializer[Any]):
    title = serializers.CharField(max_length=200)
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    due_date = serializers.DateField()
    due_time = serializers.TimeField(
        required=False, allow_null=True, default=None, help_text="omit for an all-day task"
    )
    time_zone = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        default="",
        help_text="IANA name; Rapport's time zone when empty",
    )
    assignee = OwnerField(
        allow_null=True, required=False, help_text="a user id; the caller when omitted"
    )
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.NORMAL)
    contact = VisibleContactField(allow_null=True, required=False, default=None)
    company = VisibleCompanyField(allow_null=True, required=False, default=None)
    recurrence = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
