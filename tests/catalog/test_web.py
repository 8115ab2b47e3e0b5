"""Product pages: list with filters, sort and export; new and edit forms; exchange rates."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from rapport.catalog.models import ExchangeRate, Product
from rapport.users.models import User
from tests.catalog.factories import make_product

pytestmark = pytest.mark.django_db


def test_product_list_filters_sorts_and_exports(manager: User, client_for: Any) -> None:
    make_product(manager, sku="B", name="Boiler", unit_price="900.00", service_interval_days=365)
    make_product(manager, sku="F", name="Filter", unit_price="19.99", service_interval_days=180)
    make_product(manager, sku="I", name="Installation", unit_price="300.00", kind="service")
    web = client_for(manager)
    page = web.get("/products/?kind=service").content.decode()
    assert "Installation" in page
    assert "Boiler" not in page
    page = web.get("/products/?sort=-unit_price").content.decode()
    assert page.index("Boiler") < page.index("Installation") < page.index("Filter")
    export = web.get("/products/export.csv?serviced=true&cols=sku,unit_price&sort=sku")
    body = b"".join(export.streaming_content).decode()
    assert body.splitlines()[1:] == ["B,900.00", "F,19.99"]
    assert web.get("/products/count/?q=fil").content.decode() == "1 match"


def test_new_and_edit_product(manager: User, client_for: Any) -> None:
    web = client_for(manager)
    response = web.post(
        "/products/new/",
        {"sku": "boil", "name": "Boiler", "kind": "product", "unit_price": "1200.50",
         "currency": "", "active": "on", "service_interval_days": "365"},
    )  # fmt: skip
    product = Product.objects.get()
    assert response["Location"] == f"/products/{product.pk}/"
    assert product.currency == "EUR"
    duplicate = web.post(
        "/products/new/", {"sku": "BOIL", "name": "Again", "kind": "product", "unit_price": "1"}
    )
    assert "already used by Boiler" in duplicate.content.decode()
    web.post(
        f"/products/{product.pk}/edit/",
        {"sku": "BOIL", "name": "Boiler XL", "kind": "product", "unit_price": "1300.00",
         "currency": "EUR", "active": "on", "version": "1"},
    )  # fmt: skip
    product.refresh_from_db()
    assert product.name == "Boiler XL"
    assert product.unit_price == Decimal("1300.00")
    assert product.service_interval_days is None
    page = web.get(f"/products/{product.pk}/").content.decode()
    assert "Boiler XL" in page
    assert "History" in page


def test_exchange_rates_page(manager: User, read_only: User, client_for: Any) -> None:
    web = client_for(manager)
    web.post(
        "/products/exchange-rates/", {"currency": "usd", "rate": "0.9", "valid_from": "2026-01-01"}
    )
    assert ExchangeRate.objects.get().currency == "USD"
    reader = client_for(read_only)
    page = reader.get("/products/exchange-rates/").content.decode()
    assert "USD" in page
    assert "Add or correct" not in page
    assert (
        reader.post(
            "/products/exchange-rates/",
            {"currency": "GBP", "rate": "1.1", "valid_from": "2026-01-01"},
        ).status_code
        == 403
    )
