"""Exports: every format, formula injection, list restrictions, and the round trip."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from rapport.core.permissions import Role
from rapport.core.services import define_custom_field
from rapport.customers.models import Company, Contact, Tag
from rapport.customers.services import EmailInput
from rapport.dataio import exports
from rapport.reminders import services as task_services
from rapport.users.models import User
from tests.catalog.factories import make_product
from tests.customers.factories import make_company, make_contact
from tests.dataio.helpers import run
from tests.interactions.factories import touchpoint
from tests.sales.factories import make_deal
from tests.service.factories import make_ticket
from tests.trading.factories import make_asset, make_order

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
    assert web.get("/data/export/exchange-rates.csv").status_code == 404
    assert web.get("/data/export/orders.vcf").status_code == 404
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


# --- every list: products, orders (and lines), assets, timeline, tasks, deals, tickets ------

EVIL = '=HYPERLINK("http://evil.example","Click")'
ENTITIES = (
    "products", "orders", "order_lines", "assets", "interactions", "tasks", "deals", "tickets",
)  # fmt: skip
# The cell each entity's fixture row carries EVIL in.
EVIL_COLUMN = {
    "products": "Name",
    "orders": "Order notes",
    "order_lines": "Line description",
    "assets": "Serial",
    "interactions": "Subject",
    "tasks": "Task",
    "deals": "Deal",
    "tickets": "Subject",
}


def rows_of(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response
    return list(csv.DictReader(io.StringIO(body(response).decode("utf-8-sig"))))


def xlsx_rows(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(body(response)), read_only=True).worksheets[0]
    header, *data = list(sheet.iter_rows(values_only=True))
    return [dict(zip(header, row, strict=True)) for row in data]


def make_task(actor: User, **values: Any) -> None:
    due = timezone.localdate() + timedelta(days=1)
    task_services.create_task(actor, task_services.TaskInput(due_date=due, **values))


def make_world(
    admin: User, owner: User | None = None, *, n: int = 1, evil: bool = True, start: int = 0
) -> None:
    """``n`` rows of every entity; the first carries EVIL in its EVIL_COLUMN."""
    for index in range(start, start + n):
        text = EVIL if evil and index == 0 else f"Plain {index}"
        contact = make_contact(admin, first_name=f"Buyer{index}", owner=owner,
                               emails=[f"buyer{index}@example.com"])  # fmt: skip
        product = make_product(admin, name=text if index == 0 else f"Boiler {index}",
                               sku=f"B-{index:03d}", unit_price="150.50")  # fmt: skip
        order = make_order(admin, contact=contact, lines=[(product, 2)], notes=text,
                           order_date=date(2026, 3, 1 + index))  # fmt: skip
        line = order.lines.get()
        line.description = text
        line.save(update_fields=["description"])
        make_asset(admin, product=product, contact=contact, bought_on=date(2026, 3, 2),
                   serial=text)  # fmt: skip
        touchpoint(owner, contact=contact, subject=text)
        make_task(admin, title=text, contact=contact, assignee=owner)
        make_deal(admin, name=text, contact=contact, owner=owner)
        make_ticket(admin, subject=text, contact=contact)


def test_every_list_defuses_formulas_in_csv_and_xlsx_not_in_json(
    admin: User, client_for: Any
) -> None:
    make_world(admin)
    web = client_for(admin)
    for entity in ENTITIES:
        column = EVIL_COLUMN[entity]
        for values in (
            [row[column] for row in rows_of(web.get(f"/data/export/{entity}.csv"))],
            [row[column] for row in xlsx_rows(web.get(f"/data/export/{entity}.xlsx"))],
        ):
            assert "'" + EVIL in values, (entity, values)
            assert EVIL not in values, entity
        records = json.loads(body(web.get(f"/data/export/{entity}.json")))
        assert EVIL in [record[column] for record in records], entity  # JSON is data


def test_orders_export_with_totals_iso_dates_and_decimal_money(
    admin: User, client_for: Any
) -> None:
    make_world(admin, evil=False)
    web = client_for(admin)
    [order] = rows_of(web.get("/data/export/orders.csv"))
    assert order["Order date"] == "2026-03-01"
    assert (order["Subtotal"], order["Total"], order["Currency"]) == ("301.00", "301.00", "EUR")
    assert order["Customer e-mail"] == "buyer0@example.com"
    assert order["Status"] == "Placed"
    assert order["Created"].startswith(f"{timezone.localdate().isoformat()}T")
    [line] = rows_of(web.get("/data/export/order_lines.csv"))
    assert (line["Order number"], line["Product SKU"]) == (order["Order number"], "B-000")
    assert (line["Quantity"], line["Unit price"], line["Line total"]) == (
        "2.000",
        "150.50",
        "301.00",
    )
    [record] = json.loads(body(web.get("/data/export/orders.json")))
    assert record["Total"] == "301.00"  # exact, not a float
    [cells] = xlsx_rows(web.get("/data/export/orders.xlsx"))
    assert cells["Total"] == 301  # a number the spreadsheet can sum
    assert cells["Order date"].date() == date(2026, 3, 1)


def test_negative_numbers_stay_numbers_while_text_is_defused() -> None:
    """ "-" starts a formula too, but a number (a credit, a discount) is never one."""
    assert exports.csv_cell(Decimal("-20.00")) == "-20.00"
    assert exports.csv_cell(-3) == "-3"
    assert exports.xlsx_cell(Decimal("-20.00")) == Decimal("-20.00")
    assert exports.csv_cell("-20 EUR") == "'-20 EUR"
    assert exports.xlsx_cell("=1+1") == "'=1+1"
    assert exports.json_value(Decimal("-20.00")) == "-20.00"


@pytest.mark.parametrize(
    ("entity", "query", "column", "kept"),
    [
        ("products", "q=Boiler+1", "Name", ["Boiler 1"]),
        ("orders", "q=Buyer1", "Contact", ["Buyer1 Tester"]),
        ("order_lines", "q=Buyer2", "Customer e-mail", ["buyer2@example.com"]),
        ("tasks", "q=Plain+2", "Task", ["Plain 2"]),
        ("deals", "q=Plain+1", "Deal", ["Plain 1"]),
        ("tickets", "q=Plain+2", "Subject", ["Plain 2"]),
        ("interactions", "kind=call", "Subject", ["Plain 2", "Plain 1", "Plain 0"]),
    ],
)
def test_exports_keep_each_list_s_filters(
    entity: str, query: str, column: str, kept: list[str], admin: User, client_for: Any
) -> None:
    make_world(admin, n=3, evil=False)
    assert [
        row[column] for row in rows_of(client_for(admin).get(f"/data/export/{entity}.csv?{query}"))
    ] == kept


def test_exports_follow_the_list_s_sort(admin: User, client_for: Any) -> None:
    make_world(admin, n=3, evil=False)
    web = client_for(admin)
    dates = [
        row["Order date"] for row in rows_of(web.get("/data/export/orders.csv?sort=order_date"))
    ]
    assert dates == ["2026-03-01", "2026-03-02", "2026-03-03"]
    dates = [row["Order date"] for row in rows_of(web.get("/data/export/orders.csv"))]
    assert dates == ["2026-03-03", "2026-03-02", "2026-03-01"]  # the list's default: newest first


def test_invalid_filters_are_refused_not_ignored(admin: User, client_for: Any) -> None:
    response = client_for(admin).get("/data/export/orders.csv?ordered_from=yesterday")
    assert response.status_code == 302
    assert response["Location"] == "/orders/"


EXPORT_ROLES = {
    "products": {Role.ADMIN, Role.MANAGER, Role.SALES, Role.SERVICE, Role.MARKETING},
    "orders": {Role.ADMIN, Role.MANAGER, Role.SALES, Role.MARKETING},
    "order_lines": {Role.ADMIN, Role.MANAGER, Role.SALES, Role.MARKETING},
    "assets": {Role.ADMIN, Role.MANAGER, Role.SALES, Role.SERVICE, Role.MARKETING},
    "interactions": {Role.ADMIN, Role.MANAGER, Role.MARKETING},
    "tasks": {Role.ADMIN, Role.MANAGER},
    "deals": {Role.ADMIN, Role.MANAGER, Role.SALES, Role.MARKETING},
    "tickets": {Role.ADMIN, Role.MANAGER, Role.SERVICE},
}


@pytest.mark.parametrize("role", list(Role.values))
def test_export_permissions_of_every_list_per_role(
    role: str, user_of_role: Any, client_for: Any
) -> None:
    web = client_for(user_of_role(role))
    for entity in ENTITIES:
        expected = 200 if role in EXPORT_ROLES[entity] else 403
        for fmt in ("csv", "xlsx", "json"):
            assert web.get(f"/data/export/{entity}.{fmt}").status_code == expected, (entity, fmt)


def test_sales_export_only_their_team_s_deals_and_customers_orders(
    admin: User, sales: User, sales_south: User, client_for: Any
) -> None:
    make_world(admin, owner=sales, evil=False)
    mine = make_contact(admin, first_name="Mine", owner=sales)
    theirs = make_contact(admin, first_name="Theirs", owner=sales_south)
    make_deal(admin, name="South deal", contact=theirs, owner=sales_south)
    product = make_product(admin, sku="VALVE")
    make_order(admin, contact=theirs, lines=[(product, 1)], notes="South order")
    make_order(admin, contact=mine, lines=[(product, 1)], notes="North order")
    web = client_for(sales)
    assert [row["Deal"] for row in rows_of(web.get("/data/export/deals.csv"))] == ["Plain 0"]
    notes = {row["Order notes"] for row in rows_of(web.get("/data/export/orders.csv"))}
    assert notes == {"Plain 0", "North order"}


def test_list_pages_offer_their_exports_with_the_current_filters(
    admin: User, marketing: User, read_only: User, client_for: Any
) -> None:
    pages = {
        "/products/?q=boiler": "products", "/orders/?status=placed": "orders",
        "/assets/?q=x": "assets", "/deals/?q=boiler": "deals", "/tickets/?status=new": "tickets",
    }  # fmt: skip
    web = client_for(admin)
    for url, entity in pages.items():
        page = web.get(url).content.decode()
        query = url.split("?", 1)[1]
        for fmt in ("csv", "xlsx", "json"):
            assert f"/data/export/{entity}.{fmt}?{query}" in page, (url, fmt)
    assert (
        "/data/export/order_lines.xlsx?status=placed"
        in web.get("/orders/?status=placed").content.decode()
    )
    assert (
        "/data/export/products.xlsx" not in client_for(read_only).get("/products/").content.decode()
    )
    assert "/data/export/tickets.csv" not in client_for(marketing).get("/tickets/").content.decode()


def test_export_queries_do_not_grow_with_the_rows(admin: User, client_for: Any) -> None:
    web = client_for(admin)
    entities = ["contacts", "companies", *ENTITIES]

    def queries_per_export(rows_at_least: int) -> dict[str, int]:
        counts = {}
        for entity in entities:
            web.get(f"/data/export/{entity}.json")  # warm caches (session, content types)
            with CaptureQueriesContext(connection) as captured:
                records = json.loads(body(web.get(f"/data/export/{entity}.json")))
            assert len(records) >= rows_at_least, entity
            counts[entity] = len(captured)
        return counts

    make_world(admin, n=1, evil=False)
    make_company(admin, name="Co 0")
    few = queries_per_export(1)
    make_world(admin, n=4, evil=False, start=1)
    for index in range(1, 5):
        make_company(admin, name=f"Co {index}")
    assert queries_per_export(5) == few


def test_a_recurring_task_exports_its_repeat_rule(admin: User, client_for: Any) -> None:
    make_task(admin, title="Boiler check", recurrence="FREQ=YEARLY")
    web = client_for(admin)
    [task] = rows_of(web.get("/data/export/tasks.csv"))
    assert (task["Task"], task["Repeats"]) == ("Boiler check", "FREQ=YEARLY")
