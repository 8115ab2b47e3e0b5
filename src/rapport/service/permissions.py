"""Who may see and work tickets, and who configures SLA policies and calendars.

Decision: a ticket belongs to a TEAM (the desk that works it), not to an
owner. Service, managers and admins work every ticket; sales see (and may
open and answer) the tickets of their own team, tickets assigned to them and
tickets no team has taken yet, never another team's. Read-only sees all.

The role ``Policy`` below decides the action (``restrict`` and the API's
``RolePermission`` apply it at model level); ``visible()`` / ``may()`` add the
team rule for Scope.TEAM, so lists and detail pages never disagree.
SLA policies and calendars: everyone reads them (due times are shown
everywhere); only admins change them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.db.models import Q

from rapport.core.permissions import (
    Action,
    Grants,
    Policy,
    Role,
    Scope,
    grant,
    register,
    scope_for,
)
from rapport.service.models import (
    BusinessCalendar,
    Holiday,
    InboundMail,
    SlaPolicy,
    Ticket,
    TicketMessage,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from rapport.users.models import User

V, A, C, D, E = Action.VIEW, Action.ADD, Action.CHANGE, Action.DELETE, Action.EXPORT

TICKET_GRANTS: dict[str, Grants] = {
    Role.ADMIN: grant(Scope.ALL),
    Role.MANAGER: grant(Scope.ALL),
    Role.SERVICE: grant(Scope.ALL),
    Role.SALES: grant(Scope.TEAM, V, A, C),
    Role.READ_ONLY: grant(Scope.ALL, V),
}
SETUP_GRANTS: dict[str, Grants] = {
    **{role: grant(Scope.ALL, V) for role in Role.values},
    Role.ADMIN: grant(Scope.ALL),
}
# Raw inbound mail may hold anything a stranger sent: the desk, not everyone.
INBOX_GRANTS: dict[str, Grants] = {
    Role.ADMIN: grant(Scope.ALL),
    Role.MANAGER: grant(Scope.ALL, V),
    Role.SERVICE: grant(Scope.ALL, V),
}

# owner_field "assignee" lets TEAM scope register; the team rule itself is below.
register(Ticket, Policy(grants=TICKET_GRANTS, owner_field="assignee"))
register(TicketMessage, Policy(grants=TICKET_GRANTS, owner_field="ticket__assignee"))
register(SlaPolicy, Policy(grants=SETUP_GRANTS, owner_field=None))
register(BusinessCalendar, Policy(grants=SETUP_GRANTS, owner_field=None))
register(Holiday, Policy(grants=SETUP_GRANTS, owner_field=None))
register(InboundMail, Policy(grants=INBOX_GRANTS, owner_field=None))


def team_rule(user: User | AnonymousUser | None, prefix: str = "") -> Q:
    """Tickets a TEAM-scoped user may reach: their team's, theirs, and untaken ones."""
    user_id = getattr(user, "pk", None)
    team_id = getattr(user, "team_id", None)
    rule = Q(**{f"{prefix}assignee_id": user_id}) | Q(**{f"{prefix}team__isnull": True})
    if team_id is not None:
        rule |= Q(**{f"{prefix}team_id": team_id})
    return rule


def visible(user: User | AnonymousUser | None, action: Action = V, prefix: str = "") -> Q | None:
    """A filter for the tickets ``user`` may ``action``; None means none at all."""
    scope = scope_for(user, Ticket, action)
    if scope == Scope.NONE:
        return None
    if scope == Scope.ALL:
        return Q()
    if scope == Scope.OWN:
        return Q(**{f"{prefix}assignee_id": getattr(user, "pk", None)})
    return team_rule(user, prefix)


def may(user: User | AnonymousUser | None, action: Action, ticket: Ticket) -> bool:
    scope = scope_for(user, Ticket, action)
    if scope == Scope.ALL:
        return True
    if scope == Scope.NONE or user is None:
        return False
    if ticket.assignee_id is not None and ticket.assignee_id == user.pk:
        return True
    if scope == Scope.OWN:
        return False
    return ticket.team_id is None or ticket.team_id == getattr(user, "team_id", None)


def authorise_on(actor: User | None, action: Action, ticket: Ticket) -> None:
    """The check at the top of every ticket service; ``actor=None`` is Rapport itself."""
    if actor is not None and not may(actor, action, ticket):
        raise PermissionDenied(f"You may not {action} this ticket.")
