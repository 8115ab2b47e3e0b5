"""The demo step: a CSAT and an NPS survey with realistic, consistent answers."""

from __future__ import annotations

import random

import pytest
from django.utils import timezone

from rapport.core.demo import DemoContext, steps
from rapport.customers.choices import ConsentPurpose, ConsentStatus
from rapport.customers.models import Consent
from rapport.interactions.models import Interaction
from rapport.satisfaction import scoring
from rapport.satisfaction.choices import InvitationStatus, SurveyKind
from rapport.satisfaction.models import Response, Survey, SurveyInvitation
from rapport.satisfaction.queries import latest_classes

pytestmark = pytest.mark.django_db


def test_demo_surveys() -> None:
    context = DemoContext(
        rng=random.Random(7), contacts=300, now=timezone.now(), say=lambda text: None
    )
    wanted = {"teams and users", "companies and contacts", "satisfaction surveys"}
    for step in steps():
        if step.name in wanted:
            step.run(context)

    assert set(Survey.objects.values_list("kind", flat=True)) == {SurveyKind.CSAT, SurveyKind.NPS}
    answers = list(Response.objects.all())
    assert len(answers) > 10
    assert {a.kind for a in answers} == {SurveyKind.CSAT, SurveyKind.NPS}
    for response in answers:
        assert response.invitation.status == InvitationStatus.ANSWERED
        if response.kind == SurveyKind.NPS:
            assert response.score is not None
            assert response.nps_class == scoring.nps_class(response.score)
        else:
            assert response.expectation is not None
            assert response.performance is not None
            assert response.gap == response.performance - response.expectation
            assert response.csat_class == scoring.csat_class(response.gap)
    nps = [a.score for a in answers if a.score is not None]
    assert len({scoring.nps_class(score) for score in nps}) == 3  # all three classes occur
    invited = SurveyInvitation.objects.values_list("contact_id", flat=True)
    agreed = Consent.objects.filter(
        purpose=ConsentPurpose.SURVEYS, status=ConsentStatus.GRANTED
    ).values_list("contact_id", flat=True)
    assert set(invited) <= set(agreed)
    assert Interaction.objects.filter(kind="survey").count() == 2 * len(answers)
    assert latest_classes([answers[0].contact_id])
