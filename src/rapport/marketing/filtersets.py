"""One FilterSet per list: the API and the pages filter alike."""

from __future__ import annotations

import django_filters

from rapport.marketing.choices import CampaignStatus, SegmentKind
from rapport.marketing.models import Campaign, Segment


class SegmentFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name")
    kind = django_filters.ChoiceFilter(choices=SegmentKind.choices, empty_label="Any")

    class Meta:
        model = Segment
        fields = ["q", "kind"]


class CampaignFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Name")
    status = django_filters.ChoiceFilter(choices=CampaignStatus.choices, empty_label="Any")
    segment = django_filters.NumberFilter(field_name="segment_id")

    class Meta:
        model = Campaign
        fields = ["q", "status", "segment"]
