"""Demo surveys: a CSAT sent after deliveries and an NPS sent to customers, with answers.

Three in five customers agreed to surveys by e-mail (with their order); of
those invited, about half answered. Answers lean positive, as real ones do,
with a tail of unhappy customers whose comments say why. Rows are bulk
inserted with the values the services would write (classes, timeline rows
with their dedupe keys).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.contenttypes.models import ContentType

from rapport.core.demo import DemoContext, register
from rapport.customers.choices import (
    CUSTOMER_STAGES,
    ConsentChannel,
    ConsentPurpose,
    ConsentStatus,
)
from rapport.customers.models import Consent, Contact
from rapport.interactions.choices import Channel, Direction, InteractionKind
from rapport.interactions.models import Interaction
from rapport.satisfaction import scoring
from rapport.satisfaction.choices import InvitationStatus, SurveyKind
from rapport.satisfaction.models import Response, Survey, SurveyInvitation

BATCH = 2000
MAX_INVITED = 1500
NPS_WEIGHTS = [1, 1, 1, 2, 2, 4, 5, 9, 14, 17, 14]  # 0..10
CSAT_GAP_WEIGHTS = {-3: 1, -2: 3, -1: 8, 0: 20, 1: 10, 2: 3}
PRAISE = [
    "Quick delivery and a friendly installer.",
    "Everything worked first time.",
    "The technician explained everything clearly.",
    "Good value for money.",
    "",
    "",
]
COMPLAINTS = [
    "The delivery came two days late.",
    "Nobody called back about my question.",
    "The installer left a mess.",
    "Too expensive for what it is.",
    "",
]


@register(60, "satisfaction surveys")
def make_surveys(context: DemoContext) -> None:
    rng, now = context.rng, context.now
    csat = Survey.objects.create(
        name="How was your delivery?",
        kind=SurveyKind.CSAT,
        intro="Thank you for your order. Tell us how we did.",
        expectation_question="Before the delivery, what did you expect from us?",
        performance_question="And how well did we actually do?",
        comment_question="What should we do better?",
        after_delivery_days=3,
        created_at=now - timedelta(days=400),
        updated_at=now - timedelta(days=400),
    )
    nps = Survey.objects.create(
        name="Would you recommend us?",
        kind=SurveyKind.NPS,
        score_question="How likely are you to recommend us to a friend or colleague?",
        comment_question="What is the main reason for your score?",
        after_ticket_days=1,
        created_at=now - timedelta(days=400),
        updated_at=now - timedelta(days=400),
    )
    # Read only as many contacts as it takes to invite MAX_INVITED customers (a million-contact
    # demo has 400,000): filtered here, as a filter on the stage would make the database read
    # every customer through the stage index and sort them all before the first row.
    people = (
        Contact.objects.live()
        .order_by("id")
        .values_list("pk", "created_at", "lifecycle_stage", "email")
    )
    agreed: list[tuple[int, datetime]] = []
    for pk, joined, stage, email in people.iterator(chunk_size=BATCH):
        if stage in CUSTOMER_STAGES and email and rng.random() < 0.6:
            agreed.append((pk, joined))
            if len(agreed) == MAX_INVITED:
                break
    Consent.objects.bulk_create(
        [
            Consent(
                contact_id=pk,
                channel=ConsentChannel.EMAIL,
                purpose=ConsentPurpose.SURVEYS,
                status=ConsentStatus.GRANTED,
                changed_at=created,
                source="order",
                evidence="Surveys accepted with the order",
            )
            for pk, created in agreed
        ],
        batch_size=BATCH,
        ignore_conflicts=True,
    )
    invitations: list[SurveyInvitation] = []
    for pk, _created in agreed:
        for survey in (csat, nps):
            if rng.random() < 0.5:
                continue
            sent = now - timedelta(days=rng.randint(1, 360), minutes=rng.randint(0, 600))
            expires = sent + timedelta(days=survey.link_valid_days)
            answered = rng.random() < 0.55
            status = (
                InvitationStatus.ANSWERED
                if answered
                else (InvitationStatus.EXPIRED if expires < now else InvitationStatus.SENT)
            )
            invitations.append(
                SurveyInvitation(
                    survey=survey,
                    contact_id=pk,
                    status=status,
                    sent_at=sent,
                    expires_at=expires,
                    answered_at=sent + timedelta(hours=rng.randint(1, 96)) if answered else None,
                    attempts=1,
                    created_at=sent,
                    updated_at=sent,
                )
            )
    SurveyInvitation.objects.bulk_create(invitations, batch_size=BATCH)
    created = SurveyInvitation.objects.filter(survey__in=(csat, nps)).select_related("survey")
    responses: list[Response] = []
    for invitation in created.filter(status=InvitationStatus.ANSWERED).order_by("id"):
        assert invitation.answered_at is not None
        response = Response(
            survey=invitation.survey,
            invitation=invitation,
            contact_id=invitation.contact_id,
            kind=invitation.survey.kind,
            answered_at=invitation.answered_at,
            created_at=invitation.answered_at,
            updated_at=invitation.answered_at,
        )
        if invitation.survey.kind == SurveyKind.NPS:
            score = rng.choices(range(11), weights=NPS_WEIGHTS)[0]
            response.score, response.nps_class = score, scoring.nps_class(score)
            happy = score >= 7
        else:
            gap = rng.choices(list(CSAT_GAP_WEIGHTS), weights=list(CSAT_GAP_WEIGHTS.values()))[0]
            expectation = rng.randint(max(1, 1 - gap), min(5, 5 - gap))
            response.expectation, response.performance = expectation, expectation + gap
            response.gap = scoring.satisfaction_gap(expectation, expectation + gap)
            response.csat_class = scoring.csat_class(response.gap)
            happy = gap >= 0
        response.comment = rng.choice(PRAISE if happy else COMPLAINTS)
        responses.append(response)
    Response.objects.bulk_create(responses, batch_size=BATCH)
    _timeline(responses)
    context.made["surveys"] = {"csat": csat, "nps": nps}
    context.say(f"{len(invitations)} survey invitations, {len(responses)} answers")


def _timeline(responses: list[Response]) -> None:
    invitation_type = ContentType.objects.get_for_model(SurveyInvitation)
    response_type = ContentType.objects.get_for_model(Response)
    rows: list[Interaction] = []
    for invitation in SurveyInvitation.objects.filter(
        pk__in=[r.invitation_id for r in responses]
    ).select_related("survey"):
        assert invitation.sent_at is not None
        rows.append(
            Interaction(
                kind=InteractionKind.SURVEY,
                subject=f"Survey sent: {invitation.survey.name}",
                contact_id=invitation.contact_id,
                occurred_at=invitation.sent_at,
                channel=Channel.EMAIL,
                direction=Direction.OUTBOUND,
                source_type=invitation_type,
                source_id=invitation.pk,
                dedupe_key=f"survey-invitation:{invitation.pk}:sent",
                created_at=invitation.sent_at,
                updated_at=invitation.sent_at,
            )
        )
    for response in Response.objects.filter(
        invitation_id__in=[r.invitation_id for r in responses]
    ).select_related("survey"):
        if response.kind == SurveyKind.NPS:
            summary = f"{response.get_nps_class_display()} ({response.score} of 10)"
        else:
            summary = (
                f"{response.get_csat_class_display()} "
                f"(expected {response.expectation}, got {response.performance})"
            )
        rows.append(
            Interaction(
                kind=InteractionKind.SURVEY,
                subject=f"{response.survey.name}: {summary}",
                body=response.comment,
                contact_id=response.contact_id,
                occurred_at=response.answered_at,
                channel=Channel.WEB,
                direction=Direction.INBOUND,
                source_type=response_type,
                source_id=response.pk,
                dedupe_key=f"survey-response:{response.invitation_id}",
                created_at=response.answered_at,
                updated_at=response.answered_at,
            )
        )
    Interaction.objects.bulk_create(rows, batch_size=BATCH)
