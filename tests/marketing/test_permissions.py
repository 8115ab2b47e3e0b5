"""Who may see and run marketing: every role on every page and endpoint."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from rapport.core.permissions import Role
from rapport.marketing import automation
from rapport.marketing.models import Campaign, Segment
from rapport.users.models import User
from tests.customers.factories import make_contact
from tests.marketing.factories import make_campaign, make_list, make_segment, rule

pytestmark = pytest.mark.django_db

ROLES = list(Role.values)
# Written out by hand from marketing/permissions.py.
SEE_SEGMENTS = {Role.ADMIN, Role.MARKETING, Role.MANAGER, Role.SALES, Role.SERVICE, Role.READ_ONLY}
EXPORT_SEGMENTS = {Role.ADMIN, Role.MARKETING, Role.MANAGER, Role.SALES}
RUN_MARKETING = {Role.ADMIN, Role.MARKETING}
SEE_CAMPAIGNS = {Role.ADMIN, Role.MARKETING, Role.MANAGER}
SEE_AUTOMATION = {Role.ADMIN, Role.MARKETING, Role.MANAGER}
CONFIGURE_AUTOMATION = {Role.ADMIN}


def expect(allowed: bool, denied: int = 403) -> int:
    return 200 if allowed else denied


@pytest.fixture
def things(marketing: User, admin: User) -> tuple[Segment, Segment, Campaign, Any]:
    contact = make_contact(admin, first_name="Member", lifecycle_stage="customer")
    segment = make_segment(marketing, rule("stage", op="is", value="customer"))
    fair = make_list(marketing, [contact])
    return segment, fair, make_campaign(marketing, segment), contact


@pytest.mark.parametrize("role", ROLES)
def test_pages_per_role(
    role: str, user_of_role: Any, client_for: Any, things: Any, admin: User
) -> None:
    segment, _, campaign, contact = things
    automation_rule = automation.create_rule(
        admin,
        name="Birthday",
        trigger="birthday",
        trigger_params={},
        actions=[{"type": "add_tag", "tag": "birthday"}],
    )
    web: Client = client_for(user_of_role(role))
    pages = {
        "/segments/": expect(role in SEE_SEGMENTS),
        f"/segments/{segment.pk}/": expect(role in SEE_SEGMENTS, 403),
        f"/segments/{segment.pk}/count/": expect(role in SEE_SEGMENTS),
        f"/segments/{segment.pk}/export.csv": expect(role in EXPORT_SEGMENTS),
        "/segments/new/": expect(role in RUN_MARKETING),
        f"/segments/{segment.pk}/edit/": expect(role in RUN_MARKETING),
        "/campaigns/": expect(role in SEE_CAMPAIGNS),
        f"/campaigns/{campaign.pk}/": expect(role in SEE_CAMPAIGNS),
        f"/campaigns/{campaign.pk}/preview/?contact={contact.pk}": expect(role in SEE_CAMPAIGNS),
        f"/campaigns/{campaign.pk}/preview.html?contact={contact.pk}": expect(
            role in SEE_CAMPAIGNS
        ),
        "/campaigns/new/": expect(role in RUN_MARKETING),
        f"/campaigns/{campaign.pk}/edit/": expect(role in RUN_MARKETING),
        "/automation/": expect(role in SEE_AUTOMATION),
        "/automation/new/": expect(role in CONFIGURE_AUTOMATION),
        f"/automation/{automation_rule.pk}/edit/": expect(role in CONFIGURE_AUTOMATION),
    }
    got = {url: web.get(url).status_code for url in pages}
    assert got == pages


@pytest.mark.parametrize("role", ROLES)
def test_actions_per_role(role: str, user_of_role: Any, client_for: Any, things: Any) -> None:
    segment, fair, campaign, contact = things
    web: Client = client_for(user_of_role(role))
    allowed = role in RUN_MARKETING
    editor = web.post("/segments/editor/", {"r.type": "group", "r.op": "and"})
    assert editor.status_code == expect(allowed)
    web.post(f"/segments/{fair.pk}/remove-member/", {"contact": contact.pk})
    assert fair.members.exists() is not allowed
    web.post(f"/campaigns/{campaign.pk}/schedule/", {"at": "2099-01-01T09:00"})
    campaign.refresh_from_db()
    assert (campaign.status == "scheduled") is allowed
    automation_rule = automation.create_rule(
        None,
        name="B",
        trigger="birthday",
        trigger_params={},
        actions=[{"type": "add_tag", "tag": "b"}],
    )
    web.post(f"/automation/{automation_rule.pk}/trash/")
    automation_rule.refresh_from_db()
    assert (automation_rule.deleted_at is not None) is (role == Role.ADMIN)
    web.post(f"/segments/{segment.pk}/trash/")
    segment.refresh_from_db()
    # A segment a scheduled campaign uses is not trashed, by anyone.
    assert segment.deleted_at is None


def test_signed_out_visitors_see_nothing(client: Client, things: Any) -> None:
    segment, _, campaign, _ = things
    for url in (
        "/segments/",
        f"/segments/{segment.pk}/",
        "/campaigns/",
        f"/campaigns/{campaign.pk}/",
    ):
        assert client.get(url).status_code == 302
    assert client.get("/api/v1/segments").status_code in (401, 403)


@pytest.mark.parametrize("role", ROLES)
def test_api_per_role(role: str, user_of_role: Any, api_for: Any, things: Any) -> None:
    segment, fair, campaign, contact = things
    api = api_for(user_of_role(role))
    see_segments = role in SEE_SEGMENTS
    see_campaigns = role in SEE_CAMPAIGNS
    run = role in RUN_MARKETING
    got = {
        "segments": api.get("/api/v1/segments").status_code,
        "segment": api.get(f"/api/v1/segments/{segment.pk}").status_code,
        "members": api.get(f"/api/v1/segments/{segment.pk}/members").status_code,
        "count": api.get(f"/api/v1/segments/{segment.pk}/count").status_code,
        "create segment": api.post("/api/v1/segments", {"name": "API"}, format="json").status_code,
        "add members": api.post(
            f"/api/v1/segments/{fair.pk}/add-members", {"contacts": [contact.pk]}, format="json"
        ).status_code,
        "campaigns": api.get("/api/v1/campaigns").status_code,
        "campaign": api.get(f"/api/v1/campaigns/{campaign.pk}").status_code,
        "report": api.get(f"/api/v1/campaigns/{campaign.pk}/report").status_code,
        "edit campaign": api.patch(
            f"/api/v1/campaigns/{campaign.pk}", {"name": "Renamed"}, format="json"
        ).status_code,
    }
    assert got == {
        "segments": expect(see_segments),
        "segment": expect(see_segments),
        "members": expect(see_segments),
        "count": expect(see_segments),
        "create segment": 201 if run else 403,
        "add members": expect(run),
        "campaigns": expect(see_campaigns),
        "campaign": expect(see_campaigns),
        "report": expect(see_campaigns),
        "edit campaign": expect(run),
    }
