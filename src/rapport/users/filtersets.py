from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from rapport.core.permissions import Role
from rapport.users.models import Team, User


class UserFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Name or e-mail")
    role = django_filters.ChoiceFilter(choices=Role.choices)
    team = django_filters.ModelChoiceFilter(queryset=Team.objects.all())
    is_active = django_filters.BooleanFilter(label="Active")

    class Meta:
        model = User
        fields = ["q", "role", "team", "is_active"]

    def search(self, queryset: QuerySet[User], name: str, value: str) -> QuerySet[User]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(full_name__icontains=value) | Q(email__icontains=value))
