"""Survey pages and endpoints cost the same number of queries for few rows as for many."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.satisfaction.choices import SurveyKind
from rapport.satisfaction.models import Survey
from rapport.satisfaction.panels import satisfaction_panel
from rapport.users.models import User
from tests.customers.test_query_counts import assert_same, queries_of
from tests.satisfaction.factories import answer, invite_one, make_survey, surveyable_contact

pytestmark = pytest.mark.django_db


def add_answers(sales: User, surveys: list[Survey], count: int) -> None:
    for index in range(count):
        contact = surveyable_contact(sales, owner=sales)
        nps, csat = surveys
        answer(invite_one(nps, contact), score=index % 11, comment=f"c{index}")
        answer(invite_one(csat, contact), expectation=3, performance=1 + index % 5)
        invite_one(make_survey(None, name=f"S{index}"), contact)


@pytest.fixture
def surveys(admin: User) -> list[Survey]:
    return [make_survey(admin, kind=SurveyKind.NPS), make_survey(admin, kind=SurveyKind.CSAT)]


@pytest.mark.parametrize(
    "url",
    [
        "/surveys/",
        "/surveys/invitations/",
        "/surveys/invitations/?status=queued&cols=contact,survey,status,source,last_error",
        "/surveys/answers/",
        "/surveys/answers/export.csv?cols=contact,survey,result,comment",
        "/api/v1/surveys?limit=100",
        "/api/v1/survey-invitations?limit=100",
        "/api/v1/survey-responses?limit=100",
        "{report}",
    ],
)
def test_list_queries_do_not_grow_with_rows(
    sales: User, manager: User, surveys: list[Survey], client_for: Any, api_for: Any, url: str
) -> None:
    url = url.format(report=f"/surveys/{surveys[0].pk}/")
    # Sales see their team's contacts only: the restricted path is the costlier one.
    restricted = ("/answers" in url or "invitations" in url) and "export" not in url
    user = sales if restricted else manager
    client = api_for(user) if url.startswith("/api/") else client_for(user)
    add_answers(sales, surveys, 2)
    small = queries_of(lambda: client.get(url))
    add_answers(sales, surveys, 12)
    assert_same(small, queries_of(lambda: client.get(url)))


def test_the_contact_panel_takes_two_queries(
    admin: User, surveys: list[Survey], django_assert_num_queries: Any
) -> None:
    add_answers(admin, surveys, 1)
    contact = surveyable_contact(admin)
    for _ in range(4):
        answer(invite_one(make_survey(None), contact), score=9)
    with django_assert_num_queries(2):
        data = satisfaction_panel(admin, contact)
    assert data is not None
    assert len(data["answers"]) == 4
    assert data["latest"].nps_class == "promoter"


def test_the_contact_page_costs_the_same_with_more_answers(
    admin: User, surveys: list[Survey], client_for: Any
) -> None:
    contact = surveyable_contact(admin)
    answer(invite_one(surveys[0], contact), score=2)
    web = client_for(admin)
    small = queries_of(lambda: web.get(f"/contacts/{contact.pk}/"))
    for _ in range(6):
        answer(invite_one(make_survey(None), contact), score=9, comment="again")
    answer(invite_one(surveys[1], contact), expectation=2, performance=5)
    assert_same(small, queries_of(lambda: web.get(f"/contacts/{contact.pk}/")))
