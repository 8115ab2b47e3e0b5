"""Who may do what with contacts, companies and what hangs off them."""

from django.db import models

from rapport.core.permissions import Action, Grants, Policy, Role, Scope, grant, register
from rapport.customers.models import (
    Address,
    Company,
    Consent,
    Contact,
    ContactEmail,
    ContactPhone,
    LifecycleChange,
    Membership,
    Tag,
)

V, A, C, D, E = Action.VIEW, Action.ADD, Action.CHANGE, Action.DELETE, Action.EXPORT

CUSTOMER_GRANTS: dict[str, Grants] = {
    Role.ADMIN: grant(Scope.ALL),
    Role.MANAGER: grant(Scope.ALL),
    # Sales work their own and their team's accounts (and unassigned ones).
    Role.SALES: {V: Scope.TEAM, A: Scope.TEAM, C: Scope.TEAM, D: Scope.OWN, E: Scope.TEAM},
    # Service answers whoever calls, so sees everyone; edits its team's.
    Role.SERVICE: {V: Scope.ALL, A: Scope.ALL, C: Scope.TEAM},
    # Marketing segments everyone and exports lists; edits its team's.
    Role.MARKETING: {V: Scope.ALL, A: Scope.ALL, C: Scope.TEAM, E: Scope.ALL},
    Role.READ_ONLY: grant(Scope.ALL, V),
}

owned_models: tuple[type[models.Model], ...] = (Contact, Company)
for model in owned_models:
    register(model, Policy(grants=CUSTOMER_GRANTS))

# Parts of a contact follow the contact's owner.
contact_parts: tuple[type[models.Model], ...] = (ContactEmail, ContactPhone, Consent, Membership)
for model in contact_parts:
    register(model, Policy(grants=CUSTOMER_GRANTS, owner_field="contact__owner"))
register(
    LifecycleChange,
    Policy(grants={role: grant(Scope.ALL, V) for role in Role.values}, owner_field=None),
)
register(
    Address, Policy(grants={role: grant(Scope.ALL, V) for role in Role.values}, owner_field=None)
)

register(
    Tag,
    Policy(
        grants={
            Role.ADMIN: grant(Scope.ALL),
            Role.MANAGER: grant(Scope.ALL),
            Role.MARKETING: grant(Scope.ALL),
            Role.SALES: grant(Scope.ALL, V, A),
            Role.SERVICE: grant(Scope.ALL, V, A),
            Role.READ_ONLY: grant(Scope.ALL, V),
        },
        owner_field=None,
    ),
)
