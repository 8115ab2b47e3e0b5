"""The API's hand-built JSON of contacts and companies equals what DRF's fields would write.

Reads build each row in one function (``to_representation``/``row``) rather than
through DRF's per-field machinery; the declared fields still define the schema.
These tests render the same records both ways and compare every field, so a field
added to a serializer without its fast path (or written differently) fails here.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from rest_framework import serializers
from rest_framework.utils.encoders import JSONEncoder

from rapport.core.models import CustomFieldType
from rapport.customers import queries, services
from rapport.customers.api.serializers import (
    CompanyListSerializer,
    ContactListSerializer,
    ContactSerializer,
)
from rapport.customers.models import Address, Company, Contact, Tag
from rapport.users.models import User
from tests.customers.factories import define_field, make_company, make_contact

pytestmark = pytest.mark.django_db


def generic(serializer: serializers.Serializer[Any], instance: Any) -> Any:
    """What DRF's declared fields write for ``instance``, as JSON would carry it."""
    data = serializers.Serializer.to_representation(serializer, instance)
    return json.loads(json.dumps(data, cls=JSONEncoder))


def as_json(data: Any) -> Any:
    return json.loads(json.dumps(data, cls=JSONEncoder))


@pytest.fixture
def records(sales: User) -> tuple[Contact, Contact, Company]:
    define_field("region", CustomFieldType.TEXT)
    firm = make_company(sales, name="Acme GmbH", owner=sales, tags=["Key", "Berlin"])
    Address.objects.create(company=firm, street="Hauptstr. 1", city="Berlin", country="DE")
    rich = make_contact(
        sales,
        first_name="Rita",
        last_name="Rich",
        owner=sales,
        emails=["rita@example.org", "rita.home@example.org"],
        phones=["+4930123456"],
        tags=["VIP", "Alpha"],
        companies=[(firm, "Buyer")],
        custom_fields={"region": "North"},
        external_id="ext-1",
        birthday=dt.date(1980, 2, 29),
        notes="Met at the fair.",
    )
    services.set_consent(
        sales, rich, channel="email", purpose="marketing", granted=True, source="form"
    )
    Address.objects.create(contact=rich, kind="home", street="Weg 2", city="Köln", country="DE")
    bare = make_contact(sales, first_name="Bo", last_name="Bare", emails=[])
    return rich, bare, firm


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/New_York"])
def test_contact_detail_json_equals_the_declared_fields(
    records: tuple[Contact, Contact, Company], sales: User, api_for: Any, settings: Any, zone: str
) -> None:
    settings.TIME_ZONE = zone
    api = api_for(sales)
    for contact in records[:2]:
        response = api.get(f"/api/v1/contacts/{contact.pk}")
        assert response.status_code == 200
        record = queries.contact_detail(sales).get(pk=contact.pk)
        expected = generic(ContactSerializer(), record)
        assert response.json() == expected
        assert list(response.json()) == list(expected)  # same keys in the same order
    rich = api.get(f"/api/v1/contacts/{records[0].pk}").json()
    assert rich["birthday"] == "1980-02-29"
    assert [c["company_name"] for c in rich["companies"]] == ["Acme GmbH"]
    assert rich["consents"][0]["changed_at"] is not None


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata"])
def test_contact_list_rows_equal_the_declared_fields(
    records: tuple[Contact, Contact, Company], sales: User, api_for: Any, settings: Any, zone: str
) -> None:
    settings.TIME_ZONE = zone
    response = api_for(sales).get("/api/v1/contacts?limit=100")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert {row["full_name"] for row in rows} == {"Rita Rich", "Bo Bare"}
    for row in rows:
        record = queries.contacts(sales).get(pk=row["id"])
        expected = generic(ContactListSerializer(), record)
        assert row == expected
        assert list(row) == list(expected)
    rich = next(row for row in rows if row["full_name"] == "Rita Rich")
    assert rich["tags"] == ["Alpha", "VIP"]  # by name, as the tags' own order
    bare = next(row for row in rows if row["full_name"] == "Bo Bare")
    assert bare["tags"] == []
    assert bare["owner"] is None


def test_company_list_rows_equal_the_declared_fields(
    records: tuple[Contact, Contact, Company], sales: User, api_for: Any
) -> None:
    response = api_for(sales).get("/api/v1/companies")
    assert response.status_code == 200
    (row,) = response.json()["results"]
    expected = generic(CompanyListSerializer(), queries.companies(sales).get(pk=row["id"]))
    assert row == expected
    assert row["tags"] == ["Berlin", "Key"]


def test_a_page_serialised_with_or_without_prefetched_tags_is_the_same(
    records: tuple[Contact, Contact, Company], sales: User
) -> None:
    prefetched = list(queries.contacts(sales).order_by("pk"))
    plain = list(queries.contact_rows(sales).order_by("pk"))
    assert as_json(ContactListSerializer(prefetched, many=True).data) == as_json(
        ContactListSerializer(plain, many=True).data
    )


def test_filters_still_apply_on_the_list_and_the_detail(
    records: tuple[Contact, Contact, Company], sales: User, api_for: Any
) -> None:
    """Requests without filters skip the FilterSet; requests with them still filter."""
    api = api_for(sales)
    rich = records[0]
    vip, key = (Tag.objects.get(name=name).pk for name in ("VIP", "Key"))
    names = [r["full_name"] for r in api.get(f"/api/v1/contacts?tag={vip}").json()["results"]]
    assert names == ["Rita Rich"]
    assert api.get("/api/v1/contacts?lifecycle_stage=nonsense").status_code == 400
    assert api.get(f"/api/v1/contacts/{rich.pk}?tag={vip}").status_code == 200
    assert api.get(f"/api/v1/contacts/{rich.pk}?tag={key}").status_code == 404
    assert api.get(f"/api/v1/contacts/{rich.pk}?ordering=-id&limit=5").status_code == 200
