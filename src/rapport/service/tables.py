"""The columns users can choose for the ticket list."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from rapport.core.lists import Column, ListSpec


def customer_name(row: Any) -> str:
    names = [str(record) for record in (row.contact, row.company) if record is not None]
    return " · ".join(names) or row.requester_email


def due(value: Any) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


TICKETS = ListSpec(
    key="tickets",
    default_sort="-reference",
    columns=[
        Column("reference", "Ticket", sort="id"),
        Column("subject", "Subject"),
        Column("customer", "Customer", value=customer_name),
        Column("status", "Status", value=lambda row: row.get_status_display()),
        Column("priority", "Priority", value=lambda row: row.get_priority_display()),
        Column("assignee", "Assignee", value=lambda row: str(row.assignee or "")),
        Column("team", "Team", value=lambda row: row.team.name if row.team else "", default=False),
        Column(
            "first_response_due", "First response due", sort="first_response_due",
            value=lambda row: "" if row.first_response_at else due(row.first_response_due),
        ),
        Column(
            "resolution_due", "Resolution due", sort="resolution_due",
            value=lambda row: due(row.resolution_due),
        ),
        Column("updated_at", "Updated", sort="updated_at", default=False),
    ],
)  # fmt: skip
