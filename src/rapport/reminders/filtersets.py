"""One FilterSet for tasks: the web list and the API filter the same way."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone

from rapport.customers.filtersets import owner_choices
from rapport.reminders.choices import Priority, TaskStatus
from rapport.reminders.models import Task

UNASSIGNED = "none"


class AssigneeFilter(django_filters.CharFilter):
    """``assignee=<id>``, ``assignee=me`` or ``assignee=none`` (unassigned)."""

    def filter(self, qs: QuerySet[Any], value: str) -> QuerySet[Any]:
        if not value:
            return qs
        if value == UNASSIGNED:
            return qs.filter(assignee__isnull=True)
        if value == "me":
            request = self.parent.request
            return qs.filter(assignee_id=request.user.pk) if request else qs.none()
        if not value.isdigit():
            return qs.none()
        return qs.filter(assignee_id=int(value))


def overdue_rule() -> Q:
    """Open and past due: all-day tasks from the next day on, timed ones from their minute."""
    return Q(done_at__isnull=True) & (
        Q(due_date__lt=timezone.localdate()) | Q(due_time__isnull=False, due_at__lt=timezone.now())
    )


class TaskFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Title")
    status = django_filters.ChoiceFilter(
        choices=TaskStatus.choices, method="by_status", empty_label="Any status"
    )
    assignee = AssigneeFilter(label="Assignee")
    priority = django_filters.MultipleChoiceFilter(
        distinct=False,
        choices=Priority.choices,
        label="Priority",
        widget=forms.CheckboxSelectMultiple,
    )
    due_from = django_filters.DateFilter(
        field_name="due_date",
        lookup_expr="gte",
        label="Due from",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    due_until = django_filters.DateFilter(
        field_name="due_date",
        lookup_expr="lte",
        label="Due until",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    contact = django_filters.NumberFilter(field_name="contact", label="Contact id")
    company = django_filters.NumberFilter(field_name="company", label="Company id")

    # Filters for the API only (ids are not something people type).
    api_only_filters = ("contact", "company")

    class Meta:
        model = Task
        fields = ["q", "status", "assignee", "priority", "due_from", "due_until"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(value, "Anyone" if value == "" else label) for value, label in owner_choices()]
        self.filters["assignee"].extra["widget"] = forms.Select(choices=choices)

    def web_fields(self) -> list[Any]:
        return [self.form[name] for name in self.form.fields if name not in self.api_only_filters]

    def search(self, queryset: QuerySet[Task], name: str, value: str) -> QuerySet[Task]:
        value = value.strip()
        return queryset.filter(title__icontains=value) if value else queryset

    def by_status(self, queryset: QuerySet[Task], name: str, value: str) -> QuerySet[Task]:
        if value == TaskStatus.OPEN:
            return queryset.filter(done_at__isnull=True)
        if value == TaskStatus.DONE:
            return queryset.filter(done_at__isnull=False)
        if value == TaskStatus.OVERDUE:
            return queryset.filter(overdue_rule())
        return queryset
