"""Validation and conversion of custom field values (stored as JSON on records)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import django_filters
from django import forms
from django.apps import apps
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import connections, models
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import KeyTransform

from rapport.core.models import CustomFieldDefinition, CustomFieldTarget, CustomFieldType
from rapport.core.permissions import Action, restrict

if TYPE_CHECKING:
    from rapport.users.models import User

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


# --- where the values live ------------------------------------------------------

# The model whose ``custom_fields`` JSON holds each target's values, by label so
# that core does not import the domain apps (and a target whose app is not
# installed yet simply has no records).
TARGET_MODELS: dict[str, str] = {
    CustomFieldTarget.CONTACT: "customers.Contact",
    CustomFieldTarget.COMPANY: "customers.Company",
    CustomFieldTarget.DEAL: "sales.Deal",
}


def target_model(target: str) -> type[models.Model] | None:
    label = TARGET_MODELS.get(target)
    if label is None:
        return None
    try:
        return apps.get_model(label)
    except LookupError:
        return None


def builtin_names(target: str) -> set[str]:
    """Names the target's own fields and parts use, which a key must not take.

    Its parts are the relations its own app gives it (a contact's emails);
    what other apps hang on it (orders, scores) may come and go with those
    apps, so it does not reserve names.
    """
    model = target_model(target)
    if model is None:
        return set()
    names = {"pk"}
    for field in model._meta.get_fields():
        related = field.related_model if field.auto_created and not field.concrete else None
        if related is not None and related._meta.app_label != model._meta.app_label:
            continue
        names.add(field.name)
        attname = getattr(field, "attname", None)  # owner_id next to owner
        if attname:
            names.add(attname)
    return names


def records_with_value(definition: CustomFieldDefinition) -> int:
    """How many records (trashed ones too: they can be restored) hold a value for the field."""
    model = target_model(definition.target)
    if model is None:
        return 0
    return model._base_manager.filter(custom_fields__has_key=definition.key).count()


def records_with_choice(definition: CustomFieldDefinition, choice: str) -> int:
    """How many records (trashed ones too) have ``choice`` picked in the field."""
    model = target_model(definition.target)
    if model is None:
        return 0
    rows = model._base_manager.all()
    if definition.field_type != CustomFieldType.MULTI_CHOICE:
        value = KeyTransform(definition.key, "custom_fields")
        return rows.alias(cf_value=value).filter(cf_value=choice).count()
    if connections[rows.db].vendor == "postgresql":
        value = KeyTransform(definition.key, "custom_fields")
        return rows.alias(cf_value=value).filter(cf_value__contains=[choice]).count()
    # SQLite has no JSON containment: look inside the array with json_each.
    table = model._meta.db_table
    matching = RawSQL(  # noqa: S611 - table from model meta; values are parameters
        f'SELECT row.id FROM "{table}" AS row, json_each(row.custom_fields, %s) AS item '  # noqa: S608
        "WHERE item.value = %s",
        [f'$."{definition.key}"', choice],
    )
    return rows.filter(pk__in=matching).count()


# --- reads ----------------------------------------------------------------------


def visible_definitions(
    viewer: User | AnonymousUser | None, action: Action = Action.VIEW
) -> models.QuerySet[CustomFieldDefinition]:
    """The definitions ``viewer`` may ``action``, retired ones included."""
    return restrict(CustomFieldDefinition.objects.all(), viewer, action)


class CustomFieldDefinitionFilterSet(django_filters.FilterSet):
    """The settings page and ``/api/v1/custom-fields`` filter alike."""

    target = django_filters.ChoiceFilter(choices=CustomFieldTarget.choices, empty_label="Any")
    is_active = django_filters.BooleanFilter(
        label="Status",
        widget=forms.Select(choices=[("", "Any"), ("true", "Active"), ("false", "Retired")]),
    )

    class Meta:
        model = CustomFieldDefinition
        fields = ["target", "is_active"]
