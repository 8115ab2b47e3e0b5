"""What other apps know about a trashed contact or company, shown and respected by the trash.

A record in the trash may be more than deleted: the duplicates app moves a merged
record there after giving its history to the survivor. Restoring it as if it were
only deleted would bring back an empty twin and leave the merge impossible to undo,
so such an app registers an ``Explainer`` (in its ``AppConfig.ready``) that says
what happened to a batch of trashed records and whether plain restore must wait.
The customers app stays ignorant of who explains what.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rapport.customers.models import Company, Contact

    Record = Contact | Company


@dataclass(frozen=True)
class TrashNote:
    text: str
    # The record this one lives on in (the merge survivor), if any.
    link_text: str = ""
    link_url: str = ""
    # A button that replaces "Restore" on the trash page: POSTed, so a form target.
    action_label: str = ""
    action_url: str = ""
    # Why restore is refused, when it is; empty when a plain restore is fine.
    refuses_restore: str = ""


# Given trashed records of one model, a note for those the app knows something about.
Explainer = Callable[["Sequence[Record]"], "dict[int, TrashNote]"]

_explainers: list[Explainer] = []


def register(explainer: Explainer) -> None:
    if explainer not in _explainers:
        _explainers.append(explainer)


def notes(records: Sequence[Record]) -> dict[int, TrashNote]:
    """Notes by primary key; one query per registered app for the whole batch."""
    found: dict[int, TrashNote] = {}
    if not records:
        return found
    for explainer in _explainers:
        for pk, note in explainer(records).items():
            found.setdefault(pk, note)
    return found


def refusal(record: Record) -> str:
    """Why this trashed record may not simply be restored ("" when it may)."""
    note = notes([record]).get(record.pk)
    return note.refuses_restore if note is not None else ""
