"""Everyone reads the catalog; only admins and managers change products and rates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from rapport.catalog.models import ExchangeRate, Product
from rapport.core.permissions import Role
from rapport.users.models import User
from tests.catalog.factories import make_product, make_rate

pytestmark = pytest.mark.django_db

ROLES = list(Role.values)
CHANGERS = {Role.ADMIN, Role.MANAGER}
EXPORTERS = {Role.ADMIN, Role.MANAGER, Role.SALES, Role.SERVICE, Role.MARKETING}


@pytest.fixture
def product(admin: User) -> Product:
    return make_product(admin, sku="LAMP", name="Desk lamp", unit_price="49.00")


@pytest.mark.parametrize("role", ROLES)
def test_everyone_reads_the_catalog(
    product: Product, user_of_role: Any, client_for: Any, api_for: Any, role: str
) -> None:
    make_rate("USD", "0.9", date(2026, 1, 1))
    user = user_of_role(role)
    web, api = client_for(user), api_for(user)
    assert "Desk lamp" in web.get("/products/").content.decode()
    assert web.get(f"/products/{product.pk}/").status_code == 200
    assert web.get("/products/exchange-rates/").status_code == 200
    assert api.get(f"/api/v1/products/{product.pk}").status_code == 200
    assert [row["sku"] for row in api.get("/api/v1/products").json()["results"]] == ["LAMP"]
    assert len(api.get("/api/v1/exchange-rates").json()["results"]) == 1
    export = web.get("/products/export.csv")
    assert export.status_code == (200 if role in EXPORTERS else 403)


@pytest.mark.parametrize("role", ROLES)
def test_only_admins_and_managers_change_the_catalog(
    product: Product, user_of_role: Any, client_for: Any, api_for: Any, role: str
) -> None:
    user = user_of_role(role)
    web, api = client_for(user), api_for(user)
    allowed = role in CHANGERS
    created = api.post(
        "/api/v1/products", {"sku": f"N-{role}", "name": "New", "unit_price": "1.00"}
    )
    assert created.status_code == (201 if allowed else 403), created.content
    patched = api.patch(f"/api/v1/products/{product.pk}", {"name": f"by {role}"})
    assert patched.status_code == (200 if allowed else 403)
    rate = api.post(
        "/api/v1/exchange-rates", {"currency": "USD", "rate": "0.9", "valid_from": "2026-01-01"}
    )
    assert rate.status_code == (201 if allowed else 403)
    assert web.get("/products/new/").status_code == (200 if allowed else 403)
    web.post(f"/products/{product.pk}/trash/")
    product.refresh_from_db()
    assert (product.name == f"by {role}") is allowed
    assert (product.deleted_at is not None) is allowed
    assert ExchangeRate.objects.exists() is allowed
    assert Product.objects.filter(sku=f"N-{role}".upper()).exists() is allowed
    if allowed:
        assert Decimal(created.json()["unit_price"]) == Decimal("1.00")
