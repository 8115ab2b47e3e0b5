"""Who may do what on every survey page and endpoint, role by role."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from rapport.core.permissions import Role
from rapport.customers.choices import LifecycleStage
from rapport.customers.services import change_stage
from rapport.satisfaction.choices import SurveyKind
from rapport.satisfaction.models import Response, Survey, SurveyInvitation
from rapport.users.models import User
from tests.customers.conftest import OWNERS, World
from tests.satisfaction.factories import agree_to_surveys, answer, invite_one, make_survey

pytestmark = pytest.mark.django_db

ROLES = list(Role.values)
ALL = set(OWNERS)
NORTH = {"sales", "north", "none"}
# Written out by hand: invitations and answers follow their contact, whom
# sales see in their own team only (customers/permissions.py).
VISIBLE: dict[str, set[str]] = {
    Role.ADMIN: ALL,
    Role.MANAGER: ALL,
    Role.SALES: NORTH,
    Role.SERVICE: ALL,
    Role.MARKETING: ALL,
    Role.READ_ONLY: ALL,
}
EDIT_SURVEYS = {Role.ADMIN, Role.MANAGER, Role.MARKETING}
INVITE = {Role.ADMIN, Role.MANAGER, Role.MARKETING, Role.SALES, Role.SERVICE}
EXPORT = {Role.ADMIN, Role.MANAGER, Role.MARKETING}
RESEND = {Role.ADMIN, Role.MANAGER, Role.MARKETING}


@dataclass
class Surveyed:
    world: World
    survey: Survey
    invitations: dict[str, SurveyInvitation]
    responses: dict[str, Response]


@pytest.fixture
def surveyed(world: World, marketing: User) -> Surveyed:
    survey = make_survey(marketing, kind=SurveyKind.NPS, name="Quarterly NPS")
    invitations, responses = {}, {}
    for key, contact in world.contacts.items():
        agree_to_surveys(contact)
        invitations[key] = invite_one(survey, contact)
        responses[key] = answer(invitations[key], score=9, comment=f"comment-{key}")
    return Surveyed(world, survey, invitations, responses)


def _ids(response: Any) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


@pytest.mark.parametrize("role", ROLES)
def test_lists_show_the_invitations_and_answers_of_contacts_the_role_sees(
    surveyed: Surveyed, user_of_role: Any, client_for: Any, api_for: Any, role: str
) -> None:
    user = user_of_role(role)
    api, web = api_for(user), client_for(user)
    expected = VISIBLE[role]
    invitations = {surveyed.invitations[key].pk for key in expected}
    assert _ids(api.get("/api/v1/survey-invitations?limit=100")) == invitations
    answers = {surveyed.responses[key].pk for key in expected}
    assert _ids(api.get("/api/v1/survey-responses?limit=100")) == answers
    assert _ids(api.get("/api/v1/surveys")) == {surveyed.survey.pk}

    page = web.get("/surveys/answers/?cols=contact,comment").content.decode()
    assert {key for key in OWNERS if f"comment-{key}<" in page} == expected
    page = web.get("/surveys/invitations/?cols=contact,status").content.decode()
    shown = {key for key in OWNERS if surveyed.world.contact_name(key) in page}
    assert shown == expected
    assert web.get("/surveys/answers/count/").content.decode() == f"{len(expected)} matches"
    report = web.get(f"/surveys/{surveyed.survey.pk}/")
    assert report.status_code == 200
    text = report.content.decode()
    assert {key for key in OWNERS if f"comment-{key}" in text} == expected
    assert f"{len(expected)} answers" in text


@pytest.mark.parametrize("role", ROLES)
def test_survey_pages_by_role(
    surveyed: Surveyed, user_of_role: Any, client_for: Any, role: str
) -> None:
    web = client_for(user_of_role(role))
    survey = surveyed.survey
    assert web.get("/surveys/").status_code == 200
    edit = 200 if role in EDIT_SURVEYS else 403
    assert web.get("/surveys/new/").status_code == edit
    assert web.get(f"/surveys/{survey.pk}/edit/").status_code == edit
    assert web.get("/surveys/invite/").status_code == (200 if role in INVITE else 403)
    for url in (
        "/surveys/export.csv",
        "/surveys/invitations/export.csv",
        "/surveys/answers/export.csv",
    ):
        allowed = role in EXPORT or (url.startswith("/surveys/export") and role in EDIT_SURVEYS)
        assert web.get(url).status_code == (200 if allowed else 403), url


@pytest.mark.parametrize("role", ROLES)
def test_creating_and_trashing_surveys_by_role(
    surveyed: Surveyed, user_of_role: Any, client_for: Any, role: str
) -> None:
    web = client_for(user_of_role(role))
    created = web.post(
        "/surveys/new/", {"name": f"New {role}", "kind": "nps", "link_valid_days": 30}
    )
    if role in EDIT_SURVEYS:
        assert created.status_code == 302
        assert Survey.objects.filter(name=f"New {role}").exists()
    else:
        assert created.status_code == 403
        assert not Survey.objects.filter(name=f"New {role}").exists()
    trashed = web.post(f"/surveys/{surveyed.survey.pk}/trash/")
    surveyed.survey.refresh_from_db()
    if role in EDIT_SURVEYS:
        assert trashed.status_code == 302
        assert surveyed.survey.deleted_at is not None
    else:
        assert trashed.status_code == 403
        assert surveyed.survey.deleted_at is None


@pytest.mark.parametrize("role", ROLES)
def test_inviting_by_role_and_contact_visibility(
    surveyed: Surveyed, user_of_role: Any, api_for: Any, role: str
) -> None:
    api = api_for(user_of_role(role))
    survey = make_survey(None, name="Second")
    for key in OWNERS:
        contact = surveyed.world.contacts[key]
        reply = api.post(
            "/api/v1/survey-invitations", {"survey": survey.pk, "contacts": [contact.pk]}
        )
        if role not in INVITE:
            assert reply.status_code == 403, key
        elif key in VISIBLE[role]:
            assert reply.status_code == 201, (key, reply.content)
            assert reply.json()["invited"][0]["contact"] == contact.pk
        else:
            assert reply.status_code == 400, key
            assert f"No contact with id {contact.pk}" in reply.json()["errors"]["contacts"][0]


@pytest.mark.parametrize("role", ROLES)
def test_sending_again_by_role(
    surveyed: Surveyed, user_of_role: Any, client_for: Any, role: str
) -> None:
    invitation = surveyed.invitations["none"]
    SurveyInvitation.objects.filter(pk=invitation.pk).update(status="failed")
    reply = client_for(user_of_role(role)).post(f"/surveys/invitations/{invitation.pk}/resend/")
    invitation.refresh_from_db()
    if role in RESEND:
        assert reply.status_code == 302
        assert invitation.status in ("queued", "sent", "failed")
        assert invitation.attempts <= 1
    else:
        assert reply.status_code == 403
        assert invitation.status == "failed"


def test_the_api_has_no_writes_on_surveys_and_answers(
    surveyed: Surveyed, api_for: Any, admin: User
) -> None:
    api = api_for(admin)
    assert api.post("/api/v1/surveys", {"name": "x", "kind": "nps"}).status_code == 405
    answer_id = surveyed.responses["sales"].pk
    # Nobody may add or delete answers (the role check answers before the method check).
    assert api.post("/api/v1/survey-responses", {}).status_code in (403, 405)
    assert api.delete(f"/api/v1/survey-responses/{answer_id}").status_code in (403, 405)
    assert Response.objects.filter(pk=answer_id).exists()


def test_staff_pages_and_the_api_need_a_login(surveyed: Surveyed, client: Any) -> None:
    for url in ("/surveys/", "/surveys/new/", "/surveys/invite/", "/surveys/invitations/",
                "/surveys/answers/", f"/surveys/{surveyed.survey.pk}/"):  # fmt: skip
        assert client.get(url).status_code == 302, url
    for url in ("/api/v1/surveys", "/api/v1/survey-invitations", "/api/v1/survey-responses"):
        assert client.get(url).status_code in (401, 403), url


# Changing a contact (customers/permissions.py): team scope for sales, service and
# marketing (who is in no team: own and unowned contacts), nothing for read-only.
CHANGE_CONTACT: dict[str, set[str]] = {
    Role.ADMIN: ALL,
    Role.MANAGER: ALL,
    Role.SALES: NORTH,
    Role.SERVICE: NORTH,
    Role.MARKETING: {"marketing", "none"},
    Role.READ_ONLY: set(),
}


@pytest.mark.parametrize("role", ROLES)
def test_marking_evangelists_by_role_and_contact(
    surveyed: Surveyed, user_of_role: Any, client_for: Any, role: str
) -> None:
    web = client_for(user_of_role(role))
    for key in OWNERS:
        contact = surveyed.world.contacts[key]
        change_stage(None, contact, LifecycleStage.CUSTOMER)
        reply = web.post(f"/surveys/evangelist/{contact.pk}/")
        contact.refresh_from_db()
        if key in CHANGE_CONTACT[role]:
            assert reply.status_code == 302, key
            assert contact.lifecycle_stage == LifecycleStage.EVANGELIST, key
        else:
            assert reply.status_code == (403 if key in VISIBLE[role] else 404), key
            assert contact.lifecycle_stage == LifecycleStage.CUSTOMER, key


@pytest.mark.parametrize("role", ROLES)
def test_counts_and_search_by_role(
    surveyed: Surveyed, user_of_role: Any, client_for: Any, role: str
) -> None:
    web = client_for(user_of_role(role))
    assert web.get("/surveys/count/").content.decode() == "1 match"
    invitations = web.get("/surveys/invitations/count/").content.decode()
    assert invitations == f"{len(VISIBLE[role])} matches"
    found = web.get("/search/?q=Quarterly").content.decode()
    assert f"/surveys/{surveyed.survey.pk}/" in found
