"""/api/v1/automation-rules (admins write, with ETag/If-Match) and /api/v1/automation-runs."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.core.permissions import Role
from rapport.marketing import automation
from rapport.marketing.models import AutomationRule
from rapport.users.models import User
from tests.customers.factories import make_contact

pytestmark = pytest.mark.django_db

TASK = [{"type": "create_task", "title": "Welcome call", "due_in_days": 1}]
NEW_RULE: dict[str, Any] = {
    "name": "Welcome",
    "trigger": "contact_created",
    "trigger_params": {},
    "actions": TASK,
}
# Written out by hand from marketing/permissions.py.
READERS = {Role.ADMIN, Role.MARKETING, Role.MANAGER}


def test_admin_creates_changes_with_if_match_and_trashes_a_rule(admin: User, api_for: Any) -> None:
    api = api_for(admin)
    created = api.post("/api/v1/automation-rules", NEW_RULE, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["trigger"], body["actions"], body["enabled"]) == ("contact_created", TASK, True)
    assert "secret" not in body
    etag = created["ETag"]
    assert etag == f'"{body["id"]}-1"'
    url = f"/api/v1/automation-rules/{body['id']}"

    assert api.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    changed = api.patch(url, {"enabled": False}, format="json", HTTP_IF_MATCH=etag)
    assert changed.status_code == 200
    assert changed.json()["enabled"] is False
    stale = api.patch(url, {"name": "Late"}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    assert AutomationRule.objects.get().name == "Welcome"

    assert api.delete(url, HTTP_IF_MATCH=changed["ETag"]).status_code == 204
    assert api.get("/api/v1/automation-rules").json()["results"] == []


def test_bad_rule_gets_a_400_and_nothing_is_written(admin: User, api_for: Any) -> None:
    response = api_for(admin).post(
        "/api/v1/automation-rules",
        {**NEW_RULE, "actions": [{"type": "webhook", "url": "ftp://example.org"}]},
        format="json",
    )
    assert response.status_code == 400
    assert "https://" in str(response.json())
    assert not AutomationRule.objects.exists()


def test_runs_are_listed_newest_first_in_keyset_pages(admin: User, api_for: Any) -> None:
    rule_ = automation.create_rule(admin, **NEW_RULE)
    contacts = [make_contact(admin, first_name=f"New{number}") for number in range(3)]
    automation.run_all()
    api = api_for(admin)
    first = api.get(f"/api/v1/automation-runs?rule={rule_.pk}&limit=2").json()
    second = api.get(first["next"]).json()
    rows = first["results"] + second["results"]
    assert len(rows) == 3
    assert {row["contact"] for row in rows} == {contact.pk for contact in contacts}
    assert [row["fired_at"] for row in rows] == sorted((r["fired_at"] for r in rows), reverse=True)
    assert rows[0]["outcome"] == "succeeded"
    assert rows[0]["results"][0]["ok"] is True
    assert api.get("/api/v1/automation-runs?outcome=failed").json()["results"] == []


@pytest.mark.parametrize("role", list(Role.values))
def test_endpoints_per_role(role: str, user_of_role: Any, api_for: Any, admin: User) -> None:
    rule_ = automation.create_rule(admin, **NEW_RULE)
    make_contact(admin, first_name="Someone")
    automation.run_all()
    api = api_for(user_of_role(role))
    reads = role in READERS
    listed = api.get("/api/v1/automation-rules")
    assert listed.status_code == (200 if reads else 403)
    assert api.get(f"/api/v1/automation-rules/{rule_.pk}").status_code == (200 if reads else 403)
    runs = api.get("/api/v1/automation-runs")
    assert runs.status_code == (200 if reads else 403)
    if reads:
        assert len(runs.json()["results"]) == 1
    writes = role == Role.ADMIN
    created = api.post("/api/v1/automation-rules", {**NEW_RULE, "name": "Mine"}, format="json")
    assert created.status_code == (201 if writes else 403)
    patched = api.patch(f"/api/v1/automation-rules/{rule_.pk}", {"name": "X"}, format="json")
    assert patched.status_code == (200 if writes else 403)
    assert api.post("/api/v1/automation-runs", {}, format="json").status_code in (403, 405)
    deleted = api.delete(f"/api/v1/automation-rules/{rule_.pk}")
    assert deleted.status_code == (204 if writes else 403)


def _queries_for(api: Any, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert api.get(url).status_code == 200
    return len(captured)


def test_lists_and_log_do_not_grow_with_rows(admin: User, api_for: Any, client_for: Any) -> None:
    api = api_for(admin)
    web = client_for(admin)
    rule_ = automation.create_rule(admin, **NEW_RULE)
    make_contact(admin, first_name="First")
    automation.run_all()
    urls = [
        "/api/v1/automation-rules",
        f"/api/v1/automation-rules/{rule_.pk}",
        "/api/v1/automation-runs",
    ]
    _queries_for(api, urls[0])  # the first call also stamps the token's use
    before = [_queries_for(api, url) for url in urls]
    page_before = _queries_for(web, "/automation/")
    for number in range(4):
        automation.create_rule(admin, **{**NEW_RULE, "name": f"Rule {number}"})
        make_contact(admin, first_name=f"More{number}")
    automation.run_all()
    assert [_queries_for(api, url) for url in urls] == before
    assert _queries_for(web, "/automation/") == page_before
