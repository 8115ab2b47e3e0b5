"""Audit history (django-simple-history) as entries people can read."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import FieldDoesNotExist

KINDS = {"+": "Created", "~": "Changed", "-": "Deleted"}
HIDDEN_FIELDS = {"updated_at", "updated_by", "version", "full_name"}


@dataclass
class FieldChange:
    field: str
    old: Any
    new: Any


@dataclass
class HistoryEntry:
    when: datetime
    who: Any
    kind: str
    what: str
    reason: str
    fields: list[FieldChange] = field(default_factory=list)


def entries(history: Any, *, what: str = "", limit: int = 50) -> list[HistoryEntry]:
    """Newest first: who changed which field from what to what, and why."""
    rows = list(
        history.select_related("history_user").order_by("-history_date", "-history_id")[: limit + 1]
    )
    result = []
    for index, record in enumerate(rows[:limit]):
        previous = rows[index + 1] if index + 1 < len(rows) else None
        changes = []
        if previous is not None and record.history_type == "~":
            delta = record.diff_against(previous)
            changes = [
                FieldChange(_label(record, change.field), change.old, change.new)
                for change in delta.changes
                if change.field not in HIDDEN_FIELDS
            ]
        result.append(
            HistoryEntry(
                when=record.history_date,
                who=record.history_user,
                kind=KINDS[record.history_type],
                what=what or str(record.instance_type._meta.verbose_name),
                reason=record.history_change_reason or "",
                fields=changes,
            )
        )
    return result


def merged(*groups: list[HistoryEntry], limit: int = 50) -> list[HistoryEntry]:
    everything = [entry for group in groups for entry in group]
    return sorted(everything, key=lambda entry: entry.when, reverse=True)[:limit]


def _label(record: Any, name: str) -> str:
    try:
        return str(record.instance_type._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:  # a field removed since the change was recorded
        return name
