"""Who may see and change surveys, invitations and answers.

Surveys are marketing's (and managers'): they create and edit them; everyone
else reads them. Invitations and answers FOLLOW THEIR CONTACT: a role that may
see invitations sees those of the contacts it may see (``queries.py``), and
may invite only contacts it may see. Sales and service invite their own
customers (after a call, after a visit); answers are never written by staff,
only by the customer on the public page.
"""

from __future__ import annotations

from rapport.core.permissions import Action, Grants, Policy, Role, Scope, grant, register
from rapport.satisfaction.models import Response, Survey, SurveyInvitation

V, A, C, D, E = Action.VIEW, Action.ADD, Action.CHANGE, Action.DELETE, Action.EXPORT

SURVEY_GRANTS: dict[str, Grants] = {
    Role.ADMIN: grant(Scope.ALL),
    Role.MANAGER: grant(Scope.ALL),
    Role.MARKETING: grant(Scope.ALL),
    Role.SALES: grant(Scope.ALL, V),
    Role.SERVICE: grant(Scope.ALL, V),
    Role.READ_ONLY: grant(Scope.ALL, V),
}
INVITATION_GRANTS: dict[str, Grants] = {
    Role.ADMIN: grant(Scope.ALL),
    Role.MANAGER: grant(Scope.ALL),
    Role.MARKETING: grant(Scope.ALL, V, A, C, E),
    Role.SALES: grant(Scope.ALL, V, A),
    Role.SERVICE: grant(Scope.ALL, V, A),
    Role.READ_ONLY: grant(Scope.ALL, V),
}
RESPONSE_GRANTS: dict[str, Grants] = {
    Role.ADMIN: grant(Scope.ALL, V, E),
    Role.MANAGER: grant(Scope.ALL, V, E),
    Role.MARKETING: grant(Scope.ALL, V, E),
    Role.SALES: grant(Scope.ALL, V),
    Role.SERVICE: grant(Scope.ALL, V),
    Role.READ_ONLY: grant(Scope.ALL, V),
}

register(Survey, Policy(grants=SURVEY_GRANTS, owner_field=None))
register(SurveyInvitation, Policy(grants=INVITATION_GRANTS, owner_field=None))
register(Response, Policy(grants=RESPONSE_GRANTS, owner_field=None))
