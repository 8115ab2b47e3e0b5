"""Who may see and change pipelines, deals and sales targets.

Deals follow their **owner**, like contacts and companies: sales work their
own and their team's deals (and unassigned ones), delete only their own;
managers and admins everything. Service and marketing see the pipeline (a
caller's open deal matters to them) but do not sell; marketing exports it to
measure campaigns. Read-only sees everything and changes nothing.

Lines and the stage history follow their deal (``deal__owner``). Pipelines
and stages are read by everyone and shaped by admins. Targets follow the
person they are for: managers and admins set them, sales read their team's.
"""

from __future__ import annotations

from rapport.core.permissions import Action, Grants, Policy, Role, Scope, grant, register
from rapport.sales.models import Deal, DealLine, Pipeline, SalesTarget, Stage, StageChange

V, A, C, D, E = Action.VIEW, Action.ADD, Action.CHANGE, Action.DELETE, Action.EXPORT

DEAL_GRANTS: dict[str, Grants] = {
    Role.ADMIN: grant(Scope.ALL),
    Role.MANAGER: grant(Scope.ALL),
    Role.SALES: {V: Scope.TEAM, A: Scope.TEAM, C: Scope.TEAM, D: Scope.OWN, E: Scope.TEAM},
    Role.SERVICE: grant(Scope.ALL, V),
    Role.MARKETING: grant(Scope.ALL, V, E),
    Role.READ_ONLY: grant(Scope.ALL, V),
}
PIPELINE_GRANTS: dict[str, Grants] = {
    **{role: grant(Scope.ALL, V) for role in Role.values},
    Role.ADMIN: grant(Scope.ALL),
}
TARGET_GRANTS: dict[str, Grants] = {
    Role.ADMIN: grant(Scope.ALL),
    Role.MANAGER: grant(Scope.ALL),
    Role.SALES: grant(Scope.TEAM, V),
    Role.READ_ONLY: grant(Scope.ALL, V),
}

register(Deal, Policy(grants=DEAL_GRANTS))
register(DealLine, Policy(grants=DEAL_GRANTS, owner_field="deal__owner"))
register(StageChange, Policy(grants=DEAL_GRANTS, owner_field="deal__owner"))
register(Pipeline, Policy(grants=PIPELINE_GRANTS, owner_field=None))
register(Stage, Policy(grants=PIPELINE_GRANTS, owner_field=None))
register(SalesTarget, Policy(grants=TARGET_GRANTS))
