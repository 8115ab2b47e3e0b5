"""One FilterSet for the ticket list: the queues, the web list and the API agree."""

from __future__ import annotations

import re
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet

from rapport.catalog.filtersets import ListFilterSet
from rapport.service import queries
from rapport.service.choices import Priority, TicketChannel, TicketStatus
from rapport.service.models import Ticket
from rapport.users.models import Team, User

REFERENCE = re.compile(r"^\s*#?T-?(\d+)\s*$", re.IGNORECASE)
QUEUES = [
    ("", "All tickets"),
    ("mine", "My tickets"),
    ("unassigned", "Unassigned"),
    ("breaching", "Breaching soon"),
    ("open", "All open"),
]


def assignee_choices() -> list[tuple[str, str]]:
    people = (
        User.objects.filter(is_active=True).order_by("full_name").values_list("pk", "full_name")
    )
    return [("", "Anyone"), ("me", "Me"), ("none", "Unassigned")] + [
        (str(pk), name) for pk, name in people
    ]


class TicketFilterSet(ListFilterSet):
    q = django_filters.CharFilter(method="search", label="Reference or subject")
    queue = django_filters.ChoiceFilter(
        choices=QUEUES[1:], method="in_queue", empty_label="All tickets", label="Queue"
    )
    status = django_filters.MultipleChoiceFilter(
        distinct=False, choices=TicketStatus.choices, widget=forms.CheckboxSelectMultiple
    )
    priority = django_filters.MultipleChoiceFilter(
        distinct=False, choices=Priority.choices, widget=forms.CheckboxSelectMultiple
    )
    assignee = django_filters.CharFilter(method="assigned_to", label="Assignee")
    team = django_filters.ModelChoiceFilter(queryset=Team.objects.all(), empty_label="Any team")
    channel = django_filters.ChoiceFilter(choices=TicketChannel.choices, empty_label="Any channel")
    contact = django_filters.NumberFilter(field_name="contact_id", label="Contact id")
    company = django_filters.NumberFilter(field_name="company_id", label="Company id")
    asset = django_filters.NumberFilter(field_name="asset_id", label="Asset id")

    primary_filters = ("q", "queue", "status")
    api_only_filters = ("contact", "company", "asset")

    class Meta:
        model = Ticket
        fields = ["q", "queue", "status", "priority", "assignee", "team", "channel"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters["assignee"].extra["widget"] = forms.Select(choices=assignee_choices())

    def search(self, queryset: QuerySet[Ticket], name: str, value: str) -> QuerySet[Ticket]:
        value = value.strip()
        if not value:
            return queryset
        match = REFERENCE.match(value)
        if match:
            return queryset.filter(pk=int(match.group(1)))
        return queryset.filter(subject__icontains=value)

    def in_queue(self, queryset: QuerySet[Ticket], name: str, value: str) -> QuerySet[Ticket]:
        if not value:
            return queryset
        return queries.queue(queryset, value, getattr(self.request, "user", None))

    def assigned_to(self, queryset: QuerySet[Ticket], name: str, value: str) -> QuerySet[Ticket]:
        if not value:
            return queryset
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        if value == "me":
            return queryset.filter(
                assignee_id=getattr(getattr(self.request, "user", None), "pk", None)
            )
        if not value.isdigit():
            return queryset.none()
        return queryset.filter(assignee_id=int(value))
