"""Order and installed-base pages cost the same number of queries for 3 rows as for 40."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.catalog.models import Product
from rapport.customers.models import Company, Contact
from rapport.trading import services
from rapport.trading.models import Asset, Order
from rapport.users.models import User
from tests.catalog.factories import make_product
from tests.customers.factories import make_company, make_contact
from tests.customers.test_query_counts import assert_same, queries_of
from tests.trading.factories import make_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def products(admin: User) -> list[Product]:
    return [
        make_product(admin, sku=f"P{n}", name=f"Product {n}", service_interval_days=100 + n)
        for n in range(4)
    ]


def add_orders(sales: User, products: list[Product], start: int, stop: int) -> None:
    """Orders of contacts (some with a company), every other one delivered (units), shipped."""
    for index in range(start, stop):
        company: Company | None = (
            make_company(sales, name=f"Firm {index}", owner=sales) if index % 2 else None
        )
        contact: Contact = make_contact(sales, first_name=f"Buyer{index}", owner=sales)
        order = make_order(
            sales, contact=contact, company=company, lines=[(p, 1) for p in products[:2]]
        )
        services.ship_order(sales, order, carrier="DHL")
        if index % 2:
            services.change_status(sales, order, "delivered")


@pytest.mark.parametrize(
    "url",
    [
        "/orders/",
        "/orders/?sort=-total_base&status=placed&status=delivered",
        "/orders/export.csv?cols=number,customer,owner,total",
        "/assets/",
        "/assets/?due=90&cols=product,serial,customer,next_service_due",
        "/assets/export.csv",
        "/products/",
        "/api/v1/orders?limit=100",
        "/api/v1/assets?limit=100",
        "/api/v1/deliveries?limit=100",
        "/api/v1/products?limit=100",
    ],
)
def test_list_queries_do_not_grow_with_rows(
    sales: User, products: list[Product], client_for: Any, api_for: Any, url: str
) -> None:
    client = api_for(sales) if url.startswith("/api/") else client_for(sales)
    add_orders(sales, products, 0, 3)
    small = queries_of(lambda: client.get(url))
    add_orders(sales, products, 3, 40)
    for n in range(4, 20):
        make_product(None, sku=f"Q{n}", name=f"More {n}")
    assert_same(small, queries_of(lambda: client.get(url)))


def _order_with(sales: User, products: list[Product], lines: int, shipments: int) -> Order:
    contact = make_contact(sales, owner=sales)
    company = make_company(sales, owner=sales)
    chosen = [(products[n % len(products)], 1 + n) for n in range(lines)]
    order = make_order(sales, contact=contact, company=company, lines=chosen)
    for _ in range(shipments):
        delivery = services.ship_order(sales, order, carrier="DHL")
        services.fail_delivery(sales, delivery, notes="Away")
    services.update_order(sales, order, {"notes": "Edited"})
    delivery = services.ship_order(sales, order)
    services.confirm_delivery(sales, delivery)
    return order


def test_order_detail_queries_do_not_grow_with_lines_deliveries_units(
    sales: User, products: list[Product], client_for: Any, api_for: Any
) -> None:
    web, api = client_for(sales), api_for(sales)
    few = _order_with(sales, products, lines=1, shipments=1)
    many = _order_with(sales, products, lines=6, shipments=5)
    assert Asset.objects.filter(order=many).count() > 10
    for url in ("/orders/{}/", "/api/v1/orders/{}"):
        client = api if url.startswith("/api/") else web
        small = queries_of(lambda url=url, client=client: client.get(url.format(few.pk)))
        large = queries_of(lambda url=url, client=client: client.get(url.format(many.pk)))
        assert_same(small, large)


def test_asset_and_product_detail_queries_are_fixed(
    sales: User, admin: User, products: list[Product], client_for: Any, api_for: Any
) -> None:
    web, api = client_for(sales), api_for(sales)
    add_orders(sales, products, 0, 3)
    unit = Asset.objects.order_by("id").first()
    assert unit is not None
    small = [
        queries_of(lambda: web.get(f"/assets/{unit.pk}/")),
        queries_of(lambda: api.get(f"/api/v1/assets/{unit.pk}")),
        queries_of(lambda: web.get(f"/products/{products[0].pk}/")),
    ]
    for other in products[1:]:
        from rapport.catalog import services as catalog_services

        catalog_services.update_product(admin, other, {"upgrade_to": products[0]})
    catalog_services.set_related(admin, products[0], products[1:])
    for n in range(5):
        services.record_service(sales, unit, unit.bought_on, f"visit {n}")
        services.update_asset(sales, unit, {"serial": f"S{n}"})
    add_orders(sales, products, 3, 20)
    large = [
        queries_of(lambda: web.get(f"/assets/{unit.pk}/")),
        queries_of(lambda: api.get(f"/api/v1/assets/{unit.pk}")),
        queries_of(lambda: web.get(f"/products/{products[0].pk}/")),
    ]
    for before, after in zip(small, large, strict=True):
        assert_same(before, after)


def test_customer_panels_cost_the_same_for_many_orders(
    sales: User, products: list[Product], client_for: Any
) -> None:
    web = client_for(sales)
    contact = make_contact(sales, owner=sales)
    company = make_company(sales, owner=sales)
    make_order(sales, contact=contact, company=company, lines=[(products[0], 1)])
    small_contact = queries_of(lambda: web.get(f"/contacts/{contact.pk}/"))
    small_company = queries_of(lambda: web.get(f"/companies/{company.pk}/"))
    for n in range(12):
        order = make_order(sales, contact=contact, company=company, lines=[(products[0], 2)])
        if n % 2:
            services.change_status(sales, order, "delivered")
    assert_same(small_contact, queries_of(lambda: web.get(f"/contacts/{contact.pk}/")))
    assert_same(small_company, queries_of(lambda: web.get(f"/companies/{company.pk}/")))
