"""One FilterSet for customer reminders: the web list and the API filter the same way."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms

from rapport.reminders.models import ServiceReminder
from rapport.reminders.outreach_choices import ReminderKind, ReminderStatus


class ReminderFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ReminderStatus.choices, empty_label="Any status")
    kind = django_filters.ChoiceFilter(choices=ReminderKind.choices, empty_label="Any kind")
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
    asset = django_filters.NumberFilter(field_name="asset", label="Unit id")
    contact = django_filters.NumberFilter(field_name="asset__contact", label="Contact id")
    company = django_filters.NumberFilter(field_name="asset__company", label="Company id")

    # Filters for links and the API only (ids are not something people type).
    api_only_filters = ("asset", "contact", "company")

    class Meta:
        model = ServiceReminder
        fields = ["status", "kind", "due_from", "due_until", "asset", "contact", "company"]

    def web_fields(self) -> list[Any]:
        return [self.form[name] for name in self.form.fields if name not in self.api_only_filters]
