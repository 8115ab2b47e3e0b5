"""The products and exchange-rates API."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.catalog.models import Product
from rapport.users.models import User
from tests.catalog.factories import make_product

pytestmark = pytest.mark.django_db


def test_create_read_update_trash_restore_a_product(admin: User, api_for: Any) -> None:
    api = api_for(admin)
    filter_ = make_product(admin, sku="FLT", name="Filter")
    created = api.post(
        "/api/v1/products",
        {
            "sku": "boil-24", "name": "Boiler", "unit_price": "2499.90", "currency": "eur",
            "service_interval_days": 365, "warranty_months": 24, "related": [filter_.pk],
        },
        format="json",
    )  # fmt: skip
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["sku"] == "BOIL-24"
    assert body["unit_price"] == "2499.90"
    assert body["related"] == [filter_.pk]
    url = f"/api/v1/products/{body['id']}"
    changed = api.patch(url, {"unit_price": "2399.00"}, HTTP_IF_MATCH=created["ETag"])
    assert changed.status_code == 200
    assert api.patch(url, {"name": "x"}, HTTP_IF_MATCH=created["ETag"]).status_code == 412
    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404
    assert [row["sku"] for row in api.get("/api/v1/products/trash").json()["results"]] == [
        "BOIL-24"
    ]
    assert api.post(f"{url}/restore").status_code == 200
    assert Product.objects.live().count() == 2


def test_product_errors_and_filters(admin: User, api_for: Any) -> None:
    api = api_for(admin)
    make_product(admin, sku="A1", name="Alpha", unit_price="10.00", service_interval_days=90)
    make_product(admin, sku="B1", name="Beta", unit_price="20.00", kind="service")
    bad = api.post("/api/v1/products", {"sku": "A1", "name": "Dup", "unit_price": "1"})
    assert bad.status_code == 400
    assert "sku" in bad.json()["errors"]
    bad = api.post("/api/v1/products", {"sku": "C", "name": "C", "unit_price": "1", "kind": "x"})
    assert "kind" in bad.json()["errors"]
    rows = api.get("/api/v1/products?kind=service").json()["results"]
    assert [row["sku"] for row in rows] == ["B1"]
    rows = api.get("/api/v1/products?serviced=true").json()["results"]
    assert [row["sku"] for row in rows] == ["A1"]
    rows = api.get("/api/v1/products?ordering=-unit_price").json()["results"]
    assert [row["sku"] for row in rows] == ["B1", "A1"]


def test_exchange_rates(manager: User, api_for: Any) -> None:
    api = api_for(manager)
    created = api.post(
        "/api/v1/exchange-rates", {"currency": "usd", "rate": "0.91", "valid_from": "2026-01-01"}
    )
    assert created.status_code == 201, created.content
    assert created.json()["currency"] == "USD"
    again = api.post(
        "/api/v1/exchange-rates", {"currency": "USD", "rate": "0.92", "valid_from": "2026-01-01"}
    )
    assert again.json()["id"] == created.json()["id"]
    assert again.json()["rate"] == "0.92000000"
    base = api.post(
        "/api/v1/exchange-rates", {"currency": "EUR", "rate": "1", "valid_from": "2026-01-01"}
    )
    assert "base currency" in base.json()["errors"]["currency"][0]
    url = f"/api/v1/exchange-rates/{created.json()['id']}"
    assert api.patch(url, {"rate": "0.95"}).json()["rate"] == "0.95000000"
    assert api.get("/api/v1/exchange-rates?currency=usd").json()["results"][0]["rate"] == (
        "0.95000000"
    )
    assert api.delete(url).status_code == 204
