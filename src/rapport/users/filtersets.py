from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from rapport.core.permissions import Role
from rapport.users.models import Team, User

ANY = "Any"  # what an unset filter says, in every select of the list


class AnyYesNoSelect(forms.NullBooleanSelect):
    """Any / Yes / No instead of Django's Unknown / Yes / No; the values stay true/false."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.choices = [("", ANY), ("true", "Yes"), ("false", "No")]

    def format_value(self, value: Any) -> list[str]:  # type: ignore[override]
        # A list, as ChoiceWidget expects: a bare "" would match every option as a substring.
        formatted = super().format_value(value)
        return ["" if formatted == "unknown" else str(formatted)]


class UserFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Name or e-mail")
    role = django_filters.ChoiceFilter(choices=Role.choices, empty_label=ANY)
    team = django_filters.ModelChoiceFilter(queryset=Team.objects.all(), empty_label=ANY)
    is_active = django_filters.BooleanFilter(label="Active", widget=AnyYesNoSelect)

    class Meta:
        model = User
        fields = ["q", "role", "team", "is_active"]

    def search(self, queryset: QuerySet[User], name: str, value: str) -> QuerySet[User]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(full_name__icontains=value) | Q(email__icontains=value))
