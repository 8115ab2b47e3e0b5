"""Every read of surveys, invitations and answers, cut to what the viewer may see.

Invitations and answers follow their contact (``permissions.py``): a viewer
sees those of the contacts they may see. ``latest_classes`` is the one
unrestricted read, for other apps (segments, loyalty tiers) that pass ids of
contacts they have already restricted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import F, QuerySet, Window
from django.db.models.functions import RowNumber

from rapport.core.permissions import Action, Scope, may_see_trash, restrict, scope_for
from rapport.customers import queries as customer_queries
from rapport.customers.models import Contact
from rapport.satisfaction.choices import SurveyKind
from rapport.satisfaction.models import Response, Survey, SurveyInvitation

RECENT_ANSWERS = 5
CHUNK = 5000


def surveys(viewer: Any, action: Action = Action.VIEW, *, trash: bool = False) -> QuerySet[Survey]:
    if trash and not may_see_trash(viewer):
        return Survey.objects.none()
    return restrict(Survey.objects.all(), viewer, action, trash=trash).select_related("owner")


def _of_visible_contacts[M: SurveyInvitation | Response](
    rows: QuerySet[M], viewer: Any
) -> QuerySet[M]:
    if scope_for(viewer, Contact, Action.VIEW) == Scope.ALL:
        return rows.filter(contact__deleted_at__isnull=True)
    return rows.filter(customer_queries.contact_visible(viewer))


def invitations(viewer: Any, action: Action = Action.VIEW) -> QuerySet[SurveyInvitation]:
    rows = restrict(SurveyInvitation.objects.all(), viewer, action)
    return _of_visible_contacts(rows, viewer).select_related("survey", "contact")


def responses(viewer: Any, action: Action = Action.VIEW) -> QuerySet[Response]:
    rows = restrict(Response.objects.all(), viewer, action)
    return _of_visible_contacts(rows, viewer).select_related("survey", "contact")


def responses_of(viewer: Any, contact: Contact) -> QuerySet[Response]:
    return responses(viewer).filter(contact=contact).order_by("-answered_at", "-id")


@dataclass(frozen=True)
class LatestClasses:
    """A contact's latest NPS and CSAT answers ("" / None where they never answered)."""

    nps_class: str = ""
    nps_score: int | None = None
    nps_answered_at: datetime | None = None
    csat_class: str = ""
    csat_gap: int | None = None
    csat_answered_at: datetime | None = None


def latest_classes(contact_ids: Iterable[int]) -> dict[int, LatestClasses]:
    """Each contact's latest NPS class and CSAT class: one query per ``CHUNK`` contacts.

    NOT restricted: callers (segments, loyalty tiers) pass contacts they have
    restricted themselves. Contacts without answers are absent from the result.
    """
    ids = list(dict.fromkeys(contact_ids))
    found: dict[int, dict[str, Any]] = {}
    # Chunks keep the IN list under every database's limit on query parameters.
    for start in range(0, len(ids), CHUNK):
        ranked = (
            Response.objects.filter(contact_id__in=ids[start : start + CHUNK])
            .annotate(
                rank=Window(
                    RowNumber(),
                    partition_by=[F("contact_id"), F("kind")],
                    order_by=[F("answered_at").desc(), F("id").desc()],
                )
            )
            .filter(rank=1)
            .values_list(
                "contact_id", "kind", "nps_class", "score", "csat_class", "gap", "answered_at"
            )
        )
        for contact_id, kind, nps_class, score, csat_class, gap, answered_at in ranked:
            values = found.setdefault(contact_id, {})
            if kind == SurveyKind.NPS:
                values.update(nps_class=nps_class, nps_score=score, nps_answered_at=answered_at)
            else:
                values.update(csat_class=csat_class, csat_gap=gap, csat_answered_at=answered_at)
    return {contact_id: LatestClasses(**values) for contact_id, values in found.items()}


def survey_responses(viewer: Any, survey: Survey) -> QuerySet[Response]:
    return responses(viewer).filter(survey=survey)
