"""Products and exchange rates: validation, Decimal money, the one conversion function."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from rapport.catalog import rates, services
from rapport.catalog.models import ExchangeRate, Product
from rapport.users.models import User
from tests.catalog.factories import make_product, make_rate

pytestmark = pytest.mark.django_db


def test_create_product_cleans_and_records_history(manager: User) -> None:
    product = make_product(
        manager, sku=" boil-24 ", name=" Boiler 24 kW ", unit_price="2499.90", currency="eur",
        service_interval_days=365, warranty_months=24, category="Heating",
    )  # fmt: skip

    assert product.sku == "BOIL-24"
    assert product.name == "Boiler 24 kW"
    assert product.currency == "EUR"
    assert product.unit_price == Decimal("2499.90")
    assert product.created_by == manager
    assert product.history.get().history_user == manager


def test_currency_defaults_to_the_base_currency(settings: object) -> None:
    product = make_product(currency="")
    assert product.currency == "EUR"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("unit_price", Decimal("-1"), "negative"),
        ("unit_price", Decimal("1.005"), "whole cents"),
        ("unit_price", 9.99, "not float"),
        ("unit_price", "abc", "not a number"),
        ("currency", "EURO", "ISO 4217"),
        ("kind", "gadget", "Use one of"),
        ("service_interval_days", 0, "at least 1"),
    ],
)
def test_invalid_products_are_refused_with_the_field(
    field: str, value: object, message: str
) -> None:
    data = services.ProductInput(sku="X-1", name="X", unit_price=Decimal("1.00"), currency="EUR")
    setattr(data, field, value)
    with pytest.raises(ValidationError) as caught:
        services.create_product(None, data)
    assert message in " ".join(caught.value.message_dict[field])
    assert not Product.objects.exists()


def test_a_service_has_no_service_interval() -> None:
    with pytest.raises(ValidationError) as caught:
        make_product(kind="service", service_interval_days=30)
    assert "service_interval_days" in caught.value.message_dict


def test_sku_is_unique_even_against_the_trash(manager: User) -> None:
    first = make_product(manager, sku="FLT-1", name="Filter")
    services.trash_product(manager, first)
    with pytest.raises(ValidationError) as caught:
        make_product(manager, sku="flt-1")
    assert "Filter (in the trash)" in caught.value.message_dict["sku"][0]


def test_update_product_with_version_check_and_related(manager: User) -> None:
    boiler = make_product(manager, name="Boiler")
    filter_ = make_product(manager, name="Filter")
    successor = make_product(manager, name="Boiler 2")

    services.update_product(
        manager,
        boiler,
        {"unit_price": Decimal("10.50"), "upgrade_to": successor, "related": [filter_]},
        expected_version=boiler.version,
    )

    boiler.refresh_from_db()
    assert boiler.unit_price == Decimal("10.50")
    assert boiler.upgrade_to == successor
    assert list(filter_.related.all()) == [boiler]  # complementary both ways
    with pytest.raises(ValidationError):
        services.update_product(manager, boiler, {"upgrade_to": boiler})
    with pytest.raises(ValidationError):
        services.update_product(manager, boiler, {"sku": filter_.sku})


def test_only_admins_and_managers_change_the_catalog(
    sales: User, service_user: User, admin: User, manager: User
) -> None:
    product = make_product(admin)
    for user in (sales, service_user):
        with pytest.raises(PermissionDenied):
            make_product(user)
        with pytest.raises(PermissionDenied):
            services.update_product(user, product, {"name": "Mine"})
        with pytest.raises(PermissionDenied):
            services.set_exchange_rate(
                user, currency="USD", rate="0.9", valid_from=date(2026, 1, 1)
            )
    services.update_product(manager, product, {"name": "Ours"})


# --- money and rates ---------------------------------------------------------------------


def test_money_rounds_half_up_to_cents_and_refuses_float() -> None:
    assert rates.money(Decimal("0.005")) == Decimal("0.01")
    assert rates.money(Decimal("2.675")) == Decimal("2.68")  # float would give 2.67
    assert rates.money(Decimal("-0.005")) == Decimal("-0.01")
    with pytest.raises(TypeError):
        rates.money(2.675)  # type: ignore[arg-type]


def test_the_latest_rate_on_or_before_the_day_is_used() -> None:
    make_rate("USD", "0.90", date(2026, 1, 1))
    make_rate("USD", "0.95", date(2026, 3, 1))

    assert rates.rate_on("USD", date(2026, 2, 28)) == Decimal("0.90")
    assert rates.rate_on("usd", date(2026, 3, 1)) == Decimal("0.95")
    assert rates.to_base(Decimal("100.00"), "USD", date(2026, 6, 1)) == Decimal("95.00")
    assert rates.to_base(Decimal("10.01"), "USD", date(2026, 1, 5)) == Decimal("9.01")


def test_the_base_currency_needs_no_rate() -> None:
    assert rates.to_base(Decimal("12.345"), "EUR", date(2000, 1, 1)) == Decimal("12.35")


def test_a_missing_rate_says_which_to_add() -> None:
    make_rate("USD", "0.90", date(2026, 1, 1))
    with pytest.raises(rates.NoExchangeRate) as caught:
        rates.to_base(Decimal("1"), "USD", date(2025, 12, 31))
    message = caught.value.message_dict["currency"][0]
    assert "No exchange rate for USD on or before 2025-12-31" in message
    assert "1 USD = ? EUR" in message
    with pytest.raises(rates.NoExchangeRate):
        rates.rate_on("GBP", date(2026, 6, 1))


def test_convert_goes_through_the_base_currency() -> None:
    make_rate("USD", "0.80", date(2026, 1, 1))
    make_rate("GBP", "1.20", date(2026, 1, 1))
    on = date(2026, 2, 1)
    assert rates.convert(Decimal("100.00"), "USD", "EUR", on) == Decimal("80.00")
    assert rates.convert(Decimal("100.00"), "EUR", "USD", on) == Decimal("125.00")
    assert rates.convert(Decimal("120.00"), "USD", "GBP", on) == Decimal("80.00")


def test_setting_the_same_day_again_corrects_the_rate(manager: User) -> None:
    day = date(2026, 1, 1)
    first = services.set_exchange_rate(manager, currency="usd", rate="0.9", valid_from=day)
    again = services.set_exchange_rate(manager, currency="USD", rate="0.91", valid_from=day)
    assert again.pk == first.pk
    assert ExchangeRate.objects.get().rate == Decimal("0.91")
    assert again.history.count() == 2


@pytest.mark.parametrize(
    ("currency", "rate"), [("EUR", "1"), ("USD", "0"), ("USD", "-1"), ("US", "1"), ("USD", "x")]
)
def test_invalid_rates_are_refused(currency: str, rate: str) -> None:
    with pytest.raises(ValidationError):
        services.set_exchange_rate(None, currency=currency, rate=rate, valid_from=date(2026, 1, 1))
