"""Importing contacts and companies: validation, upsert, dry run, batches, resume."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from rapport.customers.models import Company, Contact, ContactEmail, Membership
from rapport.dataio import services
from rapport.dataio.choices import JobStatus, MatchOn
from rapport.dataio.models import SavedMapping
from rapport.users.models import User
from tests.customers.factories import make_contact
from tests.dataio.helpers import csv_bytes, run, upload

pytestmark = pytest.mark.django_db

HEADER = ["First Name", "Last Name", "Email", "Phone Number", "Company Name", "Record ID"]


def people(count: int, *, start: int = 0) -> list[list[str]]:
    return [
        [f"Ann{i}", f"Lee{i}", f"ann{i}@example.com", f"+49 30 1234{i:04d}", "Acme", f"hs-{i}"]
        for i in range(start, start + count)
    ]


def test_hubspot_columns_are_proposed_and_contacts_created_with_their_parts(admin: User) -> None:
    job = run(admin, csv_bytes([HEADER, *people(3)]))
    assert job.columns == {
        "First Name": "first_name", "Last Name": "last_name", "Email": "email",
        "Phone Number": "phone", "Company Name": "company", "Record ID": "external_id",
    }  # fmt: skip
    assert (job.status, job.created, job.updated, job.skipped, job.invalid) == ("done", 3, 0, 0, 0)
    ann = Contact.objects.get(external_id="hs-1")
    assert (ann.full_name, ann.email, ann.phone) == (
        "Ann1 Lee1",
        "ann1@example.com",
        "+493012340001",
    )
    assert ann.emails.get().is_primary
    assert Membership.objects.get(contact=ann).company.name == "Acme"
    assert Company.objects.filter(name="Acme").count() == 1
    assert ann.history.first().history_change_reason == "Imported from people.csv"
    assert ann.history.first().history_user == admin


def test_reimporting_the_same_file_changes_nothing(admin: User) -> None:
    content = csv_bytes([HEADER, *people(5)])
    run(admin, content)
    before = {c.pk: (c.version, c.updated_at) for c in Contact.objects.all()}
    history = Contact.history.count()
    again = run(admin, content)
    assert (again.created, again.updated, again.skipped) == (0, 0, 5)
    assert {c.pk: (c.version, c.updated_at) for c in Contact.objects.all()} == before
    assert Contact.history.count() == history


@pytest.mark.parametrize("match_on", [MatchOn.EMAIL, MatchOn.EXTERNAL_ID])
def test_an_existing_email_is_updated_never_duplicated(admin: User, match_on: str) -> None:
    existing = make_contact(admin, first_name="Old", last_name="Name", emails=["ANN0@example.com"])
    job = run(
        admin, csv_bytes([HEADER, *people(1)]), match_on=match_on,
    )  # fmt: skip
    assert (job.created, job.updated) == (0, 1)
    assert ContactEmail.objects.filter(email="ann0@example.com").count() == 1
    existing.refresh_from_db()
    assert (existing.full_name, existing.external_id, existing.phone) == (
        "Ann0 Lee0", "hs-0", "+493012340000",
    )  # fmt: skip
    assert existing.history.first().history_change_reason == "Imported from people.csv"


def test_external_id_match_updates_the_email_too(admin: User) -> None:
    run(admin, csv_bytes([HEADER, *people(1)]))
    moved = [["Ann0", "Lee0", "ann.new@example.com", "", "", "hs-0"]]
    job = run(admin, csv_bytes([HEADER, *moved]), match_on=MatchOn.EXTERNAL_ID)
    assert (job.created, job.updated) == (0, 1)
    contact = Contact.objects.get(external_id="hs-0")
    assert set(contact.emails.values_list("email", flat=True)) == {
        "ann0@example.com", "ann.new@example.com",
    }  # fmt: skip


def test_dry_run_counts_and_reports_every_invalid_row_but_writes_nothing(admin: User) -> None:
    make_contact(admin, emails=["ann1@example.com"])
    rows = [
        *people(3),
        ["Bad", "Mail", "not-an-email", "", "", ""],
        ["Bad", "Phone", "bp@example.com", "12", "", ""],
        ["", "", "", "", "Acme", ""],
    ]
    job = run(admin, csv_bytes([HEADER, *rows]), dry_run=True)
    assert job.status == JobStatus.CHECKED
    assert (job.created, job.updated, job.skipped, job.invalid) == (2, 1, 0, 3)
    errors = [(e.row_number, e.column) for e in job.row_errors.all()]
    assert errors == [(5, "Email"), (6, "Phone Number"), (7, "")]
    assert "not a valid e-mail" in job.row_errors.all()[0].reason
    assert Contact.objects.count() == 1
    assert not Company.objects.exists()


def test_unknown_owner_bad_date_and_stage_are_reported_with_their_column(admin: User) -> None:
    header = ["Name", "E-mail", "Owner", "Birthday", "Lifecycle Stage"]
    rows = [
        ["Ann Lee", "ann@example.com", "admin@example.com", "31.01.1980", "Customer"],
        ["Bob Ray", "bob@example.com", "nobody@example.com", "1980-01-31", "lead"],
        ["Cy Day", "cy@example.com", "", "31/01/80", ""],
        ["Di Fox", "di@example.com", "", "", "wizard"],
    ]
    job = run(admin, csv_bytes([header, *rows]))
    assert (job.created, job.invalid) == (1, 3)
    assert [(e.row_number, e.column) for e in job.row_errors.all()] == [
        (3, "Owner"), (4, "Birthday"), (5, "Lifecycle Stage"),
    ]  # fmt: skip
    assert "unknown owner" in job.row_errors.all()[0].reason
    assert "unknown format" in job.row_errors.all()[1].reason
    ann = Contact.objects.get()
    assert (ann.first_name, ann.last_name, ann.owner, str(ann.birthday), ann.lifecycle_stage) == (
        "Ann", "Lee", admin, "1980-01-31", "customer",
    )  # fmt: skip


def test_the_same_email_twice_in_a_file_is_refused_on_the_second_row(admin: User) -> None:
    rows = [*people(1), ["Ann", "Again", "ANN0@example.com", "", "", ""]]
    job = run(admin, csv_bytes([HEADER, *rows]))
    assert (job.created, job.invalid) == (1, 1)
    assert "already in row 2" in job.row_errors.get().reason


def test_error_rows_download_has_the_rows_and_reasons(admin: User) -> None:
    rows = [*people(1), ["=HYPERLINK(1)", "X", "bad", "", "", ""]]
    job = run(admin, csv_bytes([HEADER, *rows]))
    text = "".join(services.error_rows_csv(job))
    lines = text.lstrip("\ufeff").splitlines()
    assert lines[0] == ",".join(HEADER) + ",Row,Problem"
    assert lines[1].startswith("'=HYPERLINK(1),X,bad,,,,3,Email: ")


def test_batches_commit_separately_and_a_crash_resumes_without_duplicates(
    admin: User, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.DATAIO_BATCH_SIZE = 4
    job = upload(admin, csv_bytes([HEADER, *people(10)]))
    services.set_mapping(admin, job, job.columns, match_on=job.match_on)
    job.dry_run = False
    job.save()
    real = services.import_batch
    calls = {"n": 0}

    def crash_on_second(plan: Any, batch: Any) -> Any:
        calls["n"] += 1
        counts = real(plan, batch)  # written, then the crash: the batch must roll back
        if calls["n"] == 2:
            raise RuntimeError("power cut")
        return counts

    monkeypatch.setattr(services, "import_batch", crash_on_second)
    with pytest.raises(RuntimeError):
        services.run_import(job)
    job.refresh_from_db()
    assert (job.status, job.committed_rows, job.created) == ("failed", 4, 4)
    assert Contact.objects.count() == 4
    monkeypatch.setattr(services, "import_batch", real)
    job = services.run_import(job, resume=True)
    assert (job.status, job.created, job.skipped, job.invalid) == ("done", 10, 0, 0)
    assert Contact.objects.count() == 10


def test_custom_fields_are_mapped_and_validated(admin: User) -> None:
    from rapport.core.services import define_custom_field

    define_custom_field(
        actor=admin, target="contact", key="shoe_size", label="Shoe size", field_type="number"
    )
    header = ["Email", "Shoe size"]
    job = run(admin, csv_bytes([header, ["a@example.com", "42"], ["b@example.com", "big"]]))
    assert job.columns["Shoe size"] == "cf:shoe_size"
    assert (job.created, job.invalid) == (1, 1)
    assert Contact.objects.get().custom_fields == {"shoe_size": "42"}
    assert job.row_errors.get().column == "Shoe size"


def test_companies_upsert_by_domain(admin: User) -> None:
    header = ["Company name", "Company Domain Name", "Industry", "Annual Revenue"]
    rows = [["Acme", "https://www.acme.com/", "Tools", "1.234,50"], ["Beta", "beta.io", "", "x"]]
    job = run(admin, csv_bytes([header, *rows]), name="companies.csv", entity="companies")
    assert (job.created, job.invalid) == (1, 1)
    assert "not a number" in job.row_errors.get().reason
    acme = Company.objects.get()
    assert (acme.domain, str(acme.annual_revenue), acme.currency) == ("acme.com", "1234.50", "EUR")
    again = run(admin, csv_bytes([header, ["ACME Inc", "acme.com", "Tools", ""]]),
                name="companies.csv", entity="companies")  # fmt: skip
    assert (again.created, again.updated) == (0, 1)
    assert Company.objects.get().name == "ACME Inc"


def test_mapping_is_checked(admin: User) -> None:
    job = upload(admin, csv_bytes([HEADER, *people(1)]))
    with pytest.raises(ValidationError, match="both fill"):
        services.set_mapping(
            admin, job, {"Email": "email", "Record ID": "email"}, match_on=MatchOn.EMAIL
        )
    with pytest.raises(ValidationError, match="no column"):
        services.set_mapping(admin, job, {"Nope": "email"}, match_on=MatchOn.EMAIL)


def test_saved_mapping_is_reused(admin: User) -> None:
    job = upload(admin, csv_bytes([["Mail", "Who"], ["a@example.com", "Ann"]]))
    services.set_mapping(
        admin, job, {"Mail": "email", "Who": "full_name"}, match_on="email", save_as="Shop"
    )
    second = upload(admin, csv_bytes([["Mail", "Who"], ["b@example.com", "Bob"]]))
    saved = SavedMapping.objects.get(name="Shop")
    services.apply_saved_mapping(admin, second, saved)
    assert second.columns == {"Mail": "email", "Who": "full_name"}


def test_only_admins_import(sales: User, manager: User) -> None:
    from django.core.exceptions import PermissionDenied

    for user in (sales, manager):
        with pytest.raises(PermissionDenied):
            upload(user, csv_bytes([HEADER, *people(1)]))


def test_products_upsert_by_sku_through_the_catalog_services(admin: User) -> None:
    from rapport.catalog.models import Product

    header = ["Product Code", "Product Name", "List Price", "Service interval", "Active"]
    rows = [
        ["b-1", "Boiler", "1.299,00", "365", "yes"],
        ["B-2", "Pump", "abc", "", ""],
        ["B-3", "Valve", "12.50", "often", ""],
    ]
    job = run(admin, csv_bytes([header, *rows]), name="products.csv", entity="products")
    assert job.columns["Product Code"] == "sku"
    assert (job.created, job.invalid) == (1, 2)
    assert [(e.row_number, e.column) for e in job.row_errors.all()] == [
        (3, "List Price"), (4, "Service interval"),
    ]  # fmt: skip
    boiler = Product.objects.get()
    assert (boiler.sku, str(boiler.unit_price), boiler.service_interval_days) == (
        "B-1",
        "1299.00",
        365,
    )
    again = run(admin, csv_bytes([header, rows[0]]), name="products.csv", entity="products")
    assert (again.created, again.updated, again.skipped) == (0, 0, 1)
    cheaper = run(admin, csv_bytes([header, ["B-1", "Boiler", "999", "", ""]]),
                  name="products.csv", entity="products")  # fmt: skip
    assert (cheaper.updated, str(Product.objects.get().unit_price)) == (1, "999.00")


def test_timeline_entries_import_once_onto_their_contacts(admin: User) -> None:
    from rapport.interactions.models import Interaction

    ann = make_contact(admin, first_name="Ann", emails=["ann@example.com"], external_id="c-1")
    header = ["Activity ID", "Email", "Type", "Activity date", "Subject", "Notes", "Duration"]
    rows = [
        ["a-1", "ann@example.com", "Call", "2025-03-04 10:30", "Intro call", "Went well", "15"],
        ["", "ANN@example.com", "meeting", "04.03.2025", "Visit", "", ""],
        ["a-3", "nobody@example.com", "call", "2025-03-04", "Lost", "", ""],
        ["a-4", "ann@example.com", "telepathy", "someday", "Odd", "", ""],
    ]
    content = csv_bytes([header, *rows])
    job = run(admin, content, name="activities.csv", entity="interactions")
    assert job.columns["Email"] == "contact_email"
    assert (job.created, job.invalid) == (2, 2)
    assert [(e.row_number, e.column) for e in job.row_errors.all()] == [
        (4, "Email"), (5, "Type"), (5, "Activity date"),
    ]  # fmt: skip
    call = Interaction.objects.get(contact=ann, kind="call", subject="Intro call")
    assert (call.body, call.duration_minutes, call.occurred_at.hour) == ("Went well", 15, 10)
    again = run(admin, content, name="activities.csv", entity="interactions")
    assert (again.created, again.skipped, again.invalid) == (0, 2, 2)
    assert Interaction.objects.filter(contact=ann, kind__in=["call", "meeting"]).count() == 2


def test_search_entries_and_history_of_imported_contacts_match_those_of_the_services(
    admin: User,
) -> None:
    """The bulk path writes what customers.search and simple_history would write."""
    from rapport.customers import search as customer_search
    from rapport.search.models import SearchDocument, SearchTerm

    header = ["First Name", "Last Name", "Email", "Phone Number", "Mobile", "Job Title"]
    rows = [
        ["Zoë", "Łukasz", "Zoe.L@Example.com", "+49 30 1234567", "+1-202-555-0100", "Buyer"],
        ["", "Solo", "solo@example.org", "030 7654321", "", ""],
    ]
    with override_settings(PHONE_REGION="DE"):
        job = run(admin, csv_bytes([header, *rows]))
    assert (job.created, job.invalid) == (2, 0)
    for contact in Contact.objects.all():
        emails = list(contact.emails.values_list("email", flat=True))
        phones = list(contact.phones.values_list("number", flat=True))
        expected = customer_search.contact_document(contact, emails, phones)
        stored = SearchDocument.objects.get(kind="contact", object_id=contact.pk)
        assert (stored.title, stored.subtitle) == (expected.title, expected.subtitle)
        assert stored.keys == " ".join(dict.fromkeys(expected.keys))
        created = contact.history.get()
        assert created.history_type == "+"
        assert (created.full_name, created.email, created.phone, created.id) == (
            contact.full_name, contact.email, contact.phone, contact.pk,
        )  # fmt: skip
        for email in contact.emails.all():
            assert email.history.get().history_type == "+"
    zoe = Contact.objects.get(last_name="Łukasz")
    assert zoe.phones.count() == 2
    assert SearchTerm.objects.filter(term="zoe").exists()
    assert Contact.objects.get(last_name="Solo").phone == "+49307654321"
