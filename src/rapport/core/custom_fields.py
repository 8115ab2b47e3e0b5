"""Validation and conversion of custom field values (stored as JSON on records)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from rapport.core.models import CustomFieldDefinition, CustomFieldType

TRUE_TEXT = {"true", "yes", "1", "y", "on"}
FALSE_TEXT = {"false", "no", "0", "n", "off", ""}


def definitions(target: str) -> list[CustomFieldDefinition]:
    return list(CustomFieldDefinition.objects.filter(target=target, is_active=True))


def clean_values(
    target: str,
    values: Mapping[str, Any],
    *,
    current: Mapping[str, Any] | None = None,
    fields: list[CustomFieldDefinition] | None = None,
) -> dict[str, Any]:
    """Merge ``values`` into ``current`` after checking each against its definition.

    Returns the JSON to store. Unknown keys, wrong types and missing required
    values raise one ValidationError naming every bad field as
    ``custom_fields.<key>``.
    """
    fields = definitions(target) if fields is None else fields
    by_key = {field.key: field for field in fields}
    merged = dict(current or {})
    errors: dict[str, list[str]] = {}
    for key, raw in values.items():
        field = by_key.get(key)
        if field is None:
            errors[f"custom_fields.{key}"] = [f"There is no custom field {key!r} on {target}s."]
            continue
        try:
            value = convert(field, raw)
        except ValidationError as error:
            errors[f"custom_fields.{key}"] = list(error.messages)
            continue
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    for field in fields:
        if field.required and merged.get(field.key) in (None, "", []):
            errors.setdefault(f"custom_fields.{field.key}", []).append(
                f"{field.label} is required."
            )
    if errors:
        raise ValidationError(errors)
    return merged


def convert(field: CustomFieldDefinition, raw: Any) -> Any:
    """The JSON value for ``raw`` (from a form, the API or an import), or None for empty."""
    if raw is None or (isinstance(raw, str) and not raw.strip() and field.field_type != "boolean"):
        return None
    kind = field.field_type
    if kind == CustomFieldType.TEXT:
        text = str(raw).strip()
        if len(text) > 1000:
            raise ValidationError("At most 1000 characters.")
        return text
    if kind == CustomFieldType.NUMBER:
        try:
            number = Decimal(str(raw).strip().replace(",", "."))
        except InvalidOperation:
            raise ValidationError(f"{raw!r} is not a number.") from None
        if not number.is_finite():
            raise ValidationError(f"{raw!r} is not a number.")
        return str(number.normalize()) if number != number.to_integral() else str(int(number))
    if kind == CustomFieldType.DATE:
        if isinstance(raw, date):
            return raw.isoformat()
        try:
            return date.fromisoformat(str(raw).strip()).isoformat()
        except ValueError:
            raise ValidationError(f"{raw!r} is not a date (use YYYY-MM-DD).") from None
    if kind == CustomFieldType.BOOLEAN:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in TRUE_TEXT:
            return True
        if text in FALSE_TEXT:
            return False
        raise ValidationError(f"{raw!r} is not yes or no.")
    if kind == CustomFieldType.URL:
        url = str(raw).strip()
        URLValidator(schemes=["http", "https"])(url)
        return url
    if kind == CustomFieldType.CHOICE:
        choice = str(raw).strip()
        if choice not in field.choices:
            raise ValidationError(f"{choice!r} is not one of: {', '.join(field.choices)}.")
        return choice
    if kind == CustomFieldType.MULTI_CHOICE:
        items = raw if isinstance(raw, list | tuple) else str(raw).split(";")
        picked = [str(item).strip() for item in items if str(item).strip()]
        unknown = [item for item in picked if item not in field.choices]
        if unknown:
            raise ValidationError(f"{', '.join(unknown)} not among: {', '.join(field.choices)}.")
        return sorted(set(picked), key=field.choices.index) or None
    raise ValidationError(f"Unknown field type {kind!r}.")  # pragma: no cover
