"""Write helpers every app's services build on: optimistic locking, trash, audit.

These are mechanisms, not domain rules: an app's ``services.py`` validates its
own rules and then calls ``save_changes`` / ``move_to_trash`` / ``restore``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from django.core.exceptions import FieldDoesNotExist, ObjectNotUpdated, ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import F, JSONField, Max
from django.db.models.fields.json import KeyTransform
from django.utils import timezone

from rapport.core import custom_fields
from rapport.core.models import CustomFieldDefinition, CustomFieldTarget, CustomFieldType
from rapport.core.permissions import Action, authorise

if TYPE_CHECKING:
    from rapport.users.models import User


class ConflictError(Exception):
    """Somebody else saved the record since it was read."""

    def __init__(
        self, record: models.Model, expected_version: int | None, *, deleted: bool = False
    ) -> None:
        self.record = record
        self.expected_version = expected_version
        self.deleted = deleted
        what = str(record._meta.verbose_name).capitalize()
        if deleted:
            message = f"{what} was deleted by someone else since you opened it."
        else:
            message = (
                f"{what} was changed by someone else since you opened it "
                f"(you had version {expected_version}). "
                "Reload to see their changes, then apply yours again."
            )
        super().__init__(message)


def attribute_change(record: models.Model, actor: User | None, reason: str = "") -> None:
    """Tell the audit history who made the next save and why."""
    record._history_user = actor  # type: ignore[attr-defined]
    if reason:
        record._change_reason = reason  # type: ignore[attr-defined]


def create_record[R: models.Model](record: R, *, actor: User | None, reason: str = "") -> R:
    """Insert a validated record, stamping who created it."""
    now = timezone.now()
    for name, value in (
        ("created_by", actor),
        ("updated_by", actor),
        ("created_at", now),
        ("updated_at", now),
    ):
        if _has_field(record, name):
            setattr(record, name, value)
    attribute_change(record, actor, reason)
    record.save(force_insert=True)
    return record


def save_changes[R: models.Model](
    record: R,
    changes: Mapping[str, Any],
    *,
    actor: User | None,
    expected_version: int | None = None,
    reason: str = "",
) -> R:
    """Apply ``changes`` to ``record`` unless someone saved it since ``expected_version``.

    The version check and bump is one conditional UPDATE, so two writers
    racing on either database cannot both succeed. Raises ``ConflictError``
    (also when the record was deleted meanwhile).

    Only the changed fields (and the updated_at/updated_by stamps) are
    written, so a concurrent write to other fields (a password change, a
    last-login stamp, another last-write-wins edit) is not undone by this one.
    """
    model = type(record)
    with transaction.atomic():
        if _has_field(record, "version"):
            same = model._base_manager.filter(pk=record.pk)
            rows = same if expected_version is None else same.filter(version=expected_version)
            if rows.update(version=F("version") + 1) == 0:
                raise ConflictError(record, expected_version, deleted=not same.exists())
            if expected_version is not None:
                record.version = expected_version + 1  # type: ignore[attr-defined]
            else:
                record.version = same.values_list("version", flat=True).get()  # type: ignore[attr-defined]
        for name, value in changes.items():
            setattr(record, name, value)
        written = set(changes)
        if _has_field(record, "updated_at"):
            record.updated_at = timezone.now()  # type: ignore[attr-defined]
            written.add("updated_at")
        if _has_field(record, "updated_by"):
            record.updated_by = actor  # type: ignore[attr-defined]
            written.add("updated_by")
        attribute_change(record, actor, reason)
        if not written <= _concrete_field_names(model):
            record.save()  # a name that is not a column: let save() write everything
            return record
        try:
            record.save(update_fields=written)
        except ObjectNotUpdated:  # unversioned and deleted meanwhile: do not re-insert it
            raise ConflictError(record, expected_version, deleted=True) from None
    return record


def move_to_trash[R: models.Model](
    record: R, *, actor: User | None, expected_version: int | None = None, reason: str = ""
) -> R:
    return save_changes(
        record,
        {"deleted_at": timezone.now()},
        actor=actor,
        expected_version=expected_version,
        reason=reason or "Moved to trash",
    )


def restore[R: models.Model](record: R, *, actor: User | None, reason: str = "") -> R:
    if getattr(record, "deleted_at", None) is None:
        raise ValidationError(f"{record} is not in the trash.")
    return save_changes(
        record, {"deleted_at": None}, actor=actor, reason=reason or "Restored from trash"
    )


def _concrete_field_names(model: type[models.Model]) -> set[str]:
    names: set[str] = set()
    for field in model._meta.concrete_fields:
        if not field.primary_key:
            names.update((field.name, field.attname))
    return names


def _has_field(record: models.Model, name: str) -> bool:
    try:
        record._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return True


# --- custom field definitions (admins) ----------------------------------------
#
# Records keep their values under the definition's key, so the key and target
# never change, and nothing is done that would leave stored values meaningless:
# a type change waits until no record holds a value, a used choice stays.

CHOICE_TYPES = {CustomFieldType.CHOICE, CustomFieldType.MULTI_CHOICE}
CUSTOM_FIELD_CHANGES = {"label", "help_text", "position", "required", "choices", "field_type"}
CUSTOM_FIELD_FIXED = {
    "key": "The key never changes: records, imports and filters use it. "
    "Retire this field and define a new one instead.",
    "target": "A field stays on the records it was defined for. "
    "Retire this field and define a new one instead.",
}
CUSTOM_FIELD_KEY = re.compile(r"[a-z][a-z0-9_]*\Z")
MAX_CHOICES = 200
MAX_CHOICE_LENGTH = 100
MAX_POSITION = 2_147_483_647  # PositiveIntegerField on every database
# Words that filters would read as a lookup (custom_fields__in=...) rather than a key.
FILTER_WORDS = set(JSONField().get_lookups()) | set(
    KeyTransform("key", "custom_fields").get_lookups()
)


def define_custom_field(
    *,
    actor: User | None,
    target: str,
    key: str,
    label: str,
    field_type: str,
    choices: Sequence[str] = (),
    required: bool = False,
    help_text: str = "",
    position: int | None = None,
) -> CustomFieldDefinition:
    """Add a typed field to every contact, company or deal (admins).

    Without a position the field goes after the target's other fields.
    """
    authorise(actor, Action.ADD, CustomFieldDefinition)
    _check_custom_field_target(target)
    _check_custom_field_type(field_type)
    definition = CustomFieldDefinition(
        target=target,
        key=_clean_custom_field_key(target, key),
        label=_clean_custom_field_label(label),
        field_type=field_type,
        choices=_clean_custom_field_choices(field_type, choices),
        required=_check_flag("required", required),
        help_text=_clean_custom_field_help_text(help_text),
    )
    with transaction.atomic():
        _refuse_duplicate_custom_field_key(target, definition.key)
        if position is None:
            last = CustomFieldDefinition.objects.filter(target=target).aggregate(Max("position"))
            definition.position = min((last["position__max"] or 0) + 1, MAX_POSITION)
        else:
            definition.position = _check_custom_field_position(position)
        try:
            # The savepoint keeps the outer transaction usable if a racing admin
            # took the key between the check and the insert.
            with transaction.atomic():
                create_record(definition, actor=actor, reason="Defined")
        except IntegrityError:
            _refuse_duplicate_custom_field_key(target, definition.key)
            raise
    return definition


def change_custom_field(
    *,
    actor: User | None,
    definition: CustomFieldDefinition,
    changes: Mapping[str, Any],
    expected_version: int | None = None,
) -> CustomFieldDefinition:
    """Change a field's label, help text, position, required flag, choices or type.

    Refuses a type change while any record holds a value for the field, and the
    removal of a choice that records still use (saying how many).
    """
    authorise(actor, Action.CHANGE, definition)
    errors: dict[str, list[str]] = {}
    for name, value in changes.items():
        if name in CUSTOM_FIELD_FIXED:
            if value != getattr(definition, name):
                errors[name] = [CUSTOM_FIELD_FIXED[name]]
        elif name not in CUSTOM_FIELD_CHANGES:
            errors[name] = ["This cannot be changed here."]
    if errors:
        raise ValidationError(errors)
    values: dict[str, Any] = {}
    field_type = changes.get("field_type", definition.field_type)
    if "field_type" in changes:
        _check_custom_field_type(field_type)
        values["field_type"] = field_type
    if "label" in changes:
        values["label"] = _clean_custom_field_label(changes["label"])
    if "help_text" in changes:
        values["help_text"] = _clean_custom_field_help_text(changes["help_text"])
    if "position" in changes:
        values["position"] = _check_custom_field_position(changes["position"])
    if "required" in changes:
        values["required"] = _check_flag("required", changes["required"])
    if "choices" in changes:
        values["choices"] = _clean_custom_field_choices(field_type, changes["choices"])
    elif field_type not in CHOICE_TYPES:
        values["choices"] = []  # a field that stops being a choice has no choices left
    elif field_type != definition.field_type:
        # From one choice type to the other: the current choices carry over.
        values["choices"] = _clean_custom_field_choices(field_type, definition.choices)
    with transaction.atomic():
        if field_type != definition.field_type:
            holding = custom_fields.records_with_value(definition)
            if holding:
                raise ValidationError(
                    {
                        "field_type": [
                            f"{_records(holding, definition.target)} "
                            f"{'has' if holding == 1 else 'have'} a value for "
                            f"{definition.label}, so its type cannot change. Retire it "
                            "and define a new field with the new type instead."
                        ]
                    }
                )
        elif "choices" in values and field_type in CHOICE_TYPES:
            _refuse_removing_used_choices(definition, values["choices"])
        return save_changes(
            definition, values, actor=actor, expected_version=expected_version, reason="Changed"
        )


def retire_custom_field(
    *,
    actor: User | None,
    definition: CustomFieldDefinition,
    expected_version: int | None = None,
) -> CustomFieldDefinition:
    """Hide a field from forms, lists, filters and the API's writes; records keep their values."""
    authorise(actor, Action.DELETE, definition)
    if not definition.is_active:
        raise ValidationError(f"{definition.label} is already retired.")
    return save_changes(
        definition,
        {"is_active": False},
        actor=actor,
        expected_version=expected_version,
        reason="Retired",
    )


def reactivate_custom_field(
    *,
    actor: User | None,
    definition: CustomFieldDefinition,
    expected_version: int | None = None,
) -> CustomFieldDefinition:
    """Bring a retired field back, with the values records kept meanwhile."""
    authorise(actor, Action.DELETE, definition)
    if definition.is_active:
        raise ValidationError(f"{definition.label} is active already.")
    return save_changes(
        definition,
        {"is_active": True},
        actor=actor,
        expected_version=expected_version,
        reason="Reactivated",
    )


def _check_custom_field_target(target: str) -> None:
    if target not in CustomFieldTarget.values:
        raise ValidationError(
            {"target": [f"{target!r} is not one of: {', '.join(CustomFieldTarget.values)}."]}
        )


def _check_custom_field_type(field_type: str) -> None:
    if field_type not in CustomFieldType.values:
        raise ValidationError(
            {"field_type": [f"{field_type!r} is not one of: {', '.join(CustomFieldType.values)}."]}
        )


def _clean_custom_field_key(target: str, key: str) -> str:
    key = key.strip() if isinstance(key, str) else ""
    if not key:
        problem = "A key is required."
    elif len(key) > 50:
        problem = "At most 50 characters."
    elif not CUSTOM_FIELD_KEY.match(key) or "__" in key:
        problem = (
            f"{key!r} is not a valid key: use lower-case letters, digits and single "
            "underscores, starting with a letter (for example customer_number)."
        )
    elif key in custom_fields.builtin_names(target):
        problem = (
            f"{key!r} is already a built-in field of {CustomFieldTarget(target).label.lower()}; "
            "choose another key."
        )
    elif key in FILTER_WORDS:
        problem = f"{key!r} is a word list filters reserve; choose another key."
    else:
        return key
    raise ValidationError({"key": [problem]})


def _refuse_duplicate_custom_field_key(target: str, key: str) -> None:
    existing = CustomFieldDefinition.objects.filter(target=target, key=key).first()
    if existing is None:
        return
    where = CustomFieldTarget(target).label.lower()
    if existing.is_active:
        message = (
            f"{where.capitalize()} already have the field {existing.label!r} with key {key!r}."
        )
    else:
        message = (
            f"The retired field {existing.label!r} of {where} has key {key!r}; "
            "reactivate it or choose another key."
        )
    raise ValidationError({"key": [message]})


def _clean_custom_field_label(label: str) -> str:
    label = label.strip() if isinstance(label, str) else ""
    if not label:
        raise ValidationError({"label": ["A label is required."]})
    if len(label) > 100:
        raise ValidationError({"label": ["At most 100 characters."]})
    return label


def _clean_custom_field_help_text(help_text: str) -> str:
    if not isinstance(help_text, str):
        raise ValidationError({"help_text": ["Help text must be text."]})
    help_text = help_text.strip()
    if len(help_text) > 200:
        raise ValidationError({"help_text": ["At most 200 characters."]})
    return help_text


def _check_custom_field_position(position: Any) -> int:
    if isinstance(position, bool) or not isinstance(position, int):
        raise ValidationError({"position": ["The position must be a whole number."]})
    if not 0 <= position <= MAX_POSITION:
        raise ValidationError({"position": [f"The position must be between 0 and {MAX_POSITION}."]})
    return position


def _check_flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValidationError({name: ["Must be true or false."]})
    return value


def _clean_custom_field_choices(field_type: str, choices: Any) -> list[str]:
    """The choices as stored: trimmed, in the admin's order, each once."""
    if isinstance(choices, str) or not isinstance(choices, Sequence):
        raise ValidationError({"choices": ["Choices must be a list of texts."]})
    cleaned: list[str] = []
    problems: list[str] = []
    for raw in choices:
        if not isinstance(raw, str):
            problems.append(f"{raw!r} is not a text.")
            continue
        choice = raw.strip()
        if not choice:
            continue
        if choice in cleaned:
            problems.append(f"{choice!r} is listed twice.")
        elif len(choice) > MAX_CHOICE_LENGTH:
            problems.append(f"{choice[:20]!r}… is longer than {MAX_CHOICE_LENGTH} characters.")
        elif ";" in choice:
            # Imports and the API give several choices as "a;b".
            problems.append(f"{choice!r} contains ';', which separates several choices.")
        else:
            cleaned.append(choice)
    if len(cleaned) > MAX_CHOICES:
        problems.append(f"At most {MAX_CHOICES} choices.")
    if field_type in CHOICE_TYPES and not cleaned and not problems:
        problems.append("A choice field needs at least one choice.")
    if field_type not in CHOICE_TYPES and (cleaned or problems):
        problems = ["Only fields of type Choice or Several choices have choices; leave it empty."]
    if problems:
        raise ValidationError({"choices": problems})
    return cleaned


def _refuse_removing_used_choices(definition: CustomFieldDefinition, kept: list[str]) -> None:
    problems = []
    for choice in definition.choices:
        if choice in kept:
            continue
        using = custom_fields.records_with_choice(definition, choice)
        if using:
            problems.append(
                f"{choice!r} is used by {_records(using, definition.target)}, so it cannot "
                "be removed; change their value first."
            )
    if problems:
        raise ValidationError({"choices": problems})


def _records(count: int, target: str) -> str:
    """``3 contacts``, ``1 company``: records of ``target`` in the users' words."""
    model = custom_fields.target_model(target)
    if model is None:
        return f"{count} {CustomFieldTarget(target).label.lower()}"
    meta = model._meta
    return f"{count} {meta.verbose_name if count == 1 else meta.verbose_name_plural}"
