"""Builders for surveys, invitations and answers, all through rapport.satisfaction.services."""

from __future__ import annotations

from typing import Any

from rapport.customers.choices import ConsentChannel, ConsentPurpose
from rapport.customers.models import Contact
from rapport.customers.services import set_consent
from rapport.satisfaction import links, services
from rapport.satisfaction.choices import SurveyKind
from rapport.satisfaction.models import Response, Survey, SurveyInvitation
from rapport.users.models import User
from tests.customers.factories import make_contact


def make_survey(
    actor: User | None = None, *, kind: str = SurveyKind.NPS, name: str = "", **extra: Any
) -> Survey:
    return services.create_survey(
        actor, services.SurveyInput(name=name or f"{kind.upper()} survey", kind=kind, **extra)
    )


def agree_to_surveys(contact: Contact, *, granted: bool = True) -> Contact:
    set_consent(
        None,
        contact,
        channel=ConsentChannel.EMAIL,
        purpose=ConsentPurpose.SURVEYS,
        granted=granted,
        source="test",
    )
    return contact


def surveyable_contact(actor: User | None = None, **extra: Any) -> Contact:
    """A contact with an e-mail address who agreed to surveys by e-mail."""
    return agree_to_surveys(make_contact(actor, **extra))


def invite_one(survey: Survey, contact: Contact, actor: User | None = None) -> SurveyInvitation:
    result = services.invite(actor, survey, [contact])
    assert result.invited, result.skipped
    return result.invited[0]


def answer(
    invitation: SurveyInvitation,
    *,
    score: int | None = None,
    expectation: int | None = None,
    performance: int | None = None,
    comment: str = "",
) -> Response:
    return services.submit_answer(
        links.token_for(invitation),
        services.AnswerInput(
            score=score, expectation=expectation, performance=performance, comment=comment
        ),
    )
