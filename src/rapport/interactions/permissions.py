"""Who may see and log touchpoints.

Seeing: everyone who may see the contact (or, without a contact, the company)
sees its timeline; ``queries`` applies that. Logging needs a role that works
with customers; changing or deleting a logged touchpoint is for whoever logged
it (and managers, admins). Rows written by other apps have no owner, so only
managers and admins can correct them.
"""

from rapport.core.permissions import Action, Grants, Policy, Role, Scope, grant, register
from rapport.interactions.models import Interaction

V, A, C, D, E = Action.VIEW, Action.ADD, Action.CHANGE, Action.DELETE, Action.EXPORT

WORKS_WITH_CUSTOMERS: Grants = {V: Scope.ALL, A: Scope.ALL, C: Scope.OWN, D: Scope.OWN}

INTERACTION_GRANTS: dict[str, Grants] = {
    Role.ADMIN: grant(Scope.ALL),
    Role.MANAGER: grant(Scope.ALL),
    Role.SALES: WORKS_WITH_CUSTOMERS,
    Role.SERVICE: WORKS_WITH_CUSTOMERS,
    Role.MARKETING: {**WORKS_WITH_CUSTOMERS, E: Scope.ALL},
    Role.READ_ONLY: grant(Scope.ALL, V),
}

register(Interaction, Policy(grants=INTERACTION_GRANTS))
