"""The tasks API: create, read with ETag, PATCH with If-Match, complete/reopen, filters."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.reminders.models import Task
from rapport.users.models import User
from tests.customers.factories import make_contact
from tests.reminders.conftest import make_task

pytestmark = pytest.mark.django_db


def test_create_read_patch_with_if_match(sales: User, api_for: Any) -> None:
    api = api_for(sales)
    contact = make_contact(sales, owner=sales)
    created = api.post(
        "/api/v1/tasks",
        {
            "title": "Quote follow-up",
            "due_date": "2027-04-01",
            "due_time": "14:00",
            "time_zone": "Europe/Berlin",
            "priority": "high",
            "contact": contact.pk,
            "recurrence": "FREQ=MONTHLY;BYMONTHDAY=1",
        },
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["due_at"] == "2027-04-01T12:00:00Z"
    assert (body["due_time"], body["all_day"], body["assignee"]) == ("14:00", False, sales.pk)
    etag = created["ETag"]
    read = api.get(f"/api/v1/tasks/{body['id']}")
    assert read["ETag"] == etag
    changed = api.patch(f"/api/v1/tasks/{body['id']}", {"title": "New title"}, HTTP_IF_MATCH=etag)
    assert changed.status_code == 200
    stale = api.patch(f"/api/v1/tasks/{body['id']}", {"title": "Lost"}, HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    assert set(stale.json()) == {"detail", "errors"}
    assert Task.objects.get(pk=body["id"]).title == "New title"


def test_complete_returns_the_next_occurrence_and_is_idempotent(sales: User, api_for: Any) -> None:
    api = api_for(sales)
    task = make_task(sales, assignee=sales, recurrence="FREQ=DAILY")
    first = api.post(f"/api/v1/tasks/{task.pk}/complete")
    assert first.status_code == 200
    following = first.json()["next_occurrence"]
    assert following is not None
    assert first.json()["is_done"]
    again = api.post(f"/api/v1/tasks/{task.pk}/complete")
    assert again.json()["next_occurrence"] == following
    assert Task.objects.count() == 2
    reopened = api.post(f"/api/v1/tasks/{task.pk}/reopen")
    assert reopened.json()["is_done"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "x", "due_date": "2027-02-30"}, "due_date"),
        ({"title": "x", "due_date": "2027-02-01", "recurrence": "FREQ=OFTEN"}, "recurrence"),
        (
            {
                "title": "x",
                "due_date": "2027-03-28",
                "due_time": "02:30",
                "time_zone": "Europe/Berlin",
            },
            "due_time",
        ),
    ],
)
def test_errors_name_the_field(sales: User, api_for: Any, body: dict[str, Any], field: str) -> None:
    response = api_for(sales).post("/api/v1/tasks", body)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_inactive_assignee_is_refused(sales: User, north_colleague: User, api_for: Any) -> None:
    north_colleague.is_active = False
    north_colleague.save()
    response = api_for(sales).post(
        "/api/v1/tasks", {"title": "x", "due_date": "2027-02-01", "assignee": north_colleague.pk}
    )
    assert response.status_code == 400
    assert "assignee" in response.json()["errors"]


def test_filters_and_ordering(sales: User, api_for: Any) -> None:
    late = make_task(sales, title="Late", days=-1, assignee=sales)
    soon = make_task(sales, title="Soon", days=1, assignee=sales)
    api = api_for(sales)
    overdue = api.get("/api/v1/tasks?status=overdue").json()["results"]
    assert [row["id"] for row in overdue] == [late.pk]
    by_title = api.get("/api/v1/tasks?ordering=-title").json()["results"]
    assert [row["id"] for row in by_title] == [soon.pk, late.pk]
    paged = api.get("/api/v1/tasks?limit=1").json()
    assert len(paged["results"]) == 1
    assert paged["next"]
    assert api.get(paged["next"]).json()["results"][0]["id"] == soon.pk


def test_a_contact_the_caller_cannot_see_reads_as_missing(
    sales: User, sales_south: User, api_for: Any
) -> None:
    hidden = make_contact(None, owner=sales_south)
    response = api_for(sales).post(
        "/api/v1/tasks", {"title": "x", "due_date": "2027-02-01", "contact": hidden.pk}
    )
    assert response.status_code == 400
    assert "contact" in response.json()["errors"]
