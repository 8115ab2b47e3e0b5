"""The tickets API: create, read with ETag, change with If-Match, messages, queues, keyset pages."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.service.choices import TicketStatus
from rapport.users.models import User
from tests.service.conftest import Desk
from tests.service.factories import make_ticket

pytestmark = pytest.mark.django_db


def test_create_read_and_change_with_if_match(desk: Desk, service_user: User, api_for: Any) -> None:
    api = api_for(service_user)
    created = api.post(
        "/api/v1/tickets",
        {"subject": "Pump broken", "contact": desk.world.contacts["none"].pk, "priority": "high"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["reference"] == f"T-{body['id']}"
    assert body["status"] == "new"
    assert body["first_response_due"] is not None
    read = api.get(f"/api/v1/tickets/{body['id']}")
    etag = read["ETag"]
    assert api.get(f"/api/v1/tickets/{body['id']}", HTTP_IF_NONE_MATCH=etag).status_code == 304
    ok = api.patch(
        f"/api/v1/tickets/{body['id']}", {"priority": "normal"}, format="json", HTTP_IF_MATCH=etag
    )
    assert ok.status_code == 200
    assert ok.json()["priority"] == "normal"
    stale = api.patch(
        f"/api/v1/tickets/{body['id']}", {"subject": "Again"}, format="json", HTTP_IF_MATCH=etag
    )
    assert stale.status_code == 412


def test_bad_input_is_a_400_naming_the_field(desk: Desk, service_user: User, api_for: Any) -> None:
    api = api_for(service_user)
    response = api.post("/api/v1/tickets", {"subject": "", "priority": "asap"}, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert "subject" in str(errors)
    assert "priority" in str(errors)
    moved = api.post(f"/api/v1/tickets/{desk.north.pk}/status", {"status": "closed"}, format="json")
    assert moved.status_code == 200
    back = api.post(f"/api/v1/tickets/{desk.north.pk}/status", {"status": "open"}, format="json")
    assert back.status_code == 400
    assert "final" in str(back.json())


def test_reply_and_note_through_the_api(desk: Desk, service_user: User, api_for: Any) -> None:
    api = api_for(service_user)
    url = f"/api/v1/tickets/{desk.north.pk}/messages"
    reply = api.post(
        url, {"kind": "reply", "body": "Fixed?", "status": "pending_customer"}, format="json"
    )
    assert reply.status_code == 201
    assert reply.json()["kind"] == "reply"
    assert desk.north.contact is not None
    assert reply.json()["to_address"] == desk.north.contact.email
    api.post(url, {"kind": "note", "body": "internal"}, format="json")
    conversation = api.get(url).json()
    assert [m["kind"] for m in conversation] == ["reply", "note"]
    desk.north.refresh_from_db()
    assert desk.north.status == TicketStatus.PENDING_CUSTOMER
    assert desk.north.first_response_at


def test_queue_filter_and_reference_search(desk: Desk, service_user: User, api_for: Any) -> None:
    api = api_for(service_user)
    ids = {row["id"] for row in api.get("/api/v1/tickets?queue=unassigned").json()["results"]}
    assert ids == {desk.north.pk, desk.south.pk, desk.untaken.pk}
    found = api.get(f"/api/v1/tickets?q=%23{desk.south.reference}").json()["results"]
    assert [row["id"] for row in found] == [desk.south.pk]


def test_keyset_pages_walk_every_ticket_once(desk: Desk, admin: User, api_for: Any) -> None:
    for n in range(7):
        make_ticket(admin, subject=f"More {n}", contact=desk.world.contacts["none"])
    api = api_for(admin)
    seen: list[int] = []
    url: str | None = "/api/v1/tickets?limit=3&ordering=-id"
    while url:
        page = api.get(url).json()
        seen += [row["id"] for row in page["results"]]
        url = page["next"]
    assert len(seen) == 10
    assert seen == sorted(seen, reverse=True)


def test_calendars_and_policies(desk: Desk, admin: User, api_for: Any) -> None:
    api = api_for(admin)
    calendar = api.get(f"/api/v1/business-calendars/{desk.calendar.pk}")
    assert calendar.json()["time_zone"] == "Europe/Berlin"
    holiday = api.post(
        f"/api/v1/business-calendars/{desk.calendar.pk}/holidays",
        {"date": "2026-12-24", "name": "Eve"},
        format="json",
    )
    assert holiday.status_code == 201
    again = api.post(
        f"/api/v1/business-calendars/{desk.calendar.pk}/holidays",
        {"date": "2026-12-24"},
        format="json",
    )
    assert again.status_code == 400
    bad = api.patch(
        f"/api/v1/business-calendars/{desk.calendar.pk}", {"time_zone": "Moon/Base"}, format="json"
    )
    assert bad.status_code == 400
    assert "time_zone" in str(bad.json())
    duplicate = api.post(
        "/api/v1/sla-policies",
        {"name": "Dup", "priority": "normal", "calendar": desk.calendar.pk,
         "first_response_minutes": 5, "resolution_minutes": 10},
        format="json",
    )  # fmt: skip
    assert duplicate.status_code == 400
    assert "already a policy" in str(duplicate.json())
