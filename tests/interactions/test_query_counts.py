"""The timeline costs the same number of queries for 3 touchpoints as for 300."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from rapport.customers import services as customer_services
from rapport.customers.choices import LifecycleStage
from rapport.customers.models import Company, Contact
from rapport.interactions.choices import MANUAL_KINDS
from rapport.users.models import User
from tests.customers.factories import make_company, make_contact
from tests.customers.test_query_counts import assert_same, queries_of
from tests.interactions.factories import touchpoint

pytestmark = pytest.mark.django_db


def add_touchpoints(
    owners: list[User | None], start: int, stop: int, *, contact: Contact, company: Company
) -> None:
    """A mix of kinds, owners (including rows Rapport wrote), with and without a source."""
    now = timezone.now()
    for n in range(start, stop):
        on_company = n % 4 == 0
        touchpoint(
            owners[n % len(owners)],
            contact=None if on_company else contact,
            company=company if on_company else None,
            kind=MANUAL_KINDS[n % len(MANUAL_KINDS)] if n % 5 else "order",
            subject=f"Touchpoint {n}",
            body="Some details " * (n % 3),
            occurred_at=now - timedelta(hours=n),
            source=company if n % 5 == 2 else None,
            duration_minutes=n % 60,
            outcome="connected" if n % 2 else "",
        )


@pytest.fixture
def customer(sales: User) -> tuple[Contact, Company]:
    company = make_company(sales, name="Busy GmbH", owner=sales)
    contact = make_contact(sales, owner=sales, companies=[(company, "Buyer")])
    customer_services.change_stage(sales, contact, LifecycleStage.PROSPECT, reason="Quote")
    customer_services.change_stage(sales, company, LifecycleStage.PROSPECT, reason="Quote")
    return contact, company


@pytest.mark.parametrize("who", ["sales", "manager"])
def test_pages_and_endpoint_cost_the_same_for_3_and_300_touchpoints(
    sales: User,
    manager: User,
    north_colleague: User,
    customer: tuple[Contact, Company],
    client_for: Any,
    api_for: Any,
    monkeypatch: pytest.MonkeyPatch,
    who: str,
) -> None:
    contact, company = customer
    viewer = sales if who == "sales" else manager
    # Sources with a page are fetched in one query per kind of source, never per row.
    monkeypatch.setattr(
        Company, "get_absolute_url", lambda self: f"/companies/{self.pk}/", raising=False
    )
    web, api = client_for(viewer), api_for(viewer)
    owners: list[User | None] = [sales, north_colleague, manager, None]
    requests: dict[str, Callable[[], Any]] = {
        "contact page": lambda: web.get(f"/contacts/{contact.pk}/"),
        "company page": lambda: web.get(f"/companies/{company.pk}/"),
        "timeline partial": lambda: web.get(
            f"/timeline/contact/{contact.pk}/", HTTP_HX_REQUEST="true"
        ),
        "filtered partial": lambda: web.get(
            f"/timeline/company/{company.pk}/?kind=call", HTTP_HX_REQUEST="true"
        ),
        "endpoint": lambda: api.get(f"/api/v1/interactions?contact={contact.pk}&limit=100"),
        "company endpoint": lambda: api.get(f"/api/v1/interactions?company={company.pk}"),
    }
    add_touchpoints(owners, 0, 3, contact=contact, company=company)
    small = {name: queries_of(request) for name, request in requests.items()}
    add_touchpoints(owners, 3, 300, contact=contact, company=company)
    for name, request in requests.items():
        assert_same(small[name], queries_of(request))
    # And the pages really show a page of them (not an empty list that costs nothing).
    assert web.get(f"/contacts/{contact.pk}/").content.decode().count("timeline-subject") == 20
    assert (
        len(api.get(f"/api/v1/interactions?contact={contact.pk}&limit=100").json()["results"])
        == 100
    )


def test_load_more_pages_cost_the_same(
    sales: User, customer: tuple[Contact, Company], client_for: Any
) -> None:
    import re

    contact, company = customer
    web = client_for(sales)
    add_touchpoints([sales, None], 0, 300, contact=contact, company=company)
    first = web.get(f"/timeline/contact/{contact.pk}/", HTTP_HX_REQUEST="true")
    counts = []
    link = re.search(r'hx-get="([^"]+)" hx-trigger="revealed"', first.content.decode())
    while link is not None and len(counts) < 5:
        url = link.group(1).replace("&amp;", "&")
        counts.append(queries_of(lambda u=url: web.get(u, HTTP_HX_REQUEST="true"))[0])  # type: ignore[misc]
        body = web.get(url, HTTP_HX_REQUEST="true").content.decode()
        link = re.search(r'hx-get="([^"]+)" hx-trigger="revealed"', body)
    assert len(counts) == 5
    assert len(set(counts)) == 1, counts


# What the panel adds to a customer page: the page of touchpoints, plus the
# composer's menus (the company's people; colleagues for managers and admins).
PANEL_QUERIES = {
    ("sales", "contact"): 1,
    ("sales", "company"): 2,
    ("manager", "contact"): 2,
    ("manager", "company"): 3,
}


@pytest.mark.parametrize(("who", "about"), sorted(PANEL_QUERIES))
def test_the_panel_adds_a_fixed_number_of_queries(
    sales: User,
    manager: User,
    customer: tuple[Contact, Company],
    client_for: Any,
    monkeypatch: pytest.MonkeyPatch,
    who: str,
    about: str,
) -> None:
    from rapport.customers import panels as registry

    contact, company = customer
    add_touchpoints([sales, None], 0, 30, contact=contact, company=company)
    web = client_for(sales if who == "sales" else manager)
    url = f"/contacts/{contact.pk}/" if about == "contact" else f"/companies/{company.pk}/"
    with_panel = queries_of(lambda: web.get(url))
    monkeypatch.delitem(registry._panels, "timeline")
    without_panel = queries_of(lambda: web.get(url))
    assert with_panel[0] - without_panel[0] == PANEL_QUERIES[who, about]
