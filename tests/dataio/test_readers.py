"""Files as people bring them: encodings, delimiters, Excel, vCard, and hostile files."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from openpyxl import Workbook

from rapport.customers.models import Contact
from rapport.dataio import readers
from rapport.dataio.models import ImportJob
from rapport.users.models import User
from tests.dataio.helpers import csv_bytes, run, upload, write

pytestmark = pytest.mark.django_db

ROWS = [["Vorname", "Nachname", "E-Mail"], ["Jürgen", "Müller", "jm@example.de"]]


@pytest.mark.parametrize(
    ("encoding", "prefix", "expected"),
    [
        ("utf-8", b"", "utf-8"),
        ("utf-8", b"\xef\xbb\xbf", "utf-8-sig"),
        ("latin-1", b"", "cp1252"),
        ("cp1252", b"", "cp1252"),
    ],
)
def test_encodings_are_detected(
    tmp_path: Path, encoding: str, prefix: bytes, expected: str
) -> None:
    rows = [*ROWS, ["Zoë", "Ångström", "zo@example.de"]]
    if encoding == "cp1252":
        rows.append(["Chloé", "„Quote“ 5 €", "cq@example.de"])
    path = write(tmp_path, "x.csv", prefix + csv_bytes(rows, delimiter=";", encoding=encoding))
    table = readers.open_table(path)
    assert (table.encoding, table.delimiter) == (expected, ";")
    assert table.headers == ROWS[0]
    read = [cells for _, cells in table.rows]
    assert read[0] == ["Jürgen", "Müller", "jm@example.de"]
    if encoding == "cp1252":
        assert read[2][1] == "„Quote“ 5 €"


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters_and_quoting_are_sniffed(tmp_path: Path, delimiter: str) -> None:
    rows = [["Name", "Notes"], ["Ann Lee", f'says "hi"{delimiter} twice'], ["Bob", "line\nbreak"]]
    table = readers.open_table(write(tmp_path, "x.csv", csv_bytes(rows, delimiter=delimiter)))
    assert [cells for _, cells in table.rows] == rows[1:]


def test_xlsx_reads_dates_and_numbers_as_text(tmp_path: Path) -> None:
    from datetime import date

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["First Name", "Birthday", "Employees"])
    sheet.append(["Ann", date(1980, 1, 31), 12])
    path = tmp_path / "x.xlsx"
    book.save(path)
    table = readers.open_table(path)
    assert table.headers == ["First Name", "Birthday", "Employees"]
    assert list(table.rows) == [(2, ["Ann", "1980-01-31", "12"])]


VCARD3 = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Lee;Ann;;;\r\nFN:Ann Lee\r\n"
    "EMAIL;TYPE=INTERNET:ann@example.com\r\nTEL;TYPE=CELL:+49 30 1234567\r\n"
    "ORG:Acme GmbH\r\nTITLE:Buyer\r\n"
    "NOTE:A very long note that goes on and on and on and on and o\r\n"
    " n past the fold\r\nEND:VCARD\r\n"
)


def test_vcard_3_imports_with_folding(admin: User) -> None:
    job = run(admin, VCARD3.encode(), name="contacts.vcf")
    assert (job.file_format, job.created) == ("vcard", 1)
    ann = Contact.objects.get()
    assert (ann.full_name, ann.email, ann.phone, ann.job_title) == (
        "Ann Lee", "ann@example.com", "+49301234567", "Buyer",
    )  # fmt: skip
    assert ann.notes.endswith("and on past the fold")
    assert ann.memberships.get().company.name == "Acme GmbH"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("garbage.csv", os.urandom(4096) + b"\x00\x01", "not a text file"),
        ("broken.csv", "Name,E-mail\nJürgen,j@example.de\n".encode() + b"Bad\xff\xfe,x@y.z\n",
         "invalid bytes"),
        ("wide-head.csv", b"a," * 100_000 + b"a\n1\n", "columns"),
        ("fake.xlsx", b"PK\x03\x04" + os.urandom(1000), "not a readable Excel"),
        ("broken.vcf", b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann\r\nNOTE:folded\r\nbadly here\r\n"
         b"END:VCARD\r\n", "vCard"),
        ("empty.csv", b"", "empty"),
    ],
)  # fmt: skip
def test_hostile_files_get_a_clear_error_and_nothing_is_kept(
    admin: User, name: str, content: bytes, message: str
) -> None:
    with pytest.raises(ValidationError, match=message) as raised:
        upload(admin, content, name=name)
    assert "file" in raised.value.message_dict
    assert not ImportJob.objects.exists()
    assert not Contact.objects.exists()


def test_a_row_a_million_columns_wide_fails_the_run_before_any_write(admin: User) -> None:
    content = csv_bytes([["Name", "Email"], ["Ann", "a@example.com"]])
    job = run(admin, content + b"x," * 1_000_000 + b"x\n")
    assert job.status == "failed"
    assert "Line 3 has 1,000,001 columns" in job.message
    assert not Contact.objects.exists()


def test_invalid_utf8_far_down_the_file_stops_before_any_write(admin: User, settings: Any) -> None:
    settings.DATAIO_BATCH_SIZE = 10
    good = csv_bytes([["Name", "Email"], *[[f"Ann {i}", f"a{i}@example.com"] for i in range(5000)]])
    job = run(admin, good + "Jörg,j@example.com\n".encode() + b"Bad\xff,b@example.com\n")
    assert job.status == "failed"
    assert "not valid utf-8" in job.message
    assert not Contact.objects.exists()


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path: Path, settings: Any) -> None:
    path = tmp_path / "huge.csv"
    with path.open("wb") as handle:  # sparse: 1 GB on paper, nothing on disk
        handle.truncate(1024**3)
    settings.DATAIO_MAX_FILE_BYTES = 200 * 1024 * 1024
    with pytest.raises(readers.FileProblem, match="1,024 MB"):
        readers.open_table(path)


def test_header_names_of_other_crms_are_proposed(admin: User) -> None:
    from rapport.dataio.mapping import propose

    pipedrive = ["Person - Name", "Person - Email", "Person - Phone", "Person - Organization"]
    assert propose("contacts", pipedrive) == {
        "Person - Name": "full_name", "Person - Email": "email",
        "Person - Phone": "phone", "Person - Organization": "company",
    }  # fmt: skip
    google = ["Given Name", "Family Name", "E-mail 1 - Value", "Phone 1 - Value",
              "Organization 1 - Name", "Organization 1 - Title", "Group Membership"]  # fmt: skip
    assert list(propose("contacts", google).values()) == [
        "first_name", "last_name", "email", "phone", "company", "job_title", "tags",
    ]  # fmt: skip
    salesforce = ["Contact ID", "First Name", "Last Name", "Title", "Account Name", "Mobile"]
    assert list(propose("contacts", salesforce).values()) == [
        "external_id", "first_name", "last_name", "job_title", "company", "phone_2",
    ]  # fmt: skip
    zoho = ["Record Id", "First Name", "Last Name", "Email", "Secondary Email", "Lead Source"]
    assert list(propose("contacts", zoho).values()) == [
        "external_id", "first_name", "last_name", "email", "email_2", "source",
    ]  # fmt: skip
    companies = ["Record ID", "Company name", "Company Domain Name", "Annual Revenue"]
    assert list(propose("companies", companies).values()) == [
        "external_id", "name", "domain", "annual_revenue",
    ]  # fmt: skip


def test_command_imports_with_a_saved_mapping_and_dry_run(admin: User, tmp_path: Path) -> None:
    from django.core.management import call_command
    from django.core.management.base import CommandError

    from rapport.dataio import services

    services.save_mapping(
        admin, name="Shop", entity="contacts", columns={"Mail": "email", "Who": "full_name"},
        match_on="email",
    )  # fmt: skip
    path = write(tmp_path, "shop.csv", csv_bytes([["Mail", "Who"], ["a@example.com", "Ann Lee"]]))
    out = io.StringIO()
    call_command("import", str(path), "--entity", "contacts", "--mapping", "Shop", "--dry-run",
                 stdout=out, stderr=io.StringIO())  # fmt: skip
    assert "Dry run (nothing written): 1 created" in out.getvalue()
    assert not Contact.objects.exists()
    call_command("import", str(path), "--mapping", "Shop", stdout=out, stderr=io.StringIO())
    assert Contact.objects.get().full_name == "Ann Lee"
    with pytest.raises(CommandError, match="No saved mapping 'Nope'"):
        call_command("import", str(path), "--mapping", "Nope", stdout=out, stderr=io.StringIO())
    bad = write(tmp_path, "bad.csv", b"\x00\x01\x02")
    with pytest.raises(CommandError, match="not a text file"):
        call_command("import", str(bad), stdout=out, stderr=io.StringIO())
