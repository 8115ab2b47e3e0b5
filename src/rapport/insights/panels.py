"""The insights panel on contact pages."""

from __future__ import annotations

from typing import Any

from rapport.core.permissions import Action, can
from rapport.customers.models import Company, Contact
from rapport.customers.panels import Panel, register
from rapport.insights import queries
from rapport.insights.rfm import SEGMENT_LABELS, Segment
from rapport.reminders.models import Task
from rapport.sales.models import Deal
from rapport.users.models import User


def _company_data(viewer: User, record: Contact | Company) -> dict[str, Any] | None:
    score = queries.company_scores(viewer).filter(company_id=record.pk).first()
    return {
        "score": score,
        "segment_label": SEGMENT_LABELS[Segment(score.segment)] if score else "",
        "offers": [],
        "may_follow_up": False,
        "of_company": True,
    }


def _data(viewer: User, record: Contact | Company) -> dict[str, Any] | None:
    score = queries.scores(viewer).filter(contact_id=record.pk).first()
    offers = list(queries.offers(viewer).filter(contact_id=record.pk))
    return {
        "score": score,
        "segment_label": SEGMENT_LABELS[Segment(score.segment)] if score else "",
        "offers": offers,
        "may_follow_up": can(viewer, Action.ADD, Task),
        "may_open_deal": can(viewer, Action.ADD, Deal),
    }


register(
    Panel(
        key="insights",
        template="insights/_panel.html",
        data=_data,
        column="side",
        order=10,
        on_companies=False,
    )
)
register(
    Panel(
        key="company-insights",
        template="insights/_panel.html",
        data=_company_data,
        column="side",
        order=10,
        on_contacts=False,
    )
)
