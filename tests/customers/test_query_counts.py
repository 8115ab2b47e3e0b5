"""List and detail pages cost the same number of queries for 3 rows as for 40."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rapport.core.models import CustomFieldType
from rapport.customers import services
from rapport.customers.models import Company, Contact
from rapport.users.models import User
from tests.customers.factories import define_field, make_company, make_contact

pytestmark = pytest.mark.django_db

CONSENTS = [("email", "marketing", True), ("sms", "service", False), ("post", "surveys", True)]


def queries_of(request: Callable[[], Any]) -> tuple[int, list[str]]:
    """The queries of ``request``, made twice so that once-per-session work is left out.

    (The first request of a client may stamp its API token's last use or load
    the content types cache; neither depends on the number of rows.)
    """
    request()
    with CaptureQueriesContext(connection) as captured:
        response = request()
    assert response.status_code == 200
    if hasattr(response, "streaming_content"):
        b"".join(response.streaming_content)
    return len(captured), [query["sql"] for query in captured.captured_queries]


def rich_contact(owner: User, companies: list[Company], index: int, *, extra: int = 0) -> Contact:
    """A contact with tags, companies, e-mails, phones and consents (``extra`` more of each)."""
    contact = make_contact(
        owner,
        first_name=f"Rich{index:03d}",
        owner=owner,
        emails=[f"rich{index}-{n}@example.org" for n in range(2 + extra)],
        phones=[f"+49301{index:03d}{n:03d}" for n in range(2 + extra)],
        tags=[f"Tag {n}" for n in range(2 + extra)],
        companies=[(company, "Buyer") for company in companies[: 1 + extra]],
        custom_fields={"region": "North"},
    )
    for channel, purpose, granted in CONSENTS:
        services.set_consent(
            owner, contact, channel=channel, purpose=purpose, granted=granted, source="form"
        )
    return contact


@pytest.fixture
def companies(sales: User) -> list[Company]:
    define_field("region", CustomFieldType.TEXT)
    return [make_company(sales, name=f"Firm {n}", owner=sales, tags=["Key"]) for n in range(6)]


def add_contacts(sales: User, companies: list[Company], start: int, stop: int) -> None:
    for index in range(start, stop):
        rich_contact(sales, companies, index)


def assert_same(small: tuple[int, list[str]], large: tuple[int, list[str]]) -> None:
    assert large[0] == small[0], "\n".join(
        ["extra queries with more rows:", *[q for q in large[1] if q not in small[1]]]
    )


@pytest.mark.parametrize(
    "url",
    [
        "/contacts/",
        "/contacts/?cols=full_name,email,phone,tags,owner,cf_region&tag=1&tag=2",
        "/contacts/?lifecycle_stage=lead&sort=-updated_at",
        "/contacts/export.csv?cols=full_name,email,tags,owner,cf_region",
        "/contacts/?cols=full_name,segment,lifetime_value,churn_risk,p_alive&min_churn_risk=0",
    ],
)
def test_contact_list_page_queries_do_not_grow_with_rows(
    sales: User, companies: list[Company], client_for: Any, url: str
) -> None:
    web = client_for(sales)
    add_contacts(sales, companies, 0, 3)
    small = queries_of(lambda: web.get(url))
    add_contacts(sales, companies, 3, 40)
    large = queries_of(lambda: web.get(url))
    assert_same(small, large)


def test_contact_list_htmx_partial_queries_do_not_grow_with_rows(
    sales: User, companies: list[Company], client_for: Any
) -> None:
    web = client_for(sales)
    add_contacts(sales, companies, 0, 3)
    small = queries_of(lambda: web.get("/contacts/", HTTP_HX_REQUEST="true"))
    add_contacts(sales, companies, 3, 40)
    large = queries_of(lambda: web.get("/contacts/", HTTP_HX_REQUEST="true"))
    assert_same(small, large)


def test_api_contact_list_queries_do_not_grow_with_rows(
    sales: User, companies: list[Company], api_for: Any
) -> None:
    api = api_for(sales)
    add_contacts(sales, companies, 0, 3)
    small = queries_of(lambda: api.get("/api/v1/contacts?limit=100"))
    add_contacts(sales, companies, 3, 40)
    large = queries_of(lambda: api.get("/api/v1/contacts?limit=100"))
    assert_same(small, large)


def test_company_lists_queries_do_not_grow_with_rows(
    sales: User, client_for: Any, api_for: Any
) -> None:
    web, api = client_for(sales), api_for(sales)
    for n in range(3):
        make_company(sales, name=f"Co {n}", owner=sales, tags=["A", "B"])
    scored = "/companies/?cols=name,segment,lifetime_value&min_churn_risk=0"
    small_web = queries_of(lambda: web.get("/companies/"))
    small_scored = queries_of(lambda: web.get(scored))
    small_api = queries_of(lambda: api.get("/api/v1/companies"))
    for n in range(3, 40):
        make_company(sales, name=f"Co {n}", owner=sales, tags=["A", "B"])
    assert_same(small_web, queries_of(lambda: web.get("/companies/")))
    assert_same(small_scored, queries_of(lambda: web.get(scored)))
    assert_same(small_api, queries_of(lambda: api.get("/api/v1/companies")))


def test_contact_detail_queries_do_not_grow_with_related_rows(
    sales: User, companies: list[Company], client_for: Any, api_for: Any
) -> None:
    """The page of a contact with a few of everything costs what one with many costs."""
    web, api = client_for(sales), api_for(sales)
    add_contacts(sales, companies, 0, 3)
    few = rich_contact(sales, companies, 100)
    many = rich_contact(sales, companies, 101, extra=5)
    for contact in (few, many):
        services.change_stage(sales, contact, "prospect", reason="Call")
        services.update_contact(sales, contact, {"job_title": "Buyer"})

    small_web = queries_of(lambda: web.get(f"/contacts/{few.pk}/"))
    small_api = queries_of(lambda: api.get(f"/api/v1/contacts/{few.pk}"))
    assert_same(small_web, queries_of(lambda: web.get(f"/contacts/{many.pk}/")))
    assert_same(small_api, queries_of(lambda: api.get(f"/api/v1/contacts/{many.pk}")))

    add_contacts(sales, companies, 3, 40)
    assert_same(small_web, queries_of(lambda: web.get(f"/contacts/{few.pk}/")))
    assert_same(small_api, queries_of(lambda: api.get(f"/api/v1/contacts/{few.pk}")))


def test_company_detail_queries_do_not_grow_with_members(
    sales: User, companies: list[Company], client_for: Any, api_for: Any
) -> None:
    web, api = client_for(sales), api_for(sales)
    firm = companies[0]
    add_contacts(sales, companies, 0, 3)
    small_web = queries_of(lambda: web.get(f"/companies/{firm.pk}/"))
    small_api = queries_of(lambda: api.get(f"/api/v1/companies/{firm.pk}"))
    small_people = queries_of(lambda: api.get(f"/api/v1/companies/{firm.pk}/contacts"))
    add_contacts(sales, companies, 3, 40)
    assert_same(small_web, queries_of(lambda: web.get(f"/companies/{firm.pk}/")))
    assert_same(small_api, queries_of(lambda: api.get(f"/api/v1/companies/{firm.pk}")))
    assert_same(small_people, queries_of(lambda: api.get(f"/api/v1/companies/{firm.pk}/contacts")))
    assert len(api.get(f"/api/v1/companies/{firm.pk}/contacts").json()) == 40


def test_contact_list_page_in_a_fixed_number_of_queries(
    sales: User, companies: list[Company], client_for: Any, django_assert_num_queries: Any
) -> None:
    """The count measured with 3 rows holds for 40 (django_assert_num_queries form)."""
    web = client_for(sales)
    add_contacts(sales, companies, 0, 3)
    measured, _ = queries_of(lambda: web.get("/contacts/"))
    add_contacts(sales, companies, 3, 40)
    with django_assert_num_queries(measured):
        response = web.get("/contacts/")
    assert response.content.decode().count('name="ids"') == 40
