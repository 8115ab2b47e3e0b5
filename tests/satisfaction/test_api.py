"""The survey API: keyset pages, filters, inviting, errors in the house format."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.satisfaction.choices import SurveyKind
from rapport.satisfaction.models import SurveyInvitation
from rapport.users.models import User
from tests.customers.factories import make_contact
from tests.satisfaction.factories import answer, invite_one, make_survey, surveyable_contact

pytestmark = pytest.mark.django_db


def test_answers_page_by_keyset_and_filter_by_class(admin: User, api_for: Any) -> None:
    survey = make_survey(admin)
    for score in (10, 9, 3, 7, 0):
        answer(invite_one(survey, surveyable_contact(admin)), score=score)
    api = api_for(admin)

    first = api.get("/api/v1/survey-responses?limit=2").json()
    second = api.get(first["next"]).json()
    third = api.get(second["next"]).json()
    scores = [row["score"] for page in (first, second, third) for row in page["results"]]
    assert scores == [0, 7, 3, 9, 10]  # newest first
    assert third["next"] is None

    promoters = api.get("/api/v1/survey-responses?nps_class=promoter").json()["results"]
    assert sorted(row["score"] for row in promoters) == [9, 10]
    assert {row["nps_class"] for row in promoters} == {"promoter"}


def test_a_survey_has_an_etag(admin: User, api_for: Any) -> None:
    survey = make_survey(admin)
    reply = api_for(admin).get(f"/api/v1/surveys/{survey.pk}")
    assert reply["ETag"] == f'"{survey.pk}-1"'
    again = api_for(admin).get(f"/api/v1/surveys/{survey.pk}", HTTP_IF_NONE_MATCH=reply["ETag"])
    assert again.status_code == 304


def test_inviting_returns_who_was_invited_and_who_was_skipped(
    marketing: User, api_for: Any
) -> None:
    survey = make_survey(marketing, kind=SurveyKind.CSAT)
    agreed = surveyable_contact(marketing)
    refused = make_contact(marketing)
    reply = api_for(marketing).post(
        "/api/v1/survey-invitations", {"survey": survey.pk, "contacts": [agreed.pk, refused.pk]}
    )
    assert reply.status_code == 201, reply.content
    body = reply.json()
    assert [row["contact"] for row in body["invited"]] == [agreed.pk]
    assert body["invited"][0]["status"] == "queued"
    assert body["skipped"] == [
        {"contact": refused.pk, "reason": f"{refused} has not agreed to surveys by e-mail."}
    ]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"contacts": [1]}, "survey"),
        ({"survey": 999999, "contacts": [1]}, "survey"),
        ({"survey": "{survey}", "contacts": []}, "contacts"),
        ({"survey": "{survey}", "contacts": ["x"]}, "contacts"),
        ({"survey": "{inactive}", "contacts": ["{contact}"]}, "survey"),
    ],
)
def test_bad_invitations_are_400_with_the_field(
    marketing: User, api_for: Any, payload: dict[str, Any], field: str
) -> None:
    survey = make_survey(marketing)
    inactive = make_survey(marketing, is_active=False)
    contact = surveyable_contact(marketing)
    values = {"{survey}": survey.pk, "{inactive}": inactive.pk, "{contact}": contact.pk}

    def fill(value: Any) -> Any:
        if isinstance(value, list):
            return [fill(item) for item in value]
        return values.get(value, value) if isinstance(value, str) else value

    reply = api_for(marketing).post(
        "/api/v1/survey-invitations", {key: fill(value) for key, value in payload.items()}
    )
    assert reply.status_code == 400
    body = reply.json()
    assert field in body["errors"]
    assert body["detail"]
    assert not SurveyInvitation.objects.exists()


def test_invitations_filter_by_survey_and_status(admin: User, api_for: Any) -> None:
    first, second = make_survey(admin, name="A"), make_survey(admin, name="B")
    contact = surveyable_contact(admin)
    answered = invite_one(first, contact)
    answer(answered, score=8)
    invite_one(second, contact)
    api = api_for(admin)
    rows = api.get(f"/api/v1/survey-invitations?survey={first.pk}").json()["results"]
    assert [(row["id"], row["status"]) for row in rows] == [(answered.pk, "answered")]
    rows = api.get("/api/v1/survey-invitations?status=queued").json()["results"]
    assert [row["survey_name"] for row in rows] == ["B"]
