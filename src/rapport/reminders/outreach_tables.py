"""The columns of the customer reminder list."""

from __future__ import annotations

from typing import Any

from rapport.core.lists import Column, ListSpec


def _customer(row: Any) -> str:
    asset = row.asset
    return str(asset.contact or asset.company or "")


def _when(value: Any) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value else ""


def _problem(row: Any) -> str:
    return str(row.last_error or row.skip_reason)


REMINDERS = ListSpec(
    key="service-reminders",
    default_sort="due",
    columns=[
        Column("due", "Due", sort="due_date", value=lambda row: f"{row.due_date:%Y-%m-%d}"),
        Column("kind", "Kind", sort="kind", value=lambda row: row.get_kind_display()),
        Column("customer", "Customer", value=_customer),
        Column("asset", "Unit", value=lambda row: str(row.asset)),
        Column("status", "Status", sort="status", value=lambda row: row.get_status_display()),
        Column("attempts", "Attempts", sort="attempts"),
        Column("problem", "Last error / reason", value=_problem),
        Column(
            "next_attempt_at",
            "Next attempt",
            sort="next_attempt_at",
            value=lambda row: _when(row.next_attempt_at),
        ),
        Column("sent_at", "Sent", sort="sent_at", value=lambda row: _when(row.sent_at)),
        Column("recipient", "Sent to", default=False),
        Column("created_at", "Planned", sort="created_at", default=False),
    ],
)
