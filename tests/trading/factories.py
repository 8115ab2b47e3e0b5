"""Builders for orders and assets, all through rapport.trading.services."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from rapport.catalog.models import Product
from rapport.customers.models import Company, Contact
from rapport.trading import services
from rapport.trading.choices import OrderStatus
from rapport.trading.models import Asset, Order
from rapport.users.models import User


def make_order(
    actor: User | None = None,
    *,
    contact: Contact | None = None,
    company: Company | None = None,
    lines: Sequence[tuple[Product, str | int]] = (),
    status: str = OrderStatus.PLACED,
    order_date: date | None = None,
    currency: str = "EUR",
    **extra: Any,
) -> Order:
    return services.create_order(
        actor,
        services.OrderInput(
            contact=contact,
            company=company,
            lines=[services.LineInput(product, Decimal(quantity)) for product, quantity in lines],
            status=status,
            order_date=order_date,
            currency=currency,
            **extra,
        ),
    )


def delivered_order(actor: User | None = None, *, on: date | None = None, **kwargs: Any) -> Order:
    order = make_order(actor, **kwargs)
    return services.change_status(actor, order, OrderStatus.DELIVERED, on=on)


def make_asset(
    actor: User | None = None,
    *,
    product: Product,
    contact: Contact | None = None,
    company: Company | None = None,
    bought_on: date,
    **extra: Any,
) -> Asset:
    return services.create_asset(
        actor,
        services.AssetInput(
            product=product, contact=contact, company=company, bought_on=bought_on, **extra
        ),
    )
