"""The "Satisfaction" panel on contact pages: latest classes and recent answers (2 queries)."""

from __future__ import annotations

from typing import Any

from rapport.core.permissions import Action, can
from rapport.customers.choices import CUSTOMER_STAGES, LifecycleStage
from rapport.customers.models import Company, Contact
from rapport.customers.panels import Panel, register
from rapport.satisfaction import queries
from rapport.satisfaction.choices import NpsClass
from rapport.satisfaction.models import Response, SurveyInvitation
from rapport.users.models import User


def satisfaction_panel(viewer: User, record: Contact | Company) -> dict[str, Any] | None:
    if not isinstance(record, Contact) or not can(viewer, Action.VIEW, Response):
        return None
    answers = list(queries.responses_of(viewer, record)[: queries.RECENT_ANSWERS])
    latest = queries.latest_classes([record.pk]).get(record.pk) if answers else None
    may_mark = (
        latest is not None
        and latest.nps_class == NpsClass.PROMOTER
        and record.lifecycle_stage in CUSTOMER_STAGES
        and record.lifecycle_stage != LifecycleStage.EVANGELIST
        and can(viewer, Action.CHANGE, record)
    )
    return {
        "contact_id": record.pk,
        "latest": latest,
        "answers": answers,
        "may_invite": can(viewer, Action.ADD, SurveyInvitation),
        "may_mark_evangelist": may_mark,
    }


register(
    Panel(
        "satisfaction",
        "satisfaction/_panel.html",
        satisfaction_panel,
        column="side",
        order=40,
        on_companies=False,
    )
)
