"""Importing orders with lines: one row per line, grouped by the order number of the file."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from rapport.dataio import services
from rapport.dataio.choices import JobStatus
from rapport.interactions.models import Interaction
from rapport.trading.choices import OrderStatus
from rapport.trading.models import Order, OrderLine
from rapport.users.models import User
from tests.catalog.factories import make_product
from tests.customers.factories import make_company, make_contact
from tests.dataio.helpers import csv_bytes, run

pytestmark = pytest.mark.django_db

HEADER = ["Order Number", "Email", "Order Date", "SKU", "Quantity", "Unit Price", "Status"]


@pytest.fixture
def shop(admin: User) -> dict[str, Any]:
    return {
        "ann": make_contact(admin, first_name="Ann", last_name="Lee", emails=["ann@example.com"]),
        "bob": make_contact(admin, first_name="Bob", last_name="Ray", emails=["bob@example.com"]),
        "acme": make_company(admin, name="Acme GmbH"),
        "pump": make_product(admin, sku="PUMP-1", unit_price="100.00"),
        "hose": make_product(admin, sku="HOSE-2", unit_price="12.50"),
    }


ROWS = [
    ["PO-1", "ann@example.com", "2026-03-01", "PUMP-1", "2", "", "placed"],
    ["PO-1", "ann@example.com", "2026-03-01", "hose-2", "3", "10,00", "placed"],
    ["PO-2", "BOB@example.com", "01.04.2026", "HOSE-2", "1", "", "quote"],
]


def test_lines_are_grouped_into_orders_through_the_trading_service(
    admin: User, shop: dict[str, Any]
) -> None:
    job = run(admin, csv_bytes([HEADER, *ROWS]), name="orders.csv", entity="orders")
    assert job.columns == {
        "Order Number": "order_ref", "Email": "contact_email", "Order Date": "order_date",
        "SKU": "sku", "Quantity": "quantity", "Unit Price": "unit_price", "Status": "status",
    }  # fmt: skip
    assert (job.status, job.created, job.skipped, job.invalid) == (JobStatus.DONE, 3, 0, 0)
    first = Order.objects.get(contact=shop["ann"])
    assert first.status == OrderStatus.PLACED
    assert str(first.order_date) == "2026-03-01"
    lines = list(
        first.lines.order_by("position").values_list("product__sku", "quantity", "unit_price")
    )
    assert lines == [("PUMP-1", Decimal("2.000"), Decimal("100.00")),
                     ("HOSE-2", Decimal("3.000"), Decimal("10.00"))]  # fmt: skip
    assert first.total == Decimal("230.00")
    second = Order.objects.get(contact=shop["bob"])
    assert (second.status, str(second.order_date)) == (OrderStatus.QUOTE, "2026-04-01")
    # the service's own timeline entry, and the import's note naming the file's number
    subjects = set(
        Interaction.objects.filter(contact=shop["ann"]).values_list("subject", flat=True)
    )
    assert f"Order {first.number} imported (number PO-1 in the file)" in subjects
    assert any(subject.startswith(f"Order {first.number} placed") for subject in subjects)


def test_reimporting_skips_the_orders_it_brought_never_duplicates(
    admin: User, shop: dict[str, Any]
) -> None:
    content = csv_bytes([HEADER, *ROWS])
    run(admin, content, name="orders.csv", entity="orders")
    again = run(admin, content, name="orders.csv", entity="orders")
    assert (again.created, again.skipped, again.invalid) == (0, 3, 0)
    assert Order.objects.count() == 2
    assert OrderLine.objects.count() == 3


def test_dry_run_reports_each_bad_row_with_its_column_and_writes_nothing(
    admin: User, shop: dict[str, Any]
) -> None:
    rows = [
        *ROWS,
        ["PO-3", "nobody@example.com", "2026-03-01", "PUMP-1", "1", "", ""],
        ["PO-4", "ann@example.com", "2026-13-45", "PUMP-1", "1", "", ""],
        ["PO-5", "ann@example.com", "", "NOPE", "1", "", ""],
        ["PO-5", "ann@example.com", "", "PUMP-1", "two", "", ""],
        ["PO-6", "ann@example.com", "", "PUMP-1", "1", "abc", "shipped"],
        ["", "ann@example.com", "", "PUMP-1", "1", "", ""],
    ]
    job = run(admin, csv_bytes([HEADER, *rows]), entity="orders", dry_run=True)
    assert job.status == JobStatus.CHECKED
    assert (job.created, job.invalid) == (3, 6)
    errors = [(e.row_number, e.column) for e in job.row_errors.order_by("row_number", "id")]
    assert errors == [
        (5, "Email"), (6, "Order Date"), (7, "SKU"), (8, "Quantity"),
        (9, "Status"), (9, "Unit Price"), (10, "Order Number"),
    ]  # fmt: skip
    reasons = " ".join(job.row_errors.values_list("reason", flat=True))
    assert "no contact with the e-mail 'nobody@example.com'" in reasons
    assert "no product with SKU 'NOPE'" in reasons
    assert "'two' is not a number" in reasons
    assert "unknown status 'shipped'" in reasons
    assert not Order.objects.exists()


def test_a_refused_order_writes_none_of_its_lines_and_lists_them_all(
    admin: User, shop: dict[str, Any]
) -> None:
    rows = [
        ["PO-7", "ann@example.com", "", "PUMP-1", "1", "", ""],
        ["PO-7", "ann@example.com", "", "PUMP-1", "-1", "", ""],
    ]
    job = run(admin, csv_bytes([HEADER, *rows]), entity="orders")
    assert (job.created, job.invalid) == (0, 2)
    assert not Order.objects.exists()
    csv_text = "".join(services.error_rows_csv(job))
    rows_out = csv_text.splitlines()[1:]
    assert [row.split(",")[0] for row in rows_out] == ["PO-7", "PO-7"]
    assert "is not a quantity more than 0" in rows_out[1]


def test_the_trading_services_rules_hold_for_inactive_products(
    admin: User, shop: dict[str, Any]
) -> None:
    from rapport.catalog import services as catalog_services

    catalog_services.update_product(admin, shop["pump"], {"active": False})
    job = run(admin, csv_bytes([HEADER, ROWS[0]]), entity="orders")
    assert (job.created, job.invalid) == (0, 1)
    assert "not for sale" in job.row_errors.get().reason


def test_company_customer_and_lines_split_across_batches_stay_one_order(
    admin: User, shop: dict[str, Any], settings: Any
) -> None:
    settings.DATAIO_BATCH_SIZE = 2
    header = ["Order No", "Company", "SKU", "Qty"]
    rows = [
        ["A-1", "acme gmbh", "PUMP-1", "1"], ["A-1", "Acme GmbH", "HOSE-2", "2"],
        ["A-1", "ACME GMBH", "HOSE-2", "1.5"], ["A-2", "Acme GmbH", "PUMP-1", "1"],
    ]  # fmt: skip
    job = run(admin, csv_bytes([header, *rows]), entity="orders")
    assert (job.created, job.invalid) == (4, 0)
    assert Order.objects.filter(company=shop["acme"]).count() == 2
    assert Order.objects.get(lines__quantity=Decimal("1.5")).lines.count() == 3


def test_an_order_number_repeated_after_other_orders_is_refused(
    admin: User, shop: dict[str, Any], settings: Any
) -> None:
    settings.DATAIO_BATCH_SIZE = 1
    job = run(admin, csv_bytes([HEADER, ROWS[0], ROWS[2], ROWS[1]]), entity="orders")
    assert (job.created, job.invalid) == (2, 1)
    error = job.row_errors.get()
    assert (error.row_number, error.column) == (4, "Order Number")
    assert "already in row 2" in error.reason
    assert Order.objects.get(contact=shop["ann"]).lines.count() == 1


def test_rows_of_one_order_naming_different_customers_are_refused(
    admin: User, shop: dict[str, Any]
) -> None:
    rows = [ROWS[0], ["PO-1", "bob@example.com", "2026-03-01", "HOSE-2", "1", "", "placed"]]
    job = run(admin, csv_bytes([HEADER, *rows]), entity="orders")
    assert (job.created, job.invalid) == (0, 2)
    assert "the order's other rows say 'ann@example.com'" in " ".join(
        job.row_errors.values_list("reason", flat=True)
    )
    assert not Order.objects.exists()


def test_mapping_needs_order_number_sku_quantity_and_a_customer(admin: User) -> None:
    from django.core.exceptions import ValidationError

    from tests.dataio.helpers import upload

    job = upload(admin, csv_bytes([["Order Number", "SKU"], ["1", "X"]]), entity="orders")
    with pytest.raises(ValidationError, match="order number, the product SKU and the quantity"):
        services.set_mapping(admin, job, job.columns, match_on=job.match_on)


@pytest.mark.parametrize("role", ["sales", "manager", "read_only"])
def test_only_admins_import_orders(role: str, user_of_role: Any) -> None:
    from django.core.exceptions import PermissionDenied

    from tests.dataio.helpers import upload

    with pytest.raises(PermissionDenied):
        upload(user_of_role(role), csv_bytes([HEADER, *ROWS]), entity="orders")


def test_the_upload_page_offers_orders(client_for: Any, admin: User) -> None:
    client: Client = client_for(admin)
    page = client.get("/data/")
    assert page.status_code == 200
    assert 'value="orders"' in page.content.decode()


def test_the_command_imports_orders_dry_run_first(
    admin: User, shop: dict[str, Any], tmp_path: Any
) -> None:
    import io

    from django.core.management import call_command

    from tests.dataio.helpers import write

    path = write(tmp_path, "orders.csv", csv_bytes([HEADER, *ROWS]))
    out = io.StringIO()
    call_command("import", str(path), "--entity", "orders", "--dry-run", stdout=out)
    assert not Order.objects.exists()
    call_command("import", str(path), "--entity", "orders", stdout=out)
    assert Order.objects.count() == 2
    call_command("import", str(path), "--entity", "orders", stdout=out)
    assert Order.objects.count() == 2
