"""The columns users can choose for the contact and company lists."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rapport.core.lists import Column, ListSpec
from rapport.core.models import CustomFieldDefinition, CustomFieldTarget
from rapport.insights.rfm import SEGMENT_LABELS, Segment


def _tags(row: Any) -> str:
    return ", ".join(tag.name for tag in row.tags.all())


def _score(attribute: str, shown: Callable[[Any], str]) -> Callable[[Any], str]:
    """A score of the last refresh (the row's ``score`` is joined), blank without one."""

    def value(row: Any) -> str:
        score = getattr(
            row, "score", None
        )  # a reverse one-to-one: absent raises, getattr says None
        number = getattr(score, attribute, None) if score is not None else None
        return "" if number is None else shown(number)

    return value


def _segment(row: Any) -> str:
    score = getattr(row, "score", None)
    return SEGMENT_LABELS[Segment(score.segment)] if score is not None else ""


SCORE_COLUMNS = [
    Column("segment", "RFM segment", value=_segment, default=False),
    Column(
        "lifetime_value",
        "Lifetime value",
        value=_score("lifetime_value", lambda v: f"{v:,.0f}"),
        default=False,
    ),
    Column(
        "churn_risk", "Churn risk", value=_score("churn_risk", lambda v: f"{v:.0%}"), default=False
    ),
    Column(
        "p_alive", "Still a customer", value=_score("p_alive", lambda v: f"{v:.0%}"), default=False
    ),
]


def _custom_value(key: str) -> Callable[[Any], Any]:
    def value(row: Any) -> Any:
        return row.custom_fields.get(key, "")

    return value


def _custom_columns(target: str) -> list[Column]:
    return [
        Column(
            key=f"cf_{definition.key}",
            label=definition.label,
            value=_custom_value(definition.key),
            default=False,
        )
        for definition in CustomFieldDefinition.objects.filter(target=target, is_active=True)
    ]


CONTACTS = ListSpec(
    key="contacts",
    default_sort="full_name",
    columns=[
        Column("full_name", "Name", sort="full_name"),
        Column("email", "E-mail", sort="email"),
        Column("phone", "Phone", default=False),
        Column("job_title", "Job title", default=False),
        Column("lifecycle_stage", "Stage", value=lambda row: row.get_lifecycle_stage_display()),
        Column("owner", "Owner", value=lambda row: row.owner.full_name if row.owner else ""),
        Column("tags", "Tags", value=_tags),
        Column("last_activity_at", "Last activity", sort="last_activity_at", default=False),
        Column("created_at", "Created", sort="created_at", default=False),
        Column("updated_at", "Updated", sort="updated_at"),
        *SCORE_COLUMNS,
    ],
    extra_columns=lambda: _custom_columns(CustomFieldTarget.CONTACT),
)

COMPANIES = ListSpec(
    key="companies",
    default_sort="name",
    columns=[
        Column("name", "Name", sort="name"),
        Column("domain", "Domain", sort="domain"),
        Column("industry", "Industry", default=False),
        Column("size", "Size", value=lambda row: row.get_size_display(), default=False),
        Column("lifecycle_stage", "Stage", value=lambda row: row.get_lifecycle_stage_display()),
        Column("owner", "Owner", value=lambda row: row.owner.full_name if row.owner else ""),
        Column("tags", "Tags", value=_tags),
        Column("created_at", "Created", sort="created_at", default=False),
        Column("updated_at", "Updated", sort="updated_at"),
        *SCORE_COLUMNS,
    ],
    extra_columns=lambda: _custom_columns(CustomFieldTarget.COMPANY),
)
