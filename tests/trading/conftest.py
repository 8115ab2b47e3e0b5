"""The customers' world with an order and a unit of the installed base per customer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from rapport.catalog.models import Product
from rapport.trading.models import Asset, Order
from rapport.users.models import User
from tests.catalog.factories import make_product
from tests.customers.conftest import World, north_colleague, world  # noqa: F401 - shared fixtures
from tests.trading.factories import make_asset, make_order


@dataclass
class Trade:
    world: World
    product: Product
    # By owner key of the customer ("sales", "north", "none", "south", "marketing").
    orders: dict[str, Order]
    company_orders: dict[str, Order]
    assets: dict[str, Asset]


@pytest.fixture
def trade(world: World, admin: User) -> Trade:  # noqa: F811 - the imported fixture
    product = make_product(
        admin, sku="BOIL-1", name="Boiler", unit_price="1000.00", service_interval_days=365
    )
    orders = {
        key: make_order(admin, contact=contact, lines=[(product, 1)], notes=f"order-{key}")
        for key, contact in world.contacts.items()
    }
    company_orders = {
        key: make_order(admin, company=company, lines=[(product, 2)], notes=f"company-{key}")
        for key, company in world.companies.items()
    }
    assets = {
        key: make_asset(
            admin, product=product, contact=contact, bought_on=date(2025, 1, 1), serial=f"SN-{key}"
        )
        for key, contact in world.contacts.items()
    }
    return Trade(world, product, orders, company_orders, assets)
