"""The contacts and companies API: bodies, errors, ETags, filters, keyset pages, verbs."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db.models import F
from django.utils import timezone

from rapport.core.models import CustomFieldType
from rapport.customers import services
from rapport.customers.choices import LifecycleStage
from rapport.customers.models import Company, Contact, Tag
from rapport.users.models import User
from tests.customers.conftest import World
from tests.customers.factories import define_field, make_company, make_contact

pytestmark = pytest.mark.django_db

CONTACTS = "/api/v1/contacts"
COMPANIES = "/api/v1/companies"


def error(response: Any, status: int) -> dict[str, list[str]]:
    """The ``errors`` of an error response, after checking the body's shape."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"detail", "errors"}
    assert isinstance(body["detail"], str)
    assert body["detail"]
    errors: dict[str, list[str]] = body["errors"]
    return errors


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def walk(api: Any, url: str) -> list[int]:
    """Follow ``next`` links to the end; the ids in the order they came."""
    seen: list[int] = []
    while url:
        response = api.get(url)
        seen += ids(response)
        url = response.json()["next"]
    return seen


# --- create ---------------------------------------------------------------------------


def test_create_contact_with_nested_rows(sales: User, api_for: Any) -> None:
    acme = make_company(sales, name="Acme", owner=sales)
    response = api_for(sales).post(
        CONTACTS,
        {
            "first_name": "Ann",
            "last_name": "Lee",
            "emails": [
                {"email": "Ann.Lee@Example.org"},
                {"email": "ann@home.example.org", "label": "home", "is_primary": False},
            ],
            "phones": [{"number": "+49 30 12345678", "label": "mobile"}],
            "companies": [{"company": acme.pk, "role": "Buyer"}],
            "tags": ["VIP", "Newsletter"],
            "lifecycle_stage": "prospect",
            "owner": sales.pk,
            "job_title": "Head of purchasing",
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    contact = Contact.objects.get()
    assert body["id"] == contact.pk
    assert response["ETag"] == f'"{contact.pk}-{contact.version}"'
    assert body["full_name"] == "Ann Lee"
    assert body["email"] == "ann.lee@example.org"
    assert [(e["email"], e["label"], e["is_primary"]) for e in body["emails"]] == [
        ("ann.lee@example.org", "work", True),
        ("ann@home.example.org", "home", False),
    ]
    assert [(p["number"], p["label"]) for p in body["phones"]] == [("+493012345678", "mobile")]
    assert [(c["company"], c["company_name"], c["role"]) for c in body["companies"]] == [
        (acme.pk, "Acme", "Buyer")
    ]
    assert sorted(body["tags"]) == ["Newsletter", "VIP"]
    assert body["lifecycle_stage"] == "prospect"
    assert body["owner"] == sales.pk
    assert body["version"] == contact.version
    assert body["consents"] == []


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"emails": [{"email": "not-an-address"}]}, "emails"),
        ({"phones": [{"number": "12"}]}, "phones"),
        ({"first_name": "A", "lifecycle_stage": "vip"}, "lifecycle_stage"),
        ({"first_name": "A", "time_zone": "Mars/Olympus"}, "time_zone"),
        ({"first_name": "A", "birthday": "31.12.1990"}, "birthday"),
        ({"first_name": "A", "owner": 999999}, "owner"),
        ({}, "first_name"),
    ],
)
def test_validation_errors_name_the_field(
    sales: User, api_for: Any, payload: dict[str, Any], field: str
) -> None:
    errors = error(api_for(sales).post(CONTACTS, payload), 400)
    assert field in errors
    assert all(isinstance(message, str) for message in errors[field])
    assert not Contact.objects.exists()


def test_custom_field_errors_name_the_custom_field(sales: User, api_for: Any) -> None:
    define_field("score", CustomFieldType.NUMBER)
    api = api_for(sales)
    errors = error(api.post(CONTACTS, {"first_name": "A", "custom_fields": {"score": "x"}}), 400)
    assert "custom_fields.score" in errors
    errors = error(api.post(CONTACTS, {"first_name": "A", "custom_fields": {"nope": 1}}), 400)
    assert "custom_fields.nope" in errors

    created = api.post(CONTACTS, {"first_name": "A", "custom_fields": {"score": "3,50"}})
    assert created.status_code == 201
    assert created.json()["custom_fields"] == {"score": "3.5"}


def test_duplicate_email_is_400_with_a_link_to_the_existing_contact(
    sales: User, api_for: Any
) -> None:
    existing = make_contact(sales, emails=["ann@example.org"])
    errors = error(
        api_for(sales).post(
            CONTACTS, {"first_name": "B", "emails": [{"email": "ANN@example.org"}]}
        ),
        400,
    )
    assert any(f"/contacts/{existing.pk}/" in message for message in errors["emails"])
    assert Contact.objects.count() == 1


def test_duplicate_email_of_a_hidden_contact_is_still_refused(
    world: World, sales: User, api_for: Any
) -> None:
    errors = error(
        api_for(sales).post(CONTACTS, {"emails": [{"email": "southowned@example.org"}]}), 400
    )
    assert "emails" in errors
    assert Contact.objects.filter(email="southowned@example.org").count() == 1


def test_create_contact_cannot_link_a_company_the_caller_cannot_see(
    world: World, sales: User, api_for: Any
) -> None:
    hidden = world.companies["south"]
    response = api_for(sales).post(
        CONTACTS,
        {"first_name": "Linked", "companies": [{"company": hidden.pk, "role": "Spy"}]},
    )
    assert "companies" in error(response, 400)
    assert not Contact.objects.filter(first_name="Linked").exists()
    assert hidden.name not in response.content.decode()


# --- ETag / If-Match --------------------------------------------------------------------


def test_get_has_an_etag_and_if_none_match_answers_304(sales: User, api_for: Any) -> None:
    contact = make_contact(sales, owner=sales)
    api = api_for(sales)
    response = api.get(f"{CONTACTS}/{contact.pk}")
    assert response.status_code == 200
    etag = response["ETag"]
    assert etag == f'"{contact.pk}-{contact.version}"'
    assert api.get(f"{CONTACTS}/{contact.pk}", HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_patch_with_stale_if_match_is_412_and_changes_nothing(
    sales: User, manager: User, api_for: Any
) -> None:
    contact = make_contact(sales, owner=sales, first_name="Ann")
    mine, theirs = api_for(sales), api_for(manager)
    etag = mine.get(f"{CONTACTS}/{contact.pk}")["ETag"]

    first = theirs.patch(f"{CONTACTS}/{contact.pk}", {"job_title": "CEO"}, HTTP_IF_MATCH=etag)
    assert first.status_code == 200, first.content
    assert first["ETag"] != etag

    stale = mine.patch(
        f"{CONTACTS}/{contact.pk}", {"first_name": "Anna", "job_title": "CTO"}, HTTP_IF_MATCH=etag
    )
    error(stale, 412)
    contact.refresh_from_db()
    assert (contact.first_name, contact.job_title) == ("Ann", "CEO")

    fresh = mine.patch(
        f"{CONTACTS}/{contact.pk}", {"first_name": "Anna"}, HTTP_IF_MATCH=first["ETag"]
    )
    assert fresh.status_code == 200
    assert fresh.json()["full_name"] == "Anna Tester"
    assert fresh["ETag"] == f'"{contact.pk}-{fresh.json()["version"]}"'


def test_stale_if_match_on_delete_is_412(sales: User, api_for: Any) -> None:
    contact = make_contact(sales, owner=sales)
    api = api_for(sales)
    etag = api.get(f"{CONTACTS}/{contact.pk}")["ETag"]
    services.update_contact(sales, contact, {"notes": "changed"})
    error(api.delete(f"{CONTACTS}/{contact.pk}", HTTP_IF_MATCH=etag), 412)
    contact.refresh_from_db()
    assert contact.deleted_at is None


def test_patch_validation_errors_name_the_field(
    sales: User, sales_south: User, api_for: Any
) -> None:
    contact = make_contact(sales, owner=sales)
    api = api_for(sales)
    assert "owner" in error(api.patch(f"{CONTACTS}/{contact.pk}", {"owner": sales_south.pk}), 400)
    assert "time_zone" in error(
        api.patch(f"{CONTACTS}/{contact.pk}", {"time_zone": "Nowhere/Else"}), 400
    )
    contact.refresh_from_db()
    assert contact.owner == sales


def test_patch_does_not_change_stage_or_emails_behind_their_verbs(
    sales: User, api_for: Any
) -> None:
    contact = make_contact(sales, owner=sales, emails=["a@example.org"])
    response = api_for(sales).patch(
        f"{CONTACTS}/{contact.pk}",
        {"lifecycle_stage": "customer", "email": "b@example.org", "notes": "n"},
    )
    assert response.status_code == 200
    contact.refresh_from_db()
    assert (contact.lifecycle_stage, contact.email, contact.notes) == ("lead", "a@example.org", "n")


# --- filters ----------------------------------------------------------------------------


def _at(day: str) -> datetime:
    return timezone.make_aware(datetime.fromisoformat(f"{day}T12:00:00"))


@pytest.fixture
def filterable(sales: User, manager: User, admin: User) -> dict[str, Contact]:
    acme = make_company(admin, name="Acme")
    contacts = {
        "ann": make_contact(
            admin, first_name="Ann", last_name="Archer", owner=sales, tags=["VIP"],
            lifecycle_stage=LifecycleStage.CUSTOMER, companies=[(acme, "Buyer")],
            emails=["ann@acme.example"], phones=["+4930111111"],
        ),
        "bob": make_contact(
            admin, first_name="Bob", last_name="Baker", owner=manager, tags=["vip", "Golf"],
            lifecycle_stage=LifecycleStage.PROSPECT, emails=["bob@baker.example"],
        ),
        "cid": make_contact(
            admin, first_name="Cid", last_name="Cole", owner=None,
            lifecycle_stage=LifecycleStage.LEAD, emails=["cid@cole.example"],
        ),
        "dee": make_contact(
            admin, first_name="Dee", last_name="Dunn", owner=sales,
            lifecycle_stage=LifecycleStage.CHURNED, companies=[(acme, "")],
            emails=["dee@dunn.example"],
        ),
    }  # fmt: skip
    for key, day in [("ann", "2024-01-10"), ("bob", "2024-02-10"), ("cid", "2024-03-10")]:
        Contact.objects.filter(pk=contacts[key].pk).update(created_at=_at(day), updated_at=_at(day))
    Contact.objects.filter(pk=contacts["dee"].pk).update(
        created_at=_at("2024-04-10"), updated_at=_at("2024-05-10")
    )
    return contacts


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("lifecycle_stage=customer&lifecycle_stage=prospect", {"ann", "bob"}),
        ("lifecycle_stage=churned", {"dee"}),
        ("owner=me", {"ann", "dee"}),
        ("owner=none", {"cid"}),
        ("owner={manager}", {"bob"}),
        ("tag={vip}", {"ann", "bob"}),
        ("tag={vip}&tag={golf}", {"ann", "bob"}),
        ("tag={golf}", {"bob"}),
        ("company={acme}", {"ann", "dee"}),
        ("q=bak", {"bob"}),
        ("q=cid@", {"cid"}),
        ("q=111111", {"ann"}),
        ("created_after=2024-02-10", {"bob", "cid", "dee"}),
        ("created_before=2024-02-10", {"ann"}),
        ("created_after=2024-02-01&created_before=2024-03-31", {"bob", "cid"}),
        ("updated_after=2024-05-10", {"dee"}),
        ("updated_before=2024-04-11", {"ann", "bob", "cid"}),
        ("owner=me&lifecycle_stage=churned", {"dee"}),
    ],
)
def test_api_filters(
    filterable: dict[str, Contact], sales: User, manager: User, api_for: Any, query: str,
    expected: set[str],
) -> None:  # fmt: skip
    tags = {tag.name.lower(): tag.pk for tag in Tag.objects.all()}
    acme = Company.objects.get(name="Acme")
    url = f"{CONTACTS}?" + query.format(
        manager=manager.pk, vip=tags["vip"], golf=tags["golf"], acme=acme.pk
    )
    found = set(ids(api_for(sales).get(url)))
    assert found == {filterable[key].pk for key in expected}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("created_after=yesterday", "created_after"),
        ("lifecycle_stage=vip", "lifecycle_stage"),
        ("tag=999999", "tag"),
    ],
)
def test_invalid_filters_are_400_naming_the_filter(
    sales: User, api_for: Any, query: str, field: str
) -> None:
    assert field in error(api_for(sales).get(f"{CONTACTS}?{query}"), 400)


@pytest.fixture
def custom_valued(sales: User) -> dict[str, Contact]:
    define_field("region", CustomFieldType.TEXT)
    define_field("tier", CustomFieldType.CHOICE, choices=["gold", "silver"])
    define_field("newsletter", CustomFieldType.BOOLEAN)
    define_field("interests", CustomFieldType.MULTI_CHOICE, choices=["golf", "tennis", "chess"])
    define_field("score", CustomFieldType.NUMBER)
    return {
        "north_gold": make_contact(
            sales,
            custom_fields={"region": "North", "tier": "gold", "newsletter": True,
                           "interests": ["golf", "chess"], "score": "10"},
        ),
        "south_silver": make_contact(
            sales,
            custom_fields={"region": "South", "tier": "silver", "newsletter": False,
                           "interests": ["tennis"], "score": "7"},
        ),
        "blank": make_contact(sales),
    }  # fmt: skip


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("cf_region=North", {"north_gold"}),
        ("cf_tier=silver", {"south_silver"}),
        ("cf_newsletter=true", {"north_gold"}),
        ("cf_newsletter=false", {"south_silver"}),
        ("cf_score=7", {"south_silver"}),
        ("cf_interests=golf", {"north_gold"}),
        ("cf_interests=tennis", {"south_silver"}),
    ],
)
def test_api_filters_on_custom_fields(
    custom_valued: dict[str, Contact], sales: User, api_for: Any, query: str, expected: set[str]
) -> None:
    found = set(ids(api_for(sales).get(f"{CONTACTS}?{query}")))
    assert found == {custom_valued[key].pk for key in expected}


# --- ordering and keyset pagination ---------------------------------------------------------


@pytest.fixture
def many(sales: User, admin: User) -> list[Contact]:
    # Repeated names and NULL last activity test the tie-breaks on both databases.
    contacts = [
        make_contact(admin, first_name=name, last_name="Same", owner=sales)
        for name in ["Eve", "Adam", "Eve", "Zoe", "Bea", "Eve", "Carl", "Adam", "Dora", "Finn",
                     "Gus", "Hal", "Ida"]
    ]  # fmt: skip
    for index, contact in enumerate(contacts[:6]):
        Contact.objects.filter(pk=contact.pk).update(
            last_activity_at=_at(f"2024-01-{10 + index % 3:02d}")
        )
    return contacts


def _expected_order(ordering: str) -> list[int]:
    """The ids in this API ordering, NULLs last ascending and first descending, id breaking ties."""
    terms = ordering.split(",")
    if not {"id", "-id"} & set(terms):
        terms.append("-id" if terms[-1].startswith("-") else "id")
    expressions = [
        F(term[1:]).desc(nulls_first=True) if term.startswith("-") else F(term).asc(nulls_last=True)
        for term in terms
    ]
    return list(Contact.objects.order_by(*expressions).values_list("pk", flat=True))


@pytest.mark.parametrize(
    "ordering",
    ["full_name", "-full_name", "-created_at", "last_activity_at", "-last_activity_at", "email",
     "last_name,-id"],
)  # fmt: skip
def test_keyset_pages_walk_every_row_exactly_once_in_order(
    many: list[Contact], sales: User, api_for: Any, ordering: str
) -> None:
    api = api_for(sales)
    seen = walk(api, f"{CONTACTS}?ordering={ordering}&limit=4")

    assert sorted(seen) == sorted(contact.pk for contact in many)
    everything = ids(api.get(f"{CONTACTS}?ordering={ordering}&limit=100"))
    assert seen == everything
    assert seen == _expected_order(ordering)


def test_previous_link_goes_back_to_the_same_rows(
    many: list[Contact], sales: User, api_for: Any
) -> None:
    api = api_for(sales)
    first = api.get(f"{CONTACTS}?limit=5")
    second = api.get(first.json()["next"])
    back = api.get(second.json()["previous"])
    assert ids(back) == ids(first)
    assert first.json()["previous"] is None


def test_pages_never_show_rows_of_another_team(
    world: World, many: list[Contact], sales: User, api_for: Any
) -> None:
    seen = walk(api_for(sales), f"{CONTACTS}?limit=3")
    hidden = {world.contacts["south"].pk, world.contacts["marketing"].pk}
    assert not hidden & set(seen)
    assert len(seen) == len(set(seen)) == len(many) + 3


@pytest.mark.parametrize(
    ("query", "field"),
    [("ordering=password", "ordering"), ("limit=0", "limit"), ("cursor=garbage", "cursor")],
)
def test_bad_paging_parameters_are_400(
    many: list[Contact], sales: User, api_for: Any, query: str, field: str
) -> None:
    assert field in error(api_for(sales).get(f"{CONTACTS}?{query}"), 400)


def test_cursor_of_another_ordering_is_refused(
    many: list[Contact], sales: User, api_for: Any
) -> None:
    api = api_for(sales)
    next_link = api.get(f"{CONTACTS}?limit=3&ordering=full_name").json()["next"]
    cursor = parse_qs(urlsplit(next_link).query)["cursor"][0]
    assert "cursor" in error(api.get(f"{CONTACTS}?ordering=-created_at&cursor={cursor}"), 400)


# --- contact verbs ----------------------------------------------------------------------


def test_stage_endpoint_records_the_change_and_guards_customers(sales: User, api_for: Any) -> None:
    contact = make_contact(sales, owner=sales)
    api = api_for(sales)
    url = f"{CONTACTS}/{contact.pk}"

    response = api.post(f"{url}/stage", {"stage": "customer", "reason": "Signed"})
    assert response.status_code == 200
    assert response.json()["lifecycle_stage"] == "customer"

    assert "reason" in error(api.post(f"{url}/stage", {"stage": "lead"}), 400)
    assert "stage" in error(api.post(f"{url}/stage", {"stage": "vip"}), 400)
    assert api.post(f"{url}/stage", {"stage": "lead", "reason": "Refunded"}).status_code == 200

    history = api.get(f"{url}/stage-history").json()
    assert [(h["from_stage"], h["to_stage"], h["reason"], h["changed_by"]) for h in history] == [
        ("customer", "lead", "Refunded", "Sam Sales"),
        ("lead", "customer", "Signed", "Sam Sales"),
        ("", "lead", "Created", "Sam Sales"),
    ]


def test_tag_and_untag_endpoints(sales: User, api_for: Any) -> None:
    contact = make_contact(sales, owner=sales, tags=["VIP"])
    api = api_for(sales)
    url = f"{CONTACTS}/{contact.pk}"

    tagged = api.post(f"{url}/tag", {"tags": ["vip", "Golf"]})
    assert tagged.status_code == 200
    assert sorted(tagged.json()["tags"]) == ["Golf", "VIP"]
    assert Tag.objects.count() == 2

    untagged = api.post(f"{url}/untag", {"tags": ["Golf"]})
    assert untagged.json()["tags"] == ["VIP"]
    assert "tags" in error(api.post(f"{url}/tag", {"tags": []}), 400)


def test_consent_endpoint(sales: User, api_for: Any) -> None:
    contact = make_contact(sales, owner=sales)
    api = api_for(sales)
    url = f"{CONTACTS}/{contact.pk}/consent"
    granted = api.post(
        url,
        {"channel": "email", "purpose": "marketing", "granted": True, "source": "web form",
         "evidence": "Ticked the box"},
    )  # fmt: skip
    assert granted.status_code == 200
    assert [(c["channel"], c["purpose"], c["status"], c["source"]) for c in granted.json()] == [
        ("email", "marketing", "granted", "web form")
    ]
    api.post(url, {"channel": "email", "purpose": "marketing", "granted": False, "source": "call"})
    assert not services.may_contact(contact, channel="email", purpose="marketing")
    detail = api.get(f"{CONTACTS}/{contact.pk}").json()
    assert [(c["status"], c["source"]) for c in detail["consents"]] == [("withdrawn", "call")]

    assert "channel" in error(
        api.post(
            url, {"channel": "pigeon", "purpose": "marketing", "granted": True, "source": "x"}
        ),
        400,
    )
    assert "source" in error(
        api.post(url, {"channel": "sms", "purpose": "marketing", "granted": True}), 400
    )


def test_email_endpoints(sales: User, api_for: Any) -> None:
    other = make_contact(sales, emails=["taken@example.org"])
    contact = make_contact(sales, owner=sales, emails=["first@example.org"])
    api = api_for(sales)
    url = f"{CONTACTS}/{contact.pk}"

    added = api.post(f"{url}/emails", {"email": "Second@Example.org", "is_primary": True})
    assert added.status_code in (200, 201), added.content
    assert added.json()["email"] == "second@example.org"
    assert [e["email"] for e in added.json()["emails"]] == [
        "second@example.org",
        "first@example.org",
    ]

    errors = error(api.post(f"{url}/emails", {"email": "TAKEN@example.org"}), 400)
    assert any(f"/contacts/{other.pk}/" in message for message in errors["email"])
    assert "email" in error(api.post(f"{url}/emails", {"email": "nope"}), 400)

    second = contact.emails.get(email="second@example.org")
    assert api.delete(f"{url}/emails/{second.pk}").status_code == 204
    contact.refresh_from_db()
    assert contact.email == "first@example.org"
    # An e-mail of another contact is not found through this one.
    foreign = other.emails.get()
    assert api.delete(f"{url}/emails/{foreign.pk}").status_code == 404
    assert other.emails.exists()


def test_phone_endpoints(sales: User, api_for: Any) -> None:
    contact = make_contact(sales, owner=sales)
    api = api_for(sales)
    url = f"{CONTACTS}/{contact.pk}"

    added = api.post(f"{url}/phones", {"number": "+44 20 7946 0958", "label": "mobile"})
    assert added.status_code in (200, 201)
    assert [(p["number"], p["label"], p["is_primary"]) for p in added.json()["phones"]] == [
        ("+442079460958", "mobile", True)
    ]
    assert "phone" in error(api.post(f"{url}/phones", {"number": "12"}), 400)
    assert "phone" in error(api.post(f"{url}/phones", {"number": "+442079460958"}), 400)

    phone = contact.phones.get()
    assert api.delete(f"{url}/phones/{phone.pk}").status_code == 204
    contact.refresh_from_db()
    assert contact.phone == ""


def test_company_link_endpoints(sales: User, api_for: Any) -> None:
    contact = make_contact(sales, owner=sales)
    acme = make_company(sales, name="Acme", owner=sales)
    globex = make_company(sales, name="Globex")
    api = api_for(sales)
    url = f"{CONTACTS}/{contact.pk}"

    linked = api.post(f"{url}/companies", {"company": acme.pk, "role": "Buyer"})
    assert linked.status_code in (200, 201)
    api.post(f"{url}/companies", {"company": globex.pk})
    companies = api.get(url).json()["companies"]
    assert [(c["company_name"], c["role"], c["is_primary"]) for c in companies] == [
        ("Acme", "Buyer", True),
        ("Globex", "", False),
    ]
    assert "company" in error(api.post(f"{url}/companies", {"company": acme.pk}), 400)

    membership = contact.memberships.get(company=acme)
    assert api.delete(f"{url}/companies/{membership.pk}").status_code == 204
    assert [c["company_name"] for c in api.get(url).json()["companies"]] == ["Globex"]
    people = api.get(f"{COMPANIES}/{globex.pk}/contacts").json()
    assert [(p["contact"], p["contact_name"]) for p in people] == [(contact.pk, contact.full_name)]


def test_delete_trashes_and_admin_restores(sales: User, admin: User, api_for: Any) -> None:
    contact = make_contact(sales, owner=sales)
    api, root = api_for(sales), api_for(admin)

    assert api.delete(f"{CONTACTS}/{contact.pk}").status_code == 204
    assert api.get(f"{CONTACTS}/{contact.pk}").status_code == 404
    assert contact.pk not in ids(root.get(CONTACTS))
    assert ids(root.get(f"{CONTACTS}/trash")) == [contact.pk]

    restored = root.post(f"{CONTACTS}/{contact.pk}/restore")
    assert restored.status_code == 200
    assert restored.json()["id"] == contact.pk
    assert api.get(f"{CONTACTS}/{contact.pk}").status_code == 200
    assert ids(root.get(f"{CONTACTS}/trash")) == []
    # Restoring a record that is not in the trash: not found there.
    assert root.post(f"{CONTACTS}/{contact.pk}/restore").status_code == 404


# --- companies ----------------------------------------------------------------------------


def test_create_company_normalises_the_domain_and_refuses_duplicates(
    sales: User, api_for: Any
) -> None:
    api = api_for(sales)
    created = api.post(
        COMPANIES,
        {"name": "Acme", "domain": "https://www.ACME.com/", "tags": ["Key account"],
         "annual_revenue": "1000000.00", "owner": sales.pk},
    )  # fmt: skip
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["domain"] == "acme.com"
    assert body["tags"] == ["Key account"]
    assert body["currency"] == "EUR"
    assert created["ETag"] == f'"{body["id"]}-{body["version"]}"'

    errors = error(api.post(COMPANIES, {"name": "Acme 2", "domain": "acme.com"}), 400)
    assert any(f"/companies/{body['id']}/" in message for message in errors["domain"])
    assert "name" in error(api.post(COMPANIES, {"name": " "}), 400)
    assert "currency" in error(api.post(COMPANIES, {"name": "X", "currency": "EURO"}), 400)


def test_company_patch_if_match_stage_tag_and_trash(sales: User, admin: User, api_for: Any) -> None:
    company = make_company(sales, name="Acme", owner=sales)
    api = api_for(sales)
    url = f"{COMPANIES}/{company.pk}"
    etag = api.get(url)["ETag"]

    assert api.patch(url, {"industry": "Rockets"}, HTTP_IF_MATCH=etag).status_code == 200
    error(api.patch(url, {"industry": "Anvils"}, HTTP_IF_MATCH=etag), 412)
    company.refresh_from_db()
    assert company.industry == "Rockets"

    staged = api.post(f"{url}/stage", {"stage": "customer"})
    assert staged.json()["lifecycle_stage"] == "customer"
    assert "reason" in error(api.post(f"{url}/stage", {"stage": "prospect"}), 400)
    assert api.post(f"{url}/tag", {"tags": ["Key"]}).json()["tags"] == ["Key"]
    assert api.post(f"{url}/untag", {"tags": ["Key"]}).json()["tags"] == []

    assert api.delete(url).status_code == 204
    root = api_for(admin)
    assert ids(root.get(f"{COMPANIES}/trash")) == [company.pk]
    assert root.post(f"{url}/restore").status_code == 200
    assert api.get(url).status_code == 200


def test_company_filters(sales: User, api_for: Any) -> None:
    acme = make_company(sales, name="Acme", domain="acme.com", industry="Rockets", size="10-49")
    globex = make_company(sales, name="Globex", domain="globex.com", industry="rockets")
    make_company(sales, name="Initech", lifecycle_stage="customer")
    api = api_for(sales)
    assert set(ids(api.get(f"{COMPANIES}?industry=ROCKETS"))) == {acme.pk, globex.pk}
    assert ids(api.get(f"{COMPANIES}?size=10-49")) == [acme.pk]
    assert ids(api.get(f"{COMPANIES}?q=glob")) == [globex.pk]
    assert ids(api.get(f"{COMPANIES}?q=acme.c")) == [acme.pk]
    assert len(ids(api.get(f"{COMPANIES}?lifecycle_stage=lead"))) == 2
    initech = Company.objects.get(name="Initech")
    assert ids(api.get(f"{COMPANIES}?ordering=-name")) == [initech.pk, globex.pk, acme.pk]


def test_tags_endpoint_lists_and_creates_case_insensitively(
    sales: User, read_only: User, api_for: Any
) -> None:
    api = api_for(sales)
    created = api.post("/api/v1/tags", {"name": "VIP"})
    assert created.status_code == 201
    again = api.post("/api/v1/tags", {"name": "vip"})
    assert again.json()["id"] == created.json()["id"]
    assert [t["name"] for t in api.get("/api/v1/tags").json()["results"]] == ["VIP"]
    assert api_for(read_only).post("/api/v1/tags", {"name": "Other"}).status_code == 403
