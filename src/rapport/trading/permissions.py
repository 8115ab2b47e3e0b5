"""Who may see and change orders, deliveries and the installed base.

Decision: orders, deliveries and assets FOLLOW THEIR CUSTOMER, not an owner
of their own. An order may belong to a company only, so one owner path such
as ``contact__owner`` cannot express it; and the order's ``owner`` (who took
it) goes stale when the account is handed to someone else. So two checks:

1. the role: ``Policy`` below grants each role all or nothing per action
   (``restrict()`` and the API's ``RolePermission`` apply it);
2. the customer: the record's contact (else its company) must allow the
   customer action in ``CUSTOMER_ACTION``; ``queries.py`` filters lists with
   it and ``may()`` answers for one record (services call ``authorise``).

Orders change with their customer (a sales rep works their team's
accounts' orders); the installed base is service's daily work, so seeing the
customer is enough to record a service visit or correct a serial number.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.db import models

from rapport.core.permissions import Action, Grants, Policy, Role, Scope, can, grant, register
from rapport.trading.models import Asset, Delivery, Order, OrderLine

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from rapport.users.models import User

V, A, C, D, E = Action.VIEW, Action.ADD, Action.CHANGE, Action.DELETE, Action.EXPORT

ORDER_GRANTS: dict[str, Grants] = {
    Role.ADMIN: grant(Scope.ALL),
    Role.MANAGER: grant(Scope.ALL),
    Role.SALES: grant(Scope.ALL, V, A, C, D, E),
    # Service ships and records deliveries; it does not sell.
    Role.SERVICE: grant(Scope.ALL, V, C),
    Role.MARKETING: grant(Scope.ALL, V, E),
    Role.READ_ONLY: grant(Scope.ALL, V),
}
ASSET_GRANTS: dict[str, Grants] = {
    Role.ADMIN: grant(Scope.ALL),
    Role.MANAGER: grant(Scope.ALL),
    Role.SALES: grant(Scope.ALL, V, A, C, E),
    Role.SERVICE: grant(Scope.ALL),
    Role.MARKETING: grant(Scope.ALL, V, E),
    Role.READ_ONLY: grant(Scope.ALL, V),
}

register(Order, Policy(grants=ORDER_GRANTS, owner_field=None))
register(OrderLine, Policy(grants=ORDER_GRANTS, owner_field=None))
register(Delivery, Policy(grants=ORDER_GRANTS, owner_field=None))
register(Asset, Policy(grants=ASSET_GRANTS, owner_field=None))

# What the customer must allow for each action on its orders / assets.
CUSTOMER_ACTION: dict[type[models.Model], dict[Action, Action]] = {
    Order: {V: V, E: V, A: C, C: C, D: C},
    Delivery: {V: V, E: V, A: C, C: C, D: C},
    Asset: {V: V, E: V, A: V, C: V, D: V},
}


def customer_action(model: type[models.Model], action: Action) -> Action:
    return CUSTOMER_ACTION[model][action]


def may(
    user: User | AnonymousUser | None, action: Action, record: Order | Delivery | Asset
) -> bool:
    """May ``user`` do ``action`` on this order, delivery or asset (role and customer)?"""
    if not can(user, action, type(record)):
        return False
    holder: Any = record.order if isinstance(record, Delivery) else record
    return can(user, customer_action(type(record), action), holder.customer)


def authorise_on(actor: User | None, action: Action, record: Order | Delivery | Asset) -> None:
    """The check at the top of every trading service; ``actor=None`` is Rapport itself."""
    if actor is not None and not may(actor, action, record):
        raise PermissionDenied(f"You may not {action} this.")
