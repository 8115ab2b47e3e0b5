"""The orders, deliveries and assets API: nested lines, actions, ETags, filters, errors."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from rapport.catalog.models import Product
from rapport.customers.models import Contact
from rapport.interactions.models import Interaction
from rapport.trading.models import Asset, Order
from rapport.users.models import User
from tests.catalog.factories import make_product, make_rate
from tests.customers.factories import make_company, make_contact
from tests.trading.factories import make_order

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders"


def error(response: Any, status: int) -> dict[str, list[str]]:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"detail", "errors"}
    assert body["detail"]
    errors: dict[str, list[str]] = body["errors"]
    return errors


@pytest.fixture
def boiler(admin: User) -> Product:
    return make_product(
        admin, sku="BOIL", name="Boiler", unit_price="1999.99", service_interval_days=365
    )


@pytest.fixture
def buyer(sales: User) -> Contact:
    return make_contact(sales, first_name="Ann", last_name="Buyer", owner=sales)


def test_create_an_order_with_nested_lines(
    sales: User, api_for: Any, buyer: Contact, boiler: Product
) -> None:
    make_rate("USD", "0.5", date(2026, 1, 1))
    response = api_for(sales).post(
        ORDERS,
        {
            "contact": buyer.pk,
            "currency": "usd",
            "order_date": "2026-02-01",
            "lines": [
                {"product": boiler.pk, "quantity": "2", "discount_percent": "10"},
                {"product": boiler.pk, "quantity": "0.5", "unit_price": "100.00",
                 "description": "Half a spare"},
            ],
        },
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    body = response.json()
    order = Order.objects.get()
    assert response["ETag"] == f'"{order.pk}-1"'
    assert body["number"] == "2026-000001"
    assert body["status"] == "placed"
    assert body["currency"] == "USD"
    # 1999.99 EUR at 0.5 EUR per USD = 3999.98 USD; 2 of them less 10 %, plus 50.00
    assert [line["unit_price"] for line in body["lines"]] == ["3999.98", "100.00"]
    assert body["subtotal"] == "8049.96"
    assert body["discount"] == "800.00"  # 7999.96 x 10 % = 799.996
    assert body["total"] == "7249.96"
    assert body["total_base"] == "3624.98"
    assert body["lines"][1]["description"] == "Half a spare"
    assert body["owner"] == sales.pk


def test_create_errors_name_the_field(
    sales: User, api_for: Any, buyer: Contact, boiler: Product
) -> None:
    api = api_for(sales)
    errors = error(api.post(ORDERS, {"contact": buyer.pk, "lines": []}, format="json"), 400)
    assert "lines" in errors
    errors = error(
        api.post(
            ORDERS,
            {"contact": buyer.pk, "currency": "CHF",
             "lines": [{"product": boiler.pk, "quantity": "1"}]},
            format="json",
        ),
        400,
    )  # fmt: skip
    assert "No exchange rate for CHF" in errors["currency"][0]
    errors = error(
        api.post(ORDERS, {"lines": [{"product": boiler.pk, "quantity": "1"}]}, format="json"), 400
    )
    assert "contact" in errors
    errors = error(
        api.post(
            ORDERS,
            {"contact": buyer.pk, "lines": [{"product": 999999, "quantity": "1"}]},
            format="json",
        ),
        400,
    )
    assert "lines" in errors


def test_patch_replaces_lines_with_if_match(
    sales: User, api_for: Any, buyer: Contact, boiler: Product
) -> None:
    api = api_for(sales)
    order = make_order(sales, contact=buyer, lines=[(boiler, 1)])
    read = api.get(f"{ORDERS}/{order.pk}")
    etag = read["ETag"]
    changed = api.patch(
        f"{ORDERS}/{order.pk}",
        {"notes": "Rush", "lines": [{"product": boiler.pk, "quantity": "3"}]},
        format="json",
        HTTP_IF_MATCH=etag,
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["total"] == "5999.97"
    assert changed.json()["notes"] == "Rush"
    stale = api.patch(f"{ORDERS}/{order.pk}", {"notes": "Late"}, format="json", HTTP_IF_MATCH=etag)
    error(stale, 412)
    assert api.get(f"{ORDERS}/{order.pk}", HTTP_IF_NONE_MATCH=changed["ETag"]).status_code == 304


def test_status_actions_and_their_errors(
    sales: User, api_for: Any, buyer: Contact, boiler: Product
) -> None:
    api = api_for(sales)
    order = make_order(sales, contact=buyer, lines=[(boiler, 2)], status="quote")
    errors = error(api.post(f"{ORDERS}/{order.pk}/status", {"status": "delivered"}), 400)
    assert "can become cancelled, placed" in errors["status"][0]
    error(api.post(f"{ORDERS}/{order.pk}/status", {"status": "shipped"}), 400)
    assert api.post(f"{ORDERS}/{order.pk}/status", {"status": "placed"}).status_code == 200
    delivered = api.post(
        f"{ORDERS}/{order.pk}/status",
        {"status": "delivered", "on": str(timezone.localdate() - timedelta(days=1))},
    )
    assert delivered.status_code == 200, delivered.content
    assert delivered.json()["status"] == "delivered"
    buyer.refresh_from_db()
    assert buyer.lifecycle_stage == "customer"
    units = api.get(f"/api/v1/assets?contact={buyer.pk}").json()["results"]
    assert len(units) == 2
    assert units[0]["product_name"] == "Boiler"
    error(api.delete(f"{ORDERS}/{order.pk}"), 400)


def test_ship_confirm_and_fail_deliveries(
    sales: User, api_for: Any, buyer: Contact, boiler: Product
) -> None:
    api = api_for(sales)
    order = make_order(sales, contact=buyer, lines=[(boiler, 1)])
    first = api.post(f"{ORDERS}/{order.pk}/ship", {"carrier": "DHL", "tracking": "T1"})
    assert first.status_code == 201, first.content
    failed = api.post(f"/api/v1/deliveries/{first.json()['id']}/fail", {"notes": "Refused"})
    assert failed.json()["status"] == "failed"
    second = api.post(f"{ORDERS}/{order.pk}/ship", {"carrier": "UPS"}).json()
    listed = api.get(f"/api/v1/deliveries?order={order.pk}").json()["results"]
    assert {row["status"] for row in listed} == {"failed", "shipped"}
    confirmed = api.post(f"/api/v1/deliveries/{second['id']}/confirm", {})
    assert confirmed.status_code == 200
    detail = api.get(f"{ORDERS}/{order.pk}").json()
    assert detail["status"] == "delivered"
    assert {row["carrier"] for row in detail["deliveries"]} == {"DHL", "UPS"}
    error(api.post(f"/api/v1/deliveries/{second['id']}/confirm", {}), 400)


def test_order_filters_and_keyset_pages(
    sales: User, api_for: Any, buyer: Contact, boiler: Product
) -> None:
    api = api_for(sales)
    company = make_company(sales, name="Acme", owner=sales)
    for day in range(1, 8):
        make_order(sales, contact=buyer, lines=[(boiler, 1)], order_date=date(2026, 1, day))
    make_order(sales, company=company, lines=[(boiler, 1)], order_date=date(2025, 5, 1))
    seen: list[str] = []
    url: str | None = f"{ORDERS}?limit=3&ordering=order_date"
    while url:
        page = api.get(url).json()
        seen += [row["order_date"] for row in page["results"]]
        url = page["next"]
    assert seen == sorted(seen)
    assert len(seen) == 8
    assert len(api.get(f"{ORDERS}?company={company.pk}").json()["results"]) == 1
    assert len(api.get(f"{ORDERS}?ordered_from=2026-01-05").json()["results"]) == 3
    assert len(api.get(f"{ORDERS}?q=Acme").json()["results"]) == 1
    assert len(api.get(f"{ORDERS}?status=paid").json()["results"]) == 0
    assert len(api.get(f"{ORDERS}?product={boiler.pk}").json()["results"]) == 8
    error(api.get(f"{ORDERS}?ordering=notes"), 400)


def test_assets_create_edit_record_service(
    service_user: User, api_for: Any, buyer: Contact, boiler: Product
) -> None:
    api = api_for(service_user)
    created = api.post(
        "/api/v1/assets",
        {"product": boiler.pk, "contact": buyer.pk, "bought_on": "2025-01-10", "serial": "X1"},
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["next_service_due"] == "2026-01-10"
    asset_url = f"/api/v1/assets/{body['id']}"
    patched = api.patch(asset_url, {"installed_on": "2025-02-01"}, HTTP_IF_MATCH=created["ETag"])
    assert patched.status_code == 200, patched.content
    assert patched.json()["next_service_due"] == "2026-02-01"
    served = api.post(f"{asset_url}/record-service", {"on": "2025-09-01", "notes": "All good"})
    assert served.status_code == 200, served.content
    assert served.json()["last_serviced_on"] == "2025-09-01"
    assert served.json()["next_service_due"] == "2026-09-01"
    assert Interaction.objects.filter(kind="maintenance", contact=buyer).count() == 1
    due = api.get("/api/v1/assets?due_before=2026-12-31").json()["results"]
    assert [row["id"] for row in due] == [body["id"]]
    assert api.get("/api/v1/assets?due=none").json()["results"] == []
    assert api.delete(asset_url).status_code == 204
    assert Asset.objects.trashed().count() == 1


def test_money_is_decimal_text_in_responses(
    sales: User, api_for: Any, buyer: Contact, boiler: Product
) -> None:
    order = make_order(sales, contact=buyer, lines=[(boiler, 1)])
    body = api_for(sales).get(f"{ORDERS}/{order.pk}").json()
    for name in ("subtotal", "discount", "total", "total_base"):
        assert isinstance(body[name], str)
        Decimal(body[name])
