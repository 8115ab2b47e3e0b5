"""Global search's index: prefixes, typos, and exact e-mail addresses."""

from __future__ import annotations

import pytest

from rapport.search import index
from tests.customers.factories import make_contact

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
