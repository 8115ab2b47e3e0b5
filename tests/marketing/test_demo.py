"""The demo step: segments that find people in the demo data, a list and a draft campaign."""

from __future__ import annotations

import random

import pytest
from django.utils import timezone

from rapport.core.demo import DemoContext, steps
from rapport.marketing import queries, services
from rapport.marketing.choices import CampaignStatus, SegmentKind
from rapport.marketing.models import Campaign, Segment

pytestmark = pytest.mark.django_db


def test_demo_segments_and_campaign() -> None:
    context = DemoContext(
        rng=random.Random(7), contacts=200, now=timezone.now(), say=lambda text: None
    )
    for step in steps():
        if step.order <= 95:
            step.run(context)
    segments = {segment.name: segment for segment in Segment.objects.all()}
    assert len(segments) == 5
    for name in ("Customers open to e-mail", "Loyal buyers (3+ orders)", "Trade fair visitors"):
        assert queries.recipients(segments[name]).exists(), name
    assert segments["Trade fair visitors"].kind == SegmentKind.STATIC
    campaign = Campaign.objects.get()
    assert campaign.status == CampaignStatus.DRAFT
    member = queries.recipients(campaign.segment).first()
    assert member is not None
    rendered = services.preview(campaign, member)
    assert member.first_name in rendered.text
    assert "Unsubscribe" not in rendered.text
