"""Global search's index: prefixes, typos, and exact e-mail addresses."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.customers.search import search_companies, search_contacts
from rapport.search import index
from tests.customers.factories import make_company, make_contact

pytestmark = pytest.mark.django_db


def test_a_misspelt_name_finds_the_person() -> None:
    john = make_contact(first_name="John", last_name="Smith", emails=["john@example.com"])
    make_contact(first_name="Mary", last_name="Jones", emails=["mary@example.com"])
    index.forget_dictionary()
    assert index.find("contact", "Jonh Smtih", limit=10) == [john.pk]


def test_an_email_address_finds_exactly_its_owner() -> None:
    anna = make_contact(first_name="Anna", last_name="Berg", emails=["anna.berg@example.com"])
    make_contact(first_name="Anne", last_name="Berg", emails=["anne.berg@example.com"])
    index.forget_dictionary()
    assert index.find("contact", "anna.berg@example.com", limit=10) == [anna.pk]


def test_a_name_prefix_finds_everyone_it_starts() -> None:
    berg = make_contact(first_name="Lena", last_name="Bergström", emails=["lena@example.com"])
    berger = make_contact(first_name="Tom", last_name="Berger", emails=["tom@example.com"])
    make_contact(first_name="Ola", last_name="Nordmann", emails=["ola@example.com"])
    assert sorted(index.find("contact", "Berg", limit=10)) == sorted([berg.pk, berger.pk])


# --- the customers' providers -------------------------------------------------------------


def test_a_whole_address_finds_its_contact_and_their_company_by_domain(admin: Any) -> None:
    acme = make_company(admin, name="Acme Heating", domain="acme-heating.example")
    make_company(admin, name="Acme Cooling", domain="acme-cooling.example")
    anna = make_contact(
        admin, first_name="Anna", last_name="Berg", emails=["Anna.Berg@Acme-Heating.example"]
    )
    make_contact(admin, first_name="Anne", last_name="Berg", emails=["anne.berg@example.com"])

    contacts = search_contacts(admin, "anna.berg@ACME-heating.example", 8)
    companies = search_companies(admin, "anna.berg@acme-heating.example", 8)

    assert [result.url for result in contacts] == [f"/contacts/{anna.pk}/"]
    assert [result.title for result in companies] == [acme.name]


def test_a_partial_address_still_searches_the_words(admin: Any) -> None:
    anna = make_contact(admin, first_name="Anna", last_name="Berg", emails=["anna@berg.example"])
    assert [result.url for result in search_contacts(admin, "anna@berg", 8)] == [
        f"/contacts/{anna.pk}/"
    ]


def test_a_trashed_owner_of_an_address_is_not_found(admin: Any) -> None:
    from rapport.customers import services

    gone = make_contact(admin, first_name="Gus", last_name="Gone", emails=["gus@gone.example"])
    services.trash_contact(admin, gone)
    assert search_contacts(admin, "gus@gone.example", 8) == []


def test_a_prefix_with_very_many_matches_returns_matches_unranked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(index, "RANKED_AT_MOST", 3)
    bergs = {
        make_contact(first_name=name, last_name="Berg", emails=[f"{name.lower()}@berg.example"]).pk
        for name in ("Ada", "Bo", "Cy", "Di", "Ed")
    }
    make_contact(first_name="Ola", last_name="Nordmann", emails=["ola@example.com"])

    found = index.find("contact", "Berg", limit=2)

    assert len(found) == 2
    assert set(found) <= bergs
    # Few matches are still ranked, best first: the whole list comes back.
    assert sorted(index.find("contact", "Nordm", limit=10)) == sorted(
        index.find("contact", "Nordmann", limit=10)
    )
