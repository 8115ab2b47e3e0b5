"""The demo step: open, won and lost deals over the last year, with history and targets."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from rapport.core.demo import DemoContext, steps
from rapport.interactions.choices import InteractionKind
from rapport.interactions.models import Interaction
from rapport.sales.choices import DealStatus
from rapport.sales.models import Deal, SalesTarget, StageChange

pytestmark = pytest.mark.django_db


def test_demo_deals() -> None:
    now = timezone.now()
    context = DemoContext(rng=random.Random(7), contacts=200, now=now, say=lambda text: None)
    wanted = {
        "teams and users",
        "companies and contacts",
        "catalog",
        "orders and installed base",
        "sales pipeline",
    }
    for step in steps():
        if step.name in wanted:
            step.run(context)
    deals = Deal.objects.all()
    for status in DealStatus.values:
        assert deals.filter(status=status).exists(), status
    assert not deals.filter(status=DealStatus.LOST, lost_reason="").exists()
    assert deals.filter(created_at__lt=now - timedelta(days=180)).exists()
    assert not deals.filter(
        status=DealStatus.OPEN, expected_close__lt=timezone.localdate(now)
    ).exists()
    assert deals.filter(lines__isnull=False).exists()
    # Every deal has its opening in the stage history and on the timeline, in the past.
    assert StageChange.objects.filter(from_stage__isnull=True).count() == deals.count()
    entries = Interaction.objects.filter(kind=InteractionKind.DEAL)
    assert entries.count() == StageChange.objects.count()
    assert entries.filter(occurred_at__lt=now - timedelta(days=30)).exists()
    assert SalesTarget.objects.exists()
