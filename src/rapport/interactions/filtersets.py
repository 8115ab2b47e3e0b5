"""One FilterSet for the timeline: the panel's kind filter and the API agree."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from rapport.customers.filtersets import OwnerFilter
from rapport.customers.models import Membership
from rapport.interactions.choices import InteractionKind
from rapport.interactions.models import Interaction


class InteractionFilterSet(django_filters.FilterSet):
    contact = django_filters.NumberFilter(field_name="contact_id", label="Contact id")
    company = django_filters.NumberFilter(
        method="about_company",
        label="Company id",
        help_text="the company's timeline: its own touchpoints and those of its people",
    )
    kind = django_filters.MultipleChoiceFilter(
        distinct=False, choices=InteractionKind.choices, label="Kind"
    )
    occurred_after = django_filters.IsoDateTimeFilter(
        field_name="occurred_at",
        lookup_expr="gte",
        label="Happened at or after",
        help_text="ISO 8601 date-time, e.g. 2026-01-31T09:00:00Z",
    )
    occurred_before = django_filters.IsoDateTimeFilter(
        field_name="occurred_at",
        lookup_expr="lt",
        label="Happened before",
        help_text="ISO 8601 date-time, e.g. 2026-02-01T00:00:00Z",
    )
    owner = OwnerFilter(label="Who had it", help_text="a user id, me, or none")

    class Meta:
        model = Interaction
        fields = ["contact", "company", "kind", "occurred_after", "occurred_before", "owner"]

    def about_company(
        self, queryset: QuerySet[Interaction], name: str, value: int | None
    ) -> QuerySet[Interaction]:
        if value is None:
            return queryset
        people = Membership.objects.filter(company_id=value).values("contact_id")
        return queryset.filter(Q(company_id=value) | Q(contact_id__in=people))
