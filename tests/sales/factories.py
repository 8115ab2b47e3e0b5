"""Builders for deals, all through rapport.sales.services."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from rapport.catalog.models import Product
from rapport.customers.models import Company, Contact
from rapport.sales import services
from rapport.sales.choices import StageKind
from rapport.sales.models import Deal, Stage
from rapport.users.models import User


def stage(kind: str = StageKind.OPEN, position: int = 0) -> Stage:
    """A stage of the default pipeline: the ``position``-th of its kind."""
    stages = services.default_pipeline().stages.filter(kind=kind).order_by("position")
    return list(stages)[position]


def make_deal(
    actor: User | None = None,
    *,
    name: str = "Boiler replacement",
    contact: Contact | None = None,
    company: Company | None = None,
    amount: Decimal | str | None = "1000.00",
    lines: Sequence[tuple[Product, str | int]] = (),
    expected_close: date | None = None,
    currency: str = "EUR",
    **extra: Any,
) -> Deal:
    return services.create_deal(
        actor,
        services.DealInput(
            name=name,
            expected_close=expected_close or timezone.localdate() + timedelta(days=30),
            contact=contact,
            company=company,
            amount=Decimal(amount) if amount is not None and not lines else None,
            currency=currency,
            lines=[services.LineInput(product, Decimal(quantity)) for product, quantity in lines],
            **extra,
        ),
    )
