"""The columns of the task list."""

from __future__ import annotations

from typing import Any

from rapport.core.lists import Column, ListSpec


def _due(row: Any) -> str:
    if row.due_time is None:
        return f"{row.due_date:%Y-%m-%d}"
    return f"{row.due_date:%Y-%m-%d} {row.due_time:%H:%M}"


def _customer(row: Any) -> str:
    return str(row.customer or "")


def _status(row: Any) -> str:
    if row.is_done:
        return "Done"
    return "Overdue" if row.is_overdue else "Open"


TASKS = ListSpec(
    key="tasks",
    default_sort="due",
    columns=[
        Column("title", "Task", sort="title"),
        Column("due", "Due", sort="due_at", value=_due),
        Column("priority", "Priority", value=lambda row: row.get_priority_display()),
        Column("assignee", "Assignee", value=lambda row: row.assignee or ""),
        Column("customer", "Customer", value=_customer),
        Column("status", "Status", value=_status),
        Column("done_at", "Done at", sort="done_at", default=False),
        Column("created_at", "Created", sort="created_at", default=False),
        Column("updated_at", "Updated", sort="updated_at", default=False),
    ],
)
