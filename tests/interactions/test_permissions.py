"""Who sees, logs, edits and deletes which touchpoints: every role, every owner, web and API.

A touchpoint is visible with its customer (customers/permissions.py); logging
needs a role that works with customers; editing and deleting are for whoever
had it, and for managers and admins (interactions/permissions.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from rapport.core.permissions import Role
from rapport.interactions.models import Interaction
from tests.customers.conftest import OWNERS
from tests.interactions.conftest import Timelines

pytestmark = pytest.mark.django_db

ALL = set(OWNERS)
NORTH_VIEW = {"sales", "north", "none"}
ROLES = list(Role.values)

# Written out by hand: the world's records are owned by the sales user, a North
# colleague, nobody, the South sales user and the marketing user; each
# touchpoint is owned like its customer.
VISIBLE: dict[str, set[str]] = {
    Role.ADMIN: ALL,
    Role.MANAGER: ALL,
    Role.SALES: NORTH_VIEW,
    Role.SERVICE: ALL,
    Role.MARKETING: ALL,
    Role.READ_ONLY: ALL,
}
CHANGEABLE: dict[str, set[str]] = {
    Role.ADMIN: ALL,
    Role.MANAGER: ALL,
    Role.SALES: {"sales"},
    Role.SERVICE: set(),
    Role.MARKETING: {"marketing"},
    Role.READ_ONLY: set(),
}
PAGES = {"contact": "contacts", "company": "companies"}
MAY_LOG = {Role.ADMIN, Role.MANAGER, Role.SALES, Role.SERVICE, Role.MARKETING}


def _status(key: str, role: str, allowed: dict[str, set[str]], ok: int) -> int:
    if key not in VISIBLE[role]:
        return 404
    return ok if key in allowed[role] else 403


# --- web ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("about", ["contact", "company"])
def test_timeline_pages_per_role(
    timelines: Timelines, user_of_role: Any, client_for: Any, role: str, about: str
) -> None:
    web = client_for(user_of_role(role))
    records = timelines.world.contacts if about == "contact" else timelines.world.companies
    rows = timelines.on_contacts if about == "contact" else timelines.on_companies
    for key in OWNERS:
        record = records[key]
        detail = web.get(f"/{PAGES[about]}/{record.pk}/")
        expected = 200 if key in VISIBLE[role] else 404
        assert detail.status_code == expected, (key, detail.status_code)
        if expected == 200:
            assert rows[key].subject in detail.content.decode()
        for htmx in (False, True):
            extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
            listing = web.get(f"/timeline/{about}/{record.pk}/", **extra)
            assert listing.status_code == expected, (key, htmx)


@pytest.mark.parametrize("role", ROLES)
def test_logging_per_role(
    timelines: Timelines, user_of_role: Any, client_for: Any, role: str
) -> None:
    web = client_for(user_of_role(role))
    for key in OWNERS:
        contact = timelines.world.contacts[key]
        response = web.post(
            f"/timeline/contact/{contact.pk}/log/",
            {
                "log-kind": "note",
                "log-subject": f"Logged by {role}",
                "log-occurred_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            },
            HTTP_HX_REQUEST="true",
        )
        if key not in VISIBLE[role]:
            assert response.status_code == 404
        elif role not in MAY_LOG:
            assert response.status_code == 403
        else:
            assert response.status_code == 200
            assert f"Logged by {role}" in response.content.decode()
    logged = Interaction.objects.filter(subject=f"Logged by {role}")
    expected = VISIBLE[role] if role in MAY_LOG else set()
    assert {row.contact_id for row in logged} == {timelines.world.contacts[k].pk for k in expected}
    assert {row.owner_id for row in logged} <= {user_of_role(role).pk}


@pytest.mark.parametrize("role", ROLES)
def test_edit_and_delete_pages_per_role(
    timelines: Timelines, user_of_role: Any, client_for: Any, role: str
) -> None:
    web = client_for(user_of_role(role))
    for key in OWNERS:
        row = timelines.on_contacts[key]
        expected = _status(key, role, CHANGEABLE, 200)
        assert web.get(f"/interactions/{row.pk}/edit/").status_code == expected, key
        entry = web.get(f"/interactions/{row.pk}/", HTTP_HX_REQUEST="true")
        assert entry.status_code == (200 if key in VISIBLE[role] else 404)
        response = web.post(f"/interactions/{row.pk}/delete/", HTTP_HX_REQUEST="true")
        assert response.status_code == expected, key
        assert Interaction.objects.get(pk=row.pk).is_deleted is (expected == 200)


@pytest.mark.parametrize("role", ROLES)
def test_edit_and_delete_buttons_only_where_allowed(
    timelines: Timelines, user_of_role: Any, client_for: Any, role: str
) -> None:
    web = client_for(user_of_role(role))
    for key in VISIBLE[role]:
        row = timelines.on_contacts[key]
        page = web.get(f"/contacts/{timelines.world.contacts[key].pk}/").content.decode()
        shown = f"/interactions/{row.pk}/edit/" in page
        assert shown is (key in CHANGEABLE[role]), key
        assert (f"/interactions/{row.pk}/delete/" in page) is (key in CHANGEABLE[role]), key


# --- API ------------------------------------------------------------------------------


def _ids(response: Any) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


@pytest.mark.parametrize("role", ROLES)
def test_api_list_shows_only_touchpoints_of_visible_customers(
    timelines: Timelines, user_of_role: Any, api_for: Any, role: str
) -> None:
    api = api_for(user_of_role(role))
    expected = {timelines.on_contacts[k].pk for k in VISIBLE[role]} | {
        timelines.on_companies[k].pk for k in VISIBLE[role]
    }
    assert _ids(api.get("/api/v1/interactions?limit=500")) == expected
    for key in OWNERS:
        contact = timelines.world.contacts[key]
        rows = _ids(api.get(f"/api/v1/interactions?contact={contact.pk}"))
        assert rows == ({timelines.on_contacts[key].pk} if key in VISIBLE[role] else set())


@pytest.mark.parametrize("role", ROLES)
def test_api_detail_patch_delete_per_role(
    timelines: Timelines, user_of_role: Any, api_for: Any, role: str
) -> None:
    api = api_for(user_of_role(role))
    for key in OWNERS:
        row = timelines.on_contacts[key]
        url = f"/api/v1/interactions/{row.pk}"
        read = api.get(url)
        assert read.status_code == (200 if key in VISIBLE[role] else 404), key
        patch = api.patch(url, {"subject": f"Patched by {role}"})
        assert patch.status_code == _status(key, role, CHANGEABLE, 200), key
        delete = api.delete(url)
        assert delete.status_code == _status(key, role, CHANGEABLE, 204), key
        fresh = Interaction.objects.get(pk=row.pk)
        assert (fresh.subject == f"Patched by {role}") is (key in CHANGEABLE[role])
        assert fresh.is_deleted is (key in CHANGEABLE[role])


@pytest.mark.parametrize("role", ROLES)
def test_api_create_per_role(
    timelines: Timelines, user_of_role: Any, api_for: Any, role: str
) -> None:
    api = api_for(user_of_role(role))
    for key in OWNERS:
        contact = timelines.world.contacts[key]
        response = api.post(
            "/api/v1/interactions", {"kind": "call", "subject": "Hi", "contact": contact.pk}
        )
        if role not in MAY_LOG:
            assert response.status_code == 403
        elif key not in VISIBLE[role]:
            assert response.status_code == 400, "a hidden contact reads as does-not-exist"
            assert "contact" in response.json()["errors"]
        else:
            assert response.status_code == 201, response.content
            assert response.json()["owner"] == user_of_role(role).pk
