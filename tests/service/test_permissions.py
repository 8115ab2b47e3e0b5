"""Who sees and works which tickets, on every page and endpoint, per role."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.core.permissions import Role
from rapport.service.choices import TicketStatus
from rapport.service.models import Ticket
from tests.service.conftest import Desk

pytestmark = pytest.mark.django_db

ALL = {"north", "south", "untaken"}
ROLES = list(Role.values)

# Written out by hand from service/permissions.py.
VISIBLE: dict[str, set[str]] = {
    Role.ADMIN: ALL,
    Role.MANAGER: ALL,
    Role.SERVICE: ALL,
    Role.SALES: {"north", "untaken"},  # their team's and not-yet-taken ones, never South's
    Role.MARKETING: set(),
    Role.READ_ONLY: ALL,
}
CHANGEABLE: dict[str, set[str]] = {
    Role.ADMIN: ALL,
    Role.MANAGER: ALL,
    Role.SERVICE: ALL,
    Role.SALES: {"north", "untaken"},
    Role.MARKETING: set(),
    Role.READ_ONLY: set(),
}
MAY_LIST = {Role.ADMIN, Role.MANAGER, Role.SERVICE, Role.SALES, Role.READ_ONLY}
MAY_ADD = {Role.ADMIN, Role.MANAGER, Role.SERVICE, Role.SALES}
MAY_EXPORT = {Role.ADMIN, Role.MANAGER, Role.SERVICE}
MAY_DELETE = {Role.ADMIN, Role.MANAGER, Role.SERVICE}


def tickets_of(desk: Desk) -> dict[str, Ticket]:
    return {"north": desk.north, "south": desk.south, "untaken": desk.untaken}


def expected_read(role: str, key: str) -> int:
    if key in VISIBLE[role]:
        return 200
    return 403 if role not in MAY_LIST else 404


def expected_write(role: str, key: str, *, api: bool) -> int:
    if key in CHANGEABLE[role]:
        return 200
    if api and role not in MAY_ADD:  # the role may change no ticket at all
        return 403
    return 403 if key in VISIBLE[role] else 404


@pytest.mark.parametrize("role", ROLES)
def test_lists_show_what_the_role_may_see(
    desk: Desk, user_of_role: Any, client_for: Any, api_for: Any, role: str
) -> None:
    user = user_of_role(role)
    expected = {tickets_of(desk)[key].pk for key in VISIBLE[role]}
    api = api_for(user).get("/api/v1/tickets?limit=100")
    page = client_for(user).get("/tickets/")
    if role not in MAY_LIST:
        assert (api.status_code, page.status_code) == (403, 403)
        return
    assert {row["id"] for row in api.json()["results"]} == expected
    assert page.status_code == 200
    text = page.content.decode()
    for key, ticket in tickets_of(desk).items():
        assert (ticket.subject in text) == (key in VISIBLE[role])


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("key", sorted(ALL))
def test_detail_and_conversation(
    desk: Desk, user_of_role: Any, client_for: Any, api_for: Any, role: str, key: str
) -> None:
    user, ticket = user_of_role(role), tickets_of(desk)[key]
    code = expected_read(role, key)
    # Pages do not tell a hidden ticket from a missing one.
    web_code = 200 if key in VISIBLE[role] else 404
    assert client_for(user).get(f"/tickets/{ticket.pk}/").status_code == web_code
    api = api_for(user)
    assert api.get(f"/api/v1/tickets/{ticket.pk}").status_code == code
    assert api.get(f"/api/v1/tickets/{ticket.pk}/messages").status_code == code


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("key", sorted(ALL))
def test_working_a_ticket(
    desk: Desk, user_of_role: Any, client_for: Any, api_for: Any, role: str, key: str
) -> None:
    user, ticket = user_of_role(role), tickets_of(desk)[key]
    api = api_for(user)
    code = expected_write(role, key, api=True)
    reply = api.post(
        f"/api/v1/tickets/{ticket.pk}/messages", {"kind": "note", "body": "x"}, format="json"
    )
    assert reply.status_code == (201 if code == 200 else code)
    patch = api.patch(f"/api/v1/tickets/{ticket.pk}", {"subject": "Renamed"}, format="json")
    assert patch.status_code == code
    moved = api.post(f"/api/v1/tickets/{ticket.pk}/status", {"status": "open"}, format="json")
    assert moved.status_code == code
    web = client_for(user)
    edit = web.get(f"/tickets/{ticket.pk}/edit/")
    assert edit.status_code == (200 if code == 200 else 404 if key not in VISIBLE[role] else 403)
    web.post(f"/tickets/{ticket.pk}/status/", {"status": "resolved"})
    ticket.refresh_from_db()
    assert (ticket.status == TicketStatus.RESOLVED) == (key in CHANGEABLE[role])


@pytest.mark.parametrize("role", ROLES)
def test_opening_exporting_deleting(
    desk: Desk, user_of_role: Any, client_for: Any, api_for: Any, role: str
) -> None:
    user = user_of_role(role)
    contact = desk.world.contacts["none"]
    api, web = api_for(user), client_for(user)
    created = api.post(
        "/api/v1/tickets", {"subject": "New one", "contact": contact.pk}, format="json"
    )
    assert created.status_code == (201 if role in MAY_ADD else 403)
    assert web.get("/tickets/new/").status_code == (200 if role in MAY_ADD else 403)
    assert web.get("/tickets/export.csv").status_code == (200 if role in MAY_EXPORT else 403)
    deleted = api.delete(f"/api/v1/tickets/{desk.untaken.pk}")
    if role in MAY_DELETE:
        assert deleted.status_code == 204
    else:
        assert deleted.status_code in (403, 404)
        assert Ticket.objects.live().filter(pk=desk.untaken.pk).exists()


@pytest.mark.parametrize("role", ROLES)
def test_sla_setup_is_read_by_all_and_written_by_admins(
    desk: Desk, user_of_role: Any, client_for: Any, api_for: Any, role: str
) -> None:
    user = user_of_role(role)
    api = api_for(user)
    assert api.get("/api/v1/sla-policies").status_code == 200
    assert api.get("/api/v1/business-calendars").status_code == 200
    assert client_for(user).get("/tickets/sla/").status_code == 200
    created = api.post(
        "/api/v1/business-calendars",
        {"name": f"Cal {role}", "time_zone": "UTC", "working_days": [0, 1],
         "day_start": "08:00", "day_end": "16:00"},
        format="json",
    )  # fmt: skip
    assert created.status_code == (201 if role == Role.ADMIN else 403)
    changed = api.patch(
        f"/api/v1/sla-policies/{desk.policies['normal'].pk}", {"warning_minutes": 5}, format="json"
    )
    assert changed.status_code == (200 if role == Role.ADMIN else 403)
