"""/api/v1/segments and /api/v1/campaigns as an integrator uses them."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.marketing.models import Campaign, Segment
from rapport.users.models import User
from tests.conftest import SmtpServer
from tests.customers.conftest import World
from tests.customers.factories import make_contact
from tests.marketing.factories import all_of, consent, make_campaign, make_segment, rule

pytestmark = pytest.mark.django_db

PERSONS = all_of(rule("contact_field", field="last_name", op="is", value="Person"))


def test_create_count_and_page_through_members(
    world: World, marketing: User, sales: User, api_for: Any
) -> None:
    api = api_for(marketing)
    created = api.post("/api/v1/segments", {"name": "Persons", "rules": PERSONS}, format="json")
    assert created.status_code == 201
    body = created.json()
    assert body["rules"] == PERSONS
    assert created["ETag"] == f'"{body["id"]}-1"'

    assert api.get(f"/api/v1/segments/{body['id']}/count").json() == {"count": 5}
    first = api.get(f"/api/v1/segments/{body['id']}/members?limit=2").json()
    assert [row["full_name"] for row in first["results"]] == [
        "Marketingowned Person",
        "Noneowned Person",
    ]
    second = api.get(first["next"]).json()
    assert [row["full_name"] for row in second["results"]] == [
        "Northowned Person",
        "Salesowned Person",
    ]
    # A sales rep sees only the members they may see.
    assert api_for(sales).get(f"/api/v1/segments/{body['id']}/count").json() == {"count": 3}


def test_count_a_rule_tree_without_saving(world: World, marketing: User, api_for: Any) -> None:
    response = api_for(marketing).post("/api/v1/segments/count", {"rules": PERSONS}, format="json")
    assert response.json() == {"count": 5}
    assert not Segment.objects.exists()


def test_bad_rules_get_a_400_naming_the_rule(marketing: User, api_for: Any) -> None:
    response = api_for(marketing).post(
        "/api/v1/segments",
        {"name": "Bad", "rules": all_of(rule("order_count", op="gte", value="x"))},
        format="json",
    )
    assert response.status_code == 400
    assert "Rule 1.1 (Number of orders)" in str(response.json())
    assert not Segment.objects.exists()


def test_if_match_protects_segment_edits(marketing: User, api_for: Any) -> None:
    segment = make_segment(marketing, name="Old")
    api = api_for(marketing)
    ok = api.patch(
        f"/api/v1/segments/{segment.pk}",
        {"name": "New"},
        format="json",
        HTTP_IF_MATCH=f'"{segment.pk}-1"',
    )
    assert ok.status_code == 200
    assert ok.json()["name"] == "New"
    stale = api.patch(
        f"/api/v1/segments/{segment.pk}",
        {"name": "Newer"},
        format="json",
        HTTP_IF_MATCH=f'"{segment.pk}-1"',
    )
    assert stale.status_code == 412


def test_campaign_lifecycle_over_the_api(
    marketing: User,
    admin: User,
    api_for: Any,
    smtp_server: SmtpServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    reader = make_contact(
        admin, first_name="Rea", emails=["rea@example.org"], lifecycle_stage="customer"
    )
    consent(reader)
    segment = make_segment(marketing, rule("stage", op="is", value="customer"))
    api = api_for(marketing)
    created = api.post(
        "/api/v1/campaigns",
        {
            "name": "News",
            "segment": segment.pk,
            "subject": "Hi {{ contact.first_name }}",
            "text_body": "Hello",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    tested = api.post(
        f"/api/v1/campaigns/{pk}/test",
        {"to": "mia@example.com", "contact": reader.pk},
        format="json",
    )
    assert tested.json() == {"sent_to": "mia@example.com"}
    with django_capture_on_commit_callbacks(execute=True):
        sent = api.post(f"/api/v1/campaigns/{pk}/send")
    assert sent.json()["status"] == "sending"  # the batches run after the request
    assert api.get(f"/api/v1/campaigns/{pk}").json()["status"] == "sent"
    report = api.get(f"/api/v1/campaigns/{pk}/report").json()
    assert (report["total"], report["delivered"], report["unsubscribed"]) == (1, 1, 0)
    messages = api.get(f"/api/v1/campaigns/{pk}/messages").json()["results"]
    assert [(m["email"], m["state"]) for m in messages] == [("rea@example.org", "sent")]
    again = api.post(f"/api/v1/campaigns/{pk}/send")
    assert again.status_code == 400
    assert len(smtp_server.messages) == 2


def test_campaign_needs_a_segment_the_caller_sees(marketing: User, api_for: Any) -> None:
    response = api_for(marketing).post(
        "/api/v1/campaigns",
        {"name": "X", "segment": 999, "subject": "S", "text_body": "T"},
        format="json",
    )
    assert response.status_code == 400
    assert "segment" in response.json()["errors"]


def test_schedule_in_the_past_is_refused(marketing: User, api_for: Any) -> None:
    campaign = make_campaign(marketing, make_segment(marketing))
    response = api_for(marketing).post(
        f"/api/v1/campaigns/{campaign.pk}/schedule", {"at": "2001-01-01T00:00:00Z"}, format="json"
    )
    assert response.status_code == 400
    assert "future" in str(response.json())
    assert Campaign.objects.get().status == "draft"
