"""/api/v1/interactions: filters, keyset pages, create, If-Match, errors."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from rapport.customers.models import Contact
from rapport.interactions.models import Interaction
from rapport.users.models import User
from tests.customers.factories import make_company, make_contact
from tests.interactions.factories import logged, touchpoint

pytestmark = pytest.mark.django_db


def at(day: int) -> datetime:
    """Noon UTC on 1 March 2026 plus ``day`` days."""
    return datetime.fromisoformat("2026-03-01T12:00:00+00:00") + timedelta(days=day)


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def walk(api: Any, url: str) -> list[int]:
    """Every id of a list, following ``next`` links."""
    seen: list[int] = []
    next_url: str | None = url
    while next_url:
        response = api.get(next_url)
        seen += ids(response)
        next_url = response.json()["next"]
    return seen


@pytest.fixture
def contact(sales: User) -> Contact:
    return make_contact(sales, owner=sales)


def test_create_returns_the_row_with_an_etag(sales: User, contact: Contact, api_for: Any) -> None:
    response = api_for(sales).post(
        "/api/v1/interactions",
        {
            "kind": "call",
            "subject": "Quote follow-up",
            "contact": contact.pk,
            "occurred_at": "2026-03-01T09:30:00Z",
            "outcome": "connected",
            "duration_minutes": 7,
            "channel": "phone",
            "direction": "outbound",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    row = Interaction.objects.get()
    assert body["id"] == row.pk
    assert response["ETag"] == f'"{row.pk}-1"'
    assert (body["kind"], body["owner"], body["contact"], body["company"]) == (
        "call",
        sales.pk,
        contact.pk,
        None,
    )
    assert body["occurred_at"].startswith("2026-03-01T09:30:00")
    assert (body["source_type"], body["source_id"], body["version"]) == (None, None, 1)


def test_create_defaults_to_now(sales: User, contact: Contact, api_for: Any) -> None:
    response = api_for(sales).post(
        "/api/v1/interactions", {"kind": "note", "subject": "Hi", "contact": contact.pk}
    )
    assert response.status_code == 201
    row = Interaction.objects.get()
    assert timezone.now() - row.occurred_at < timedelta(minutes=1)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "order"}, "kind"),
        ({"kind": "lifecycle"}, "kind"),
        ({"subject": ""}, "subject"),
        ({"contact": None}, "contact"),
        ({"duration_minutes": -1}, "duration_minutes"),
        ({"outcome": "maybe"}, "outcome"),
        ({"occurred_at": "2099-01-01T00:00:00Z"}, "occurred_at"),
        ({"contact": 999999}, "contact"),
    ],
)
def test_create_errors_name_the_field(
    sales: User, contact: Contact, api_for: Any, body: dict[str, Any], field: str
) -> None:
    data = {"kind": "call", "subject": "Hi", "contact": contact.pk, **body}
    response = api_for(sales).post("/api/v1/interactions", data)
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert not Interaction.objects.exists()


def test_create_on_a_company(sales: User, api_for: Any) -> None:
    company = make_company(sales, owner=sales)
    response = api_for(sales).post(
        "/api/v1/interactions", {"kind": "meeting", "subject": "Visit", "company": company.pk}
    )
    assert response.status_code == 201
    assert response.json()["company"] == company.pk


def test_sales_cannot_log_for_a_colleague_managers_can(
    sales: User, manager: User, service_user: User, contact: Contact, api_for: Any
) -> None:
    data = {"kind": "call", "subject": "Hi", "contact": contact.pk, "owner": service_user.pk}
    assert api_for(sales).post("/api/v1/interactions", data).status_code == 403
    response = api_for(manager).post("/api/v1/interactions", data)
    assert response.status_code == 201
    assert response.json()["owner"] == service_user.pk


def test_patch_with_if_match(sales: User, contact: Contact, api_for: Any) -> None:
    api = api_for(sales)
    row = logged(sales, contact=contact, subject="Old")
    url = f"/api/v1/interactions/{row.pk}"
    etag = api.get(url)["ETag"]
    assert api.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    changed = api.patch(url, {"subject": "New", "outcome": "follow_up"}, HTTP_IF_MATCH=etag)
    assert changed.status_code == 200, changed.content
    assert (changed.json()["subject"], changed.json()["version"]) == ("New", 2)
    assert changed["ETag"] != etag
    stale = api.patch(url, {"subject": "Stale"}, HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    assert api.delete(url, HTTP_IF_MATCH=etag).status_code == 412
    row.refresh_from_db()
    assert (row.subject, row.is_deleted) == ("New", False)


def test_patch_cannot_move_a_touchpoint_or_fake_its_source(
    sales: User, contact: Contact, api_for: Any
) -> None:
    other = make_contact(sales, owner=sales)
    row = logged(sales, contact=contact)
    response = api_for(sales).patch(
        f"/api/v1/interactions/{row.pk}", {"contact": other.pk, "source_id": 5, "owner": None}
    )
    assert response.status_code == 200
    row.refresh_from_db()
    assert (row.contact, row.source_id, row.owner) == (contact, None, sales)


def test_patch_kind_rules(sales: User, manager: User, contact: Contact, api_for: Any) -> None:
    row = logged(sales, contact=contact)
    response = api_for(sales).patch(f"/api/v1/interactions/{row.pk}", {"kind": "order"})
    assert response.status_code == 400
    assert "kind" in response.json()["errors"]
    order = touchpoint(None, contact=contact, kind="order")
    response = api_for(manager).patch(f"/api/v1/interactions/{order.pk}", {"kind": "call"})
    assert response.status_code == 400


def test_delete_moves_to_the_trash_and_hides_the_row(
    sales: User, contact: Contact, api_for: Any
) -> None:
    api = api_for(sales)
    row = logged(sales, contact=contact)
    assert api.delete(f"/api/v1/interactions/{row.pk}").status_code == 204
    assert Interaction.objects.get(pk=row.pk).is_deleted
    assert api.get(f"/api/v1/interactions/{row.pk}").status_code == 404
    assert ids(api.get("/api/v1/interactions")) == []


def test_rows_of_trashed_customers_are_hidden(sales: User, contact: Contact, api_for: Any) -> None:
    from rapport.customers import services as customer_services

    row = logged(sales, contact=contact)
    customer_services.trash_contact(sales, contact)
    assert api_for(sales).get(f"/api/v1/interactions/{row.pk}").status_code == 404


@pytest.fixture
def filterable(sales: User, manager: User) -> dict[str, Interaction]:
    company = make_company(sales, owner=sales)
    member = make_contact(sales, owner=sales, companies=[(company, "Buyer")])
    loner = make_contact(sales, owner=sales)
    return {
        "member_call": touchpoint(sales, contact=member, kind="call", occurred_at=at(0)),
        "member_note": touchpoint(manager, contact=member, kind="note", occurred_at=at(1)),
        "company_meeting": touchpoint(None, company=company, kind="meeting", occurred_at=at(2)),
        "loner_email": touchpoint(sales, contact=loner, kind="email", occurred_at=at(3)),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kind=call", ["member_call"]),
        ("kind=call&kind=email", ["loner_email", "member_call"]),
        ("occurred_after=2026-03-02T12:00:00Z", ["loner_email", "company_meeting", "member_note"]),
        ("occurred_before=2026-03-02T12:00:00Z", ["member_call"]),
        (
            "occurred_after=2026-03-02T00:00:00Z&occurred_before=2026-03-04T00:00:00Z",
            ["company_meeting", "member_note"],
        ),
        ("owner=me", ["loner_email", "member_call"]),
        ("owner=none", ["company_meeting"]),
    ],
)
def test_filters(
    sales: User, filterable: dict[str, Interaction], api_for: Any, query: str, expected: list[str]
) -> None:
    got = ids(api_for(sales).get(f"/api/v1/interactions?{query}"))
    assert got == [filterable[name].pk for name in expected]


def test_contact_and_company_filters(
    sales: User, filterable: dict[str, Interaction], api_for: Any
) -> None:
    api = api_for(sales)
    member = filterable["member_call"].contact
    company = filterable["company_meeting"].company
    assert member is not None
    assert company is not None
    assert ids(api.get(f"/api/v1/interactions?contact={member.pk}")) == [
        filterable["member_note"].pk,
        filterable["member_call"].pk,
    ]
    assert ids(api.get(f"/api/v1/interactions?company={company.pk}")) == [
        filterable["company_meeting"].pk,
        filterable["member_note"].pk,
        filterable["member_call"].pk,
    ]


@pytest.mark.parametrize(
    "query", ["kind=visit", "occurred_after=yesterday", "contact=abc", "ordering=subject"]
)
def test_invalid_filters_are_400(
    sales: User, filterable: dict[str, Interaction], api_for: Any, query: str
) -> None:
    response = api_for(sales).get(f"/api/v1/interactions?{query}")
    assert response.status_code == 400, response.content
    assert response.json()["errors"]


def test_keyset_pages_walk_every_row_once_newest_first(
    sales: User, contact: Contact, api_for: Any
) -> None:
    # Same timestamps on purpose: the id breaks ties, so no row repeats or goes missing.
    rows = [touchpoint(sales, contact=contact, occurred_at=at(n // 3)) for n in range(23)]
    expected = [r.pk for r in sorted(rows, key=lambda r: (r.occurred_at, r.pk), reverse=True)]
    api = api_for(sales)
    assert walk(api, f"/api/v1/interactions?contact={contact.pk}&limit=5") == expected
    oldest_first = walk(
        api, f"/api/v1/interactions?contact={contact.pk}&limit=4&ordering=occurred_at"
    )
    assert oldest_first == expected[::-1]


def test_pages_never_show_rows_of_another_team(
    sales: User, sales_south: User, api_for: Any
) -> None:
    mine = make_contact(sales, owner=sales)
    theirs = make_contact(sales_south, owner=sales_south)
    visible = [touchpoint(sales, contact=mine, occurred_at=at(n)).pk for n in range(7)]
    for n in range(7):
        touchpoint(sales_south, contact=theirs, occurred_at=at(n))
    assert sorted(walk(api_for(sales), "/api/v1/interactions?limit=3")) == sorted(visible)
    assert walk(api_for(sales), f"/api/v1/interactions?contact={theirs.pk}") == []
