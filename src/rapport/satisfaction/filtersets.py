"""One FilterSet per list (surveys, invitations, answers): web, API and export agree."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from rapport.catalog.filtersets import ListFilterSet
from rapport.satisfaction.choices import (
    CsatClass,
    InvitationStatus,
    NpsClass,
    SourceKind,
    SurveyKind,
)
from rapport.satisfaction.models import Response, Survey, SurveyInvitation

DATE = forms.DateInput(attrs={"type": "date"})
YES_NO = [("", "Any"), ("true", "Yes"), ("false", "No")]


class SurveyFilterSet(ListFilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name")
    kind = django_filters.ChoiceFilter(choices=SurveyKind.choices, empty_label="Any kind")
    active = django_filters.BooleanFilter(
        field_name="is_active", widget=forms.Select(choices=YES_NO)
    )

    primary_filters = ("q", "kind", "active")

    class Meta:
        model = Survey
        fields = ["q", "kind", "active"]


class InvitationFilterSet(ListFilterSet):
    q = django_filters.CharFilter(method="search", label="Contact or survey")
    status = django_filters.MultipleChoiceFilter(
        distinct=False, choices=InvitationStatus.choices, widget=forms.CheckboxSelectMultiple
    )
    survey = django_filters.NumberFilter(field_name="survey_id", label="Survey id")
    contact = django_filters.NumberFilter(field_name="contact_id", label="Contact id")
    source_kind = django_filters.ChoiceFilter(
        choices=SourceKind.choices, empty_label="Any trigger", label="Sent after"
    )
    created_from = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__gte", widget=DATE, label="Invited from"
    )

    primary_filters = ("q", "status")
    api_only_filters = ("contact",)

    class Meta:
        model = SurveyInvitation
        fields = ["q", "status", "survey", "contact", "source_kind", "created_from"]

    def search(
        self, queryset: QuerySet[SurveyInvitation], name: str, value: str
    ) -> QuerySet[SurveyInvitation]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(contact__full_name__icontains=value) | Q(survey__name__icontains=value)
        )


class ResponseFilterSet(ListFilterSet):
    survey = django_filters.NumberFilter(field_name="survey_id", label="Survey id")
    kind = django_filters.ChoiceFilter(choices=SurveyKind.choices, empty_label="Any kind")
    nps_class = django_filters.ChoiceFilter(choices=NpsClass.choices, empty_label="Any")
    csat_class = django_filters.ChoiceFilter(choices=CsatClass.choices, empty_label="Any")
    contact = django_filters.NumberFilter(field_name="contact_id", label="Contact id")
    answered_from = django_filters.DateFilter(
        field_name="answered_at", lookup_expr="date__gte", widget=DATE, label="Answered from"
    )
    answered_until = django_filters.DateFilter(
        field_name="answered_at", lookup_expr="date__lte", widget=DATE, label="Answered until"
    )
    with_comment = django_filters.BooleanFilter(
        field_name="comment", method="commented", widget=forms.Select(choices=YES_NO)
    )

    primary_filters = ("kind", "nps_class", "csat_class")
    api_only_filters = ("contact",)

    class Meta:
        model = Response
        fields = ["survey", "kind", "nps_class", "csat_class", "answered_from", "answered_until"]

    def commented(
        self, queryset: QuerySet[Response], name: str, value: bool | None
    ) -> QuerySet[Response]:
        if value is None:
            return queryset
        return queryset.exclude(comment="") if value else queryset.filter(comment="")
