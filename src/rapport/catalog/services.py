"""The only write path for products and exchange rates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from rapport.catalog.choices import ProductKind
from rapport.catalog.models import ExchangeRate, Product
from rapport.core.permissions import Action, authorise, authorise_restore
from rapport.core.services import create_record, move_to_trash, restore, save_changes
from rapport.users.models import User

PRODUCT_FIELDS = frozenset(
    {
        "sku", "name", "category", "description", "kind", "unit_price", "currency", "active",
        "service_interval_days", "warranty_months", "renewal_months", "upgrade_to",
    }
)  # fmt: skip


@dataclass
class ProductInput:
    sku: str
    name: str
    unit_price: Decimal
    currency: str = ""
    category: str = ""
    description: str = ""
    kind: str = ProductKind.PRODUCT
    active: bool = True
    service_interval_days: int | None = None
    warranty_months: int | None = None
    renewal_months: int | None = None
    upgrade_to: Product | None = None
    related: Sequence[Product] = ()


def create_product(actor: User | None, data: ProductInput, *, reason: str = "Created") -> Product:
    authorise(actor, Action.ADD, Product)
    values = _clean_product(
        {
            "sku": data.sku,
            "name": data.name,
            "unit_price": data.unit_price,
            "currency": data.currency,
            "category": data.category,
            "description": data.description,
            "kind": data.kind,
            "active": data.active,
            "service_interval_days": data.service_interval_days,
            "warranty_months": data.warranty_months,
            "renewal_months": data.renewal_months,
            "upgrade_to": data.upgrade_to,
        }
    )
    product = Product(**values)
    with transaction.atomic():
        _refuse_duplicate_sku(product.sku)
        create_record(product, actor=actor, reason=reason)
        if data.related:
            set_related(actor, product, data.related)
    return product


def update_product(
    actor: User | None,
    product: Product,
    changes: Mapping[str, Any],
    *,
    expected_version: int | None = None,
) -> Product:
    """Change a product; a new service interval moves every owner's next service date."""
    authorise(actor, Action.CHANGE, product)
    unknown = set(changes) - PRODUCT_FIELDS - {"related"}
    if unknown:
        raise ValidationError({name: ["This field cannot be changed here."] for name in unknown})
    related = changes.get("related")
    values = _clean_product(
        {k: v for k, v in changes.items() if k != "related"}, current=product, partial=True
    )
    if values.get("upgrade_to") is not None and values["upgrade_to"].pk == product.pk:
        raise ValidationError({"upgrade_to": ["A product cannot be its own upgrade."]})
    interval_changed = (
        "service_interval_days" in values
        and values["service_interval_days"] != product.service_interval_days
    )
    with transaction.atomic():
        if "sku" in values and values["sku"] != product.sku:
            _refuse_duplicate_sku(values["sku"], exclude=product.pk)
        save_changes(product, values, actor=actor, expected_version=expected_version)
        if related is not None:
            set_related(actor, product, related)
        if interval_changed:
            # Imported here: trading builds on the catalog, not the other way round.
            from rapport.trading.services import reschedule_service_for_product

            reschedule_service_for_product(actor, product)
    return product


def set_related(actor: User | None, product: Product, related: Sequence[Product]) -> None:
    """Complementary products (both ways: a filter complements its boiler and vice versa)."""
    authorise(actor, Action.CHANGE, product)
    if any(other.pk == product.pk for other in related):
        raise ValidationError({"related": ["A product is not related to itself."]})
    product.related.set(related)


def trash_product(
    actor: User | None, product: Product, *, expected_version: int | None = None
) -> Product:
    """Trashed products leave the catalog; orders and assets that name them keep them."""
    authorise(actor, Action.DELETE, product)
    return move_to_trash(product, actor=actor, expected_version=expected_version)


def restore_product(actor: User | None, product: Product) -> Product:
    authorise_restore(actor)
    return restore(product, actor=actor)


# --- exchange rates ------------------------------------------------------------------


def set_exchange_rate(
    actor: User | None, *, currency: str, rate: Decimal | str, valid_from: date
) -> ExchangeRate:
    """Add the rate of ``currency`` from ``valid_from`` (or correct the one of that day)."""
    authorise(actor, Action.ADD, ExchangeRate)
    code = clean_currency(currency, required=True)
    if code == settings.BASE_CURRENCY:
        raise ValidationError({"currency": [f"{code} is the base currency; its rate is always 1."]})
    value = _decimal(rate, "rate")
    if value <= 0:
        raise ValidationError({"rate": ["A rate is more than 0."]})
    with transaction.atomic():
        existing = ExchangeRate.objects.filter(currency=code, valid_from=valid_from).first()
        if existing is not None:
            authorise(actor, Action.CHANGE, existing)
            return save_changes(existing, {"rate": value}, actor=actor, reason="Rate corrected")
        return create_record(
            ExchangeRate(currency=code, rate=value, valid_from=valid_from), actor=actor
        )


def update_exchange_rate(
    actor: User | None,
    rate: ExchangeRate,
    changes: Mapping[str, Any],
    *,
    expected_version: int | None = None,
) -> ExchangeRate:
    """Correct a rate. Stored order totals keep the rate they were computed with."""
    authorise(actor, Action.CHANGE, rate)
    unknown = set(changes) - {"rate", "valid_from"}
    if unknown:
        raise ValidationError({name: ["This field cannot be changed here."] for name in unknown})
    values = dict(changes)
    if "rate" in values:
        values["rate"] = _decimal(values["rate"], "rate")
        if values["rate"] <= 0:
            raise ValidationError({"rate": ["A rate is more than 0."]})
    with transaction.atomic():
        day = values.get("valid_from", rate.valid_from)
        clash = ExchangeRate.objects.filter(currency=rate.currency, valid_from=day)
        if clash.exclude(pk=rate.pk).exists():
            raise ValidationError({"valid_from": [f"{rate.currency} already has a rate on {day}."]})
        return save_changes(rate, values, actor=actor, expected_version=expected_version)


def delete_exchange_rate(actor: User | None, rate: ExchangeRate) -> None:
    """Rates are reference data, not customer records: deleted for real (history keeps it)."""
    authorise(actor, Action.DELETE, rate)
    rate._history_user = actor  # type: ignore[attr-defined]
    rate.delete()


# --- helpers -------------------------------------------------------------------------


def clean_currency(code: str, *, required: bool = False) -> str:
    """An ISO 4217 code in capitals; empty means the base currency when one is required."""
    code = (code or "").strip().upper()
    if not code:
        return settings.BASE_CURRENCY if required else ""
    if len(code) != 3 or not code.isalpha() or not code.isascii():
        raise ValidationError(
            {"currency": [f"{code!r} is not an ISO 4217 currency code like EUR."]}
        )
    return code


def _decimal(value: Any, field_name: str) -> Decimal:
    """A Decimal from a Decimal, int or text; floats are refused (they are not exact)."""
    if isinstance(value, float):
        raise ValidationError({field_name: ["Give amounts as text or Decimal, not float."]})
    try:
        result = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError({field_name: [f"{value!r} is not a number."]}) from None
    if not result.is_finite():
        raise ValidationError({field_name: [f"{value!r} is not a number."]})
    return result


def _clean_product(
    values: Mapping[str, Any], *, current: Product | None = None, partial: bool = False
) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, value in values.items():
        if isinstance(value, str) and name != "description":
            value = value.strip()
        cleaned[name] = value
    if "sku" in cleaned:
        cleaned["sku"] = cleaned["sku"].upper()
        if not cleaned["sku"]:
            errors["sku"] = ["A product needs a SKU."]
    if "name" in cleaned and not cleaned["name"]:
        errors["name"] = ["A product needs a name."]
    if "kind" in cleaned and cleaned["kind"] not in ProductKind.values:
        errors["kind"] = [f"Use one of {', '.join(ProductKind.values)}."]
    if "unit_price" in cleaned:
        try:
            price = _decimal(cleaned["unit_price"], "unit_price")
        except ValidationError as error:
            errors.update(error.message_dict)
        else:
            if price < 0:
                errors["unit_price"] = ["A price cannot be negative."]
            elif price != price.quantize(Decimal("0.01")):
                errors["unit_price"] = ["Prices are in whole cents."]
            cleaned["unit_price"] = price
    if "currency" in cleaned or not partial:
        try:
            cleaned["currency"] = clean_currency(cleaned.get("currency", ""), required=True)
        except ValidationError as error:
            errors.update(error.message_dict)
    for name in ("service_interval_days", "warranty_months", "renewal_months"):
        if name in cleaned:
            value = cleaned[name]
            if value in ("", None):
                cleaned[name] = None
            elif not isinstance(value, int) or value < 1:
                errors[name] = ["A whole number of at least 1, or empty."]
    kind = cleaned.get("kind", current.kind if current else ProductKind.PRODUCT)
    interval = cleaned.get(
        "service_interval_days", current.service_interval_days if current else None
    )
    if kind == ProductKind.SERVICE and interval:
        errors["service_interval_days"] = ["Services are not serviced; leave the interval empty."]
    renewal = cleaned.get("renewal_months", current.renewal_months if current else None)
    if kind == ProductKind.SERVICE and renewal:
        # Renewal dates live on units of the installed base, which services do not leave.
        errors["renewal_months"] = [
            "Services leave no unit to renew; sell the contract as a product, or leave it empty."
        ]
    upgrade = cleaned.get("upgrade_to")
    if upgrade is not None and upgrade.deleted_at is not None:
        errors["upgrade_to"] = [f"{upgrade} is in the trash."]
    if errors:
        raise ValidationError(errors)
    return cleaned


def _refuse_duplicate_sku(sku: str, *, exclude: int | None = None) -> None:
    clashes = Product.objects.filter(sku=sku)
    if exclude is not None:
        clashes = clashes.exclude(pk=exclude)
    clash = clashes.first()
    if clash is not None:
        where = " (in the trash)" if clash.deleted_at else ""
        raise ValidationError({"sku": [f"SKU {sku} is already used by {clash.name}{where}."]})
