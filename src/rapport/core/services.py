"""Write helpers every app's services build on: optimistic locking, trash, audit.

These are mechanisms, not domain rules: an app's ``services.py`` validates its
own rules and then calls ``save_changes`` / ``move_to_trash`` / ``restore``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.core.exceptions import FieldDoesNotExist, ObjectNotUpdated
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone

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
