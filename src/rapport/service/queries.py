"""Every read of tickets: cut to what the viewer may see (see ``permissions.py``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from rapport.core.permissions import Action, may_see_trash, restrict
from rapport.customers.models import Company, Contact, Membership
from rapport.service.choices import ACTIVE_STATUSES, TicketStatus
from rapport.service.models import (
    Attachment,
    BusinessCalendar,
    InboundMail,
    SlaPolicy,
    Ticket,
    TicketAlert,
    TicketMessage,
)
from rapport.service.permissions import visible


def tickets(viewer: Any, action: Action = Action.VIEW, *, trash: bool = False) -> QuerySet[Ticket]:
    """Rows for lists: customer, assignee, team and policy are shown, so they are joined."""
    if trash and not may_see_trash(viewer):
        return Ticket.objects.none()
    rule = visible(viewer, action)
    base = (
        restrict(Ticket.objects.all(), viewer, action, trash=trash)
        if rule is None
        else (Ticket.objects.filter(deleted_at__isnull=not trash).filter(rule))
    )
    return base.select_related("contact", "company", "assignee", "team", "sla_policy")


def ticket_detail(viewer: Any, action: Action = Action.VIEW) -> QuerySet[Ticket]:
    """One ticket with its conversation and attachments in a fixed number of queries."""
    return (
        tickets(viewer, action)
        .select_related("asset__product")
        .prefetch_related(
            Prefetch(
                "messages",
                queryset=TicketMessage.objects.select_related("author").prefetch_related(
                    Prefetch("attachments", queryset=Attachment.objects.order_by("id"))
                ),
            )
        )
    )


def messages(viewer: Any, action: Action = Action.VIEW) -> QuerySet[TicketMessage]:
    return TicketMessage.objects.filter(
        ticket__in=tickets(viewer, action).values("pk")
    ).select_related("author")


def soon_rule(now: dt.datetime | None = None) -> Q:
    """Active tickets overdue or within their policy's warning time of a due time."""
    now = now or timezone.now()
    rule = Q(pk__in=[])
    for pk, warning in SlaPolicy.objects.values_list("pk", "warning_minutes"):
        horizon = now + dt.timedelta(minutes=warning)
        rule |= Q(sla_policy_id=pk) & (
            Q(first_response_at__isnull=True, first_response_due__lte=horizon)
            | Q(resolution_due__lte=horizon)
        )
    return Q(status__in=ACTIVE_STATUSES) & rule


def queue(rows: QuerySet[Ticket], name: str, viewer: Any) -> QuerySet[Ticket]:
    """The named queue of the service desk: mine, unassigned, breaching soon, all."""
    if name == "mine":
        return rows.filter(assignee_id=getattr(viewer, "pk", None), status__in=ACTIVE_STATUSES)
    if name == "unassigned":
        return rows.filter(assignee__isnull=True, status__in=ACTIVE_STATUSES)
    if name == "breaching":
        return rows.filter(soon_rule())
    if name == "open":
        return rows.filter(status__in=ACTIVE_STATUSES)
    return rows


def _about(record: Contact | Company) -> Q:
    if isinstance(record, Contact):
        return Q(contact=record)
    people = Membership.objects.filter(company=record).values("contact_id")
    return Q(company=record) | Q(contact__in=people)


def tickets_of(viewer: Any, record: Contact | Company) -> QuerySet[Ticket]:
    return tickets(viewer).filter(_about(record)).order_by("-id")


def alerts_for(viewer: Any) -> QuerySet[TicketAlert]:
    """The viewer's unseen SLA flags on tickets they may still see."""
    viewer_id = getattr(viewer, "pk", None)
    if viewer_id is None:
        return TicketAlert.objects.none()
    return (
        TicketAlert.objects.filter(user_id=viewer_id, seen_at__isnull=True)
        .filter(ticket__in=tickets(viewer).values("pk"))
        .select_related("ticket")
        .order_by("-created_at", "-id")
    )


def calendars(viewer: Any) -> QuerySet[BusinessCalendar]:
    return restrict(BusinessCalendar.objects.all(), viewer).prefetch_related("holidays")


def policies(viewer: Any) -> QuerySet[SlaPolicy]:
    return restrict(SlaPolicy.objects.all(), viewer).select_related("calendar")


def inbox_problems(viewer: Any) -> QuerySet[InboundMail]:
    return restrict(InboundMail.objects.all(), viewer).filter(state="failed")


RESOLVED = TicketStatus.RESOLVED
