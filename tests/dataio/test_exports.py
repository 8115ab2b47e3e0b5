"""Exports: every format, formula injection, list restrictions, and the round trip."""

from __future__ import annotations

import io
import json
from datetime import date
from typing import Any

import pytest
from openpyxl import load_workbook

from rapport.core.permissions import Role
from rapport.core.services import define_custom_field
from rapport.customers.models import Company, Contact, Tag
from rapport.customers.services import EmailInput
from rapport.users.models import User
from tests.customers.factories import make_company, make_contact
from tests.dataio.helpers import run

pytestmark = pytest.mark.django_db


def body(response: Any) -> bytes:
    if hasattr(response, "streaming_content"):
        return b"".join(response.streaming_content)
    return bytes(response.content)


def test_formula_cells_are_neutralised_in_csv_and_xlsx(admin: User, client_for: Any) -> None:
    make_contact(admin, first_name="=HYPERLINK(\"http://x\")", last_name="@SUM(A1)",
                 job_title="+1", notes="-2\tnote")  # fmt: skip
    web = client_for(admin)
    csv_response = web.get("/data/export/contacts.csv")
    assert csv_response.status_code == 200
    assert csv_response.streaming
    text = body(csv_response).decode("utf-8-sig")
    assert "'=HYPERLINK" in text
    assert "'@SUM(A1)" in text
    assert ",'+1," in text
    xlsx = load_workbook(io.BytesIO(body(web.get("/data/export/contacts.xlsx"))), read_only=True)
    sheet = xlsx.worksheets[0]
    header, row = list(sheet.iter_rows(values_only=True))
    assert row[header.index("First name")] == '\'=HYPERLINK("http://x")'
    records = json.loads(body(web.get("/data/export/contacts.json")))
    assert records[0]["First name"] == '=HYPERLINK("http://x")'  # JSON is data, not a sheet


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.ADMIN, 200), (Role.MANAGER, 200), (Role.MARKETING, 200), (Role.SALES, 200),
     (Role.SERVICE, 403), (Role.READ_ONLY, 403)],
)  # fmt: skip
@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json", "vcf"])
def test_export_permissions_per_role(
    role: str, status: int, fmt: str, user_of_role: Any, client_for: Any
) -> None:
    assert client_for(user_of_role(role)).get(f"/data/export/contacts.{fmt}").status_code == status


def test_sales_export_only_what_their_list_shows(
    admin: User, sales: User, sales_south: User, client_for: Any
) -> None:
    make_contact(admin, first_name="Mine", owner=sales)
    make_contact(admin, first_name="Theirs", owner=sales_south)
    make_company(admin, name="South Co", owner=sales_south)
    web = client_for(sales)
    text = body(web.get("/data/export/contacts.csv")).decode("utf-8-sig")
    assert "Mine" in text
    assert "Theirs" not in text
    assert "South Co" not in body(web.get("/data/export/companies.json")).decode()


def test_export_keeps_the_list_filters(admin: User, client_for: Any) -> None:
    make_contact(admin, first_name="Lead", lifecycle_stage="lead")
    make_contact(admin, first_name="Buyer", lifecycle_stage="customer")
    text = body(client_for(admin).get("/data/export/contacts.csv?lifecycle_stage=customer")).decode(
        "utf-8-sig"
    )
    assert "Buyer" in text
    assert "Lead" not in text


def test_unknown_exports_are_404(admin: User, client_for: Any) -> None:
    web = client_for(admin)
    assert web.get("/data/export/companies.vcf").status_code == 404
    assert web.get("/data/export/orders.csv").status_code == 404
    assert web.get("/data/export/contacts.pdf").status_code == 404


def snapshot() -> list[dict[str, Any]]:
    result = []
    for contact in Contact.objects.order_by("full_name").prefetch_related(
        "emails", "phones", "tags", "memberships__company"
    ):
        result.append(
            {
                "first": contact.first_name,
                "last": contact.last_name,
                "full": contact.full_name,
                "emails": [(e.email, e.is_primary) for e in contact.emails.all()],
                "phones": [(p.number, p.is_primary) for p in contact.phones.all()],
                "job": contact.job_title,
                "birthday": contact.birthday,
                "language": contact.language,
                "source": contact.source,
                "notes": contact.notes,
                "stage": contact.lifecycle_stage,
                "owner": contact.owner_id,
                "external_id": contact.external_id,
                "custom": contact.custom_fields,
                "tags": sorted(t.name for t in contact.tags.all()),
                "companies": [m.company.name for m in contact.memberships.all()],
            }
        )
    return result


def wipe() -> None:
    Contact.objects.all().delete()
    Company.objects.all().delete()
    Tag.objects.all().delete()


def people(admin: User, sales: User) -> None:
    define_custom_field(
        actor=admin, target="contact", key="shoe_size", label="Shoe size", field_type="number"
    )
    acme = make_company(admin, name="Acme, Inc.")
    make_contact(
        admin, first_name="Zoë", last_name="O'Brien-Müller", job_title="Head; of \"Stuff\"",
        emails=[EmailInput("zoe@example.com", is_primary=True), "zoe.private@example.org"],
        phones=["+49 30 1234567", "+33 1 23 45 67 89"], companies=[(acme, "")],
        birthday=date(1980, 1, 31), notes="First line\nsecond, with comma; and semicolon",
        tags=["VIP", "Berlin"], external_id="crm-1", owner=sales, lifecycle_stage="customer",
        language="de", source="Fair", custom_fields={"shoe_size": "42"},
    )  # fmt: skip
    make_contact(admin, first_name="", last_name="", emails=["only.mail@example.com"])
    make_contact(
        admin, first_name="-Dash", last_name="=Formula", emails=[], phones=["+1 202 555 0143"]
    )


def test_round_trip_csv_export_imports_into_an_empty_rapport_identically(
    admin: User, sales: User, client_for: Any
) -> None:
    people(admin, sales)
    before = snapshot()
    exported = body(client_for(admin).get("/data/export/contacts.csv"))
    wipe()
    job = run(admin, exported, name="contacts.csv")
    assert (job.status, job.created, job.invalid) == ("done", 3, 0), list(job.row_errors.all())
    assert snapshot() == before


def test_round_trip_vcard(admin: User, sales: User, client_for: Any) -> None:
    people(admin, sales)
    vcard_fields = ("first", "last", "full", "emails", "phones", "job", "birthday", "notes",
                    "external_id", "tags", "companies")  # fmt: skip
    before = [{key: row[key] for key in vcard_fields} for row in snapshot()]
    exported = body(client_for(admin).get("/data/export/contacts.vcf"))
    assert exported.startswith(b"BEGIN:VCARD\r\nVERSION:4.0\r\n")
    assert all(len(line) <= 75 for line in exported.split(b"\r\n"))
    wipe()
    job = run(admin, exported, name="contacts.vcf")
    assert (job.status, job.created, job.invalid) == ("done", 3, 0), list(job.row_errors.all())
    assert [{key: row[key] for key in vcard_fields} for row in snapshot()] == before


def test_list_pages_link_to_every_export_format_with_their_filters(
    admin: User, sales: User, client_for: Any
) -> None:
    make_contact(admin, first_name="Lead", owner=sales)
    page = client_for(sales).get("/contacts/?lifecycle_stage=lead").content.decode()
    for fmt in ("xlsx", "json", "vcf"):
        assert f"/data/export/contacts.{fmt}?lifecycle_stage=lead" in page
    companies = client_for(sales).get("/companies/").content.decode()
    assert "/data/export/companies.xlsx" in companies
    assert "/data/export/companies.vcf" not in companies


def test_only_admins_see_the_personal_data_link_on_a_contact(
    admin: User, manager: User, client_for: Any
) -> None:
    contact = make_contact(admin, first_name="Subject")
    link = f"/data/people/{contact.pk}/"
    assert link in client_for(admin).get(f"/contacts/{contact.pk}/").content.decode()
    assert link not in client_for(manager).get(f"/contacts/{contact.pk}/").content.decode()
