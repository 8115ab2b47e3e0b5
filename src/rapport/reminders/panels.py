"""The "Tasks" panel on contact and company pages: open tasks and a quick-add form."""

from __future__ import annotations

from typing import Any

from rapport.core.permissions import Action, can
from rapport.customers.models import Company, Contact
from rapport.customers.panels import Panel, register
from rapport.reminders import queries
from rapport.reminders.choices import Priority
from rapport.reminders.models import Task
from rapport.users.models import User

PANEL_ROWS = 10


def panel_data(viewer: User, record: Contact | Company) -> dict[str, Any] | None:
    if not can(viewer, Action.VIEW, Task):
        return None
    rows = list(queries.for_customer(viewer, record)[: PANEL_ROWS + 1])
    for task in rows:  # complete in place only where the viewer may change the task
        task.may_change = can(viewer, Action.CHANGE, task)  # type: ignore[attr-defined]
    return {
        "record": record,
        "link_field": "contact" if isinstance(record, Contact) else "company",
        "tasks": rows[:PANEL_ROWS],
        "more": len(rows) > PANEL_ROWS,
        "can_add": can(viewer, Action.ADD, Task),
        "priorities": Priority.choices,
        "errors": [],
    }


register(Panel("tasks", "reminders/_panel.html", panel_data, column="side", order=20))
