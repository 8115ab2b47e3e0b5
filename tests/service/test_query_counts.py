"""Ticket pages and endpoints cost the same number of queries for 3 tickets as for 30."""

from __future__ import annotations

import functools
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.customers.models import Contact
from rapport.service import services
from rapport.service.panels import tickets_panel
from rapport.users.models import User
from tests.customers.factories import make_company, make_contact
from tests.customers.test_query_counts import assert_same, queries_of
from tests.service.factories import make_calendar, make_policy, make_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def contact(admin: User) -> Contact:
    make_policy(admin, calendar=make_calendar(admin))
    return make_contact(admin, emails=["client@example.org"])


def add_tickets(service_user: User, contact: Contact, start: int, stop: int) -> None:
    for index in range(start, stop):
        company = make_company(service_user, name=f"Firm {index}") if index % 2 else None
        ticket = make_ticket(
            service_user, subject=f"Ticket {index}", contact=contact, company=company,
            assignee=service_user if index % 3 else None,
        )  # fmt: skip
        services.reply(service_user, ticket, "Looking into it")


@pytest.mark.parametrize(
    "url",
    [
        "/tickets/",
        "/tickets/?queue=mine",
        "/tickets/?queue=breaching&cols=reference,subject,customer,assignee,team",
        "/tickets/export.csv",
        "/api/v1/tickets?limit=100",
        "/api/v1/tickets?queue=unassigned&limit=100",
    ],
)
def test_list_queries_do_not_grow_with_rows(
    service_user: User, contact: Contact, client_for: Any, api_for: Any, url: str
) -> None:
    client = api_for(service_user) if url.startswith("/api/") else client_for(service_user)
    add_tickets(service_user, contact, 0, 3)
    small = queries_of(lambda: client.get(url))
    add_tickets(service_user, contact, 3, 30)
    assert_same(small, queries_of(lambda: client.get(url)))


def test_detail_queries_do_not_grow_with_messages(
    service_user: User, contact: Contact, client_for: Any, api_for: Any
) -> None:
    ticket = make_ticket(service_user, contact=contact)
    services.reply(service_user, ticket, "One")
    web, api = client_for(service_user), api_for(service_user)
    urls = [
        f"/tickets/{ticket.pk}/",
        f"/api/v1/tickets/{ticket.pk}",
        f"/api/v1/tickets/{ticket.pk}/messages",
    ]

    def fetch(url: str) -> Any:
        return (api if url.startswith("/api/") else web).get(url)

    small = [queries_of(functools.partial(fetch, u)) for u in urls]
    for n in range(15):
        services.add_note(service_user, ticket, f"Note {n}")
        services.update_ticket(service_user, ticket, {"description": f"v{n}"})
    for url, before in zip(urls, small, strict=True):
        assert_same(before, queries_of(functools.partial(fetch, url)))


def test_the_contact_panel_costs_at_most_two_queries(service_user: User, contact: Contact) -> None:
    add_tickets(service_user, contact, 0, 8)
    with CaptureQueriesContext(connection) as captured:
        data = tickets_panel(service_user, contact)
    assert data is not None
    assert len(data["tickets"]) == 5
    assert data["more"]
    assert len(captured) <= 2
