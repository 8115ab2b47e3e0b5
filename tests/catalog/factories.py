"""Builders for catalog records, all through rapport.catalog.services."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal
from typing import Any

from rapport.catalog import services
from rapport.catalog.models import ExchangeRate, Product
from rapport.users.models import User

_numbers = itertools.count(1)


def make_product(
    actor: User | None = None,
    *,
    sku: str | None = None,
    name: str | None = None,
    unit_price: Decimal | str = "100.00",
    currency: str = "EUR",
    **extra: Any,
) -> Product:
    number = next(_numbers)
    return services.create_product(
        actor,
        services.ProductInput(
            sku=sku or f"SKU-{number:04d}",
            name=name or f"Product {number}",
            unit_price=Decimal(unit_price),
            currency=currency,
            **extra,
        ),
    )


def make_rate(currency: str, rate: str, valid_from: date) -> ExchangeRate:
    return services.set_exchange_rate(
        None, currency=currency, rate=Decimal(rate), valid_from=valid_from
    )
