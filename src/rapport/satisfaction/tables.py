"""The columns of the survey, invitation and answer lists."""

from __future__ import annotations

from typing import Any

from rapport.core.lists import Column, ListSpec


def _days(value: int | None) -> str:
    if value is None:
        return "off"
    return f"after {value} day" if value == 1 else f"after {value} days"


SURVEYS = ListSpec(
    key="surveys",
    default_sort="name",
    columns=[
        Column("name", "Name", sort="name"),
        Column("kind", "Kind", value=lambda row: row.get_kind_display()),
        Column("is_active", "Active", value=lambda row: "yes" if row.is_active else "no"),
        Column("after_delivery", "After deliveries", value=lambda r: _days(r.after_delivery_days)),
        Column("after_ticket", "After tickets", value=lambda r: _days(r.after_ticket_days)),
        Column("updated_at", "Updated", sort="updated_at"),
    ],
)


def _source(row: Any) -> str:
    if not row.source_kind:
        return "manual"
    return f"{row.get_source_kind_display()} #{row.source_id}"


INVITATIONS = ListSpec(
    key="survey-invitations",
    default_sort="-created_at",
    columns=[
        Column("contact", "Contact", value=lambda row: str(row.contact)),
        Column("survey", "Survey", value=lambda row: row.survey.name),
        Column("status", "Status", value=lambda row: row.get_status_display()),
        Column("source", "Sent after", value=_source),
        Column("created_at", "Invited", sort="created_at"),
        Column("sent_at", "Sent", sort="sent_at"),
        Column("answered_at", "Answered", sort="answered_at", default=False),
        Column("last_error", "Problem"),
    ],
)


def _result(row: Any) -> str:
    if row.kind == "nps":
        return f"{row.get_nps_class_display()} ({row.score})"
    return f"{row.get_csat_class_display()} ({row.expectation} → {row.performance})"


RESPONSES = ListSpec(
    key="survey-responses",
    default_sort="-answered_at",
    columns=[
        Column("contact", "Contact", value=lambda row: str(row.contact)),
        Column("survey", "Survey", value=lambda row: row.survey.name),
        Column("result", "Result", value=_result),
        Column("comment", "Comment"),
        Column("answered_at", "Answered", sort="answered_at"),
    ],
)
