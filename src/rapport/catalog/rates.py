"""The one conversion of money to the base currency: Decimal, latest rate on or before a date."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError

CENT = Decimal("0.01")


class NoExchangeRate(ValidationError):
    """There is no rate for the currency on or before the date; say which to add."""

    def __init__(self, currency: str, on: date) -> None:
        self.currency = currency
        self.on = on
        super().__init__(
            {
                "currency": [
                    f"No exchange rate for {currency} on or before {on.isoformat()}; "
                    f"add one (1 {currency} = ? {settings.BASE_CURRENCY}) under exchange rates."
                ]
            }
        )


def money(amount: Decimal) -> Decimal:
    """Round to cents, half up (how invoices round), never through float."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"Money must be Decimal, not {type(amount).__name__}")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def rate_on(currency: str, on: date) -> Decimal:
    """What one unit of ``currency`` was worth in the base currency on ``on``."""
    from rapport.catalog.models import ExchangeRate

    currency = currency.upper()
    if currency == settings.BASE_CURRENCY:
        return Decimal(1)
    rate = (
        ExchangeRate.objects.filter(currency=currency, valid_from__lte=on)
        .order_by("-valid_from")
        .values_list("rate", flat=True)
        .first()
    )
    if rate is None:
        raise NoExchangeRate(currency, on)
    return rate


def to_base(amount: Decimal, currency: str, on: date) -> Decimal:
    """``amount`` of ``currency`` in the base currency at the rate of ``on``, in cents."""
    return money(amount * rate_on(currency, on))


def convert(amount: Decimal, from_currency: str, to_currency: str, on: date) -> Decimal:
    """Between two currencies through the base currency (e.g. a USD price on a EUR order)."""
    if from_currency.upper() == to_currency.upper():
        return money(amount)
    return money(amount * rate_on(from_currency, on) / rate_on(to_currency, on))
