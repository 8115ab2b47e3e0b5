"""Scores are read by whoever may see the contact; only the refresh writes them."""

from rapport.core.permissions import Action, Grants, Policy, Role, Scope, register
from rapport.customers.permissions import CUSTOMER_GRANTS
from rapport.insights.models import (
    CompanyScore,
    CustomerScore,
    LoyaltyTier,
    ModelRun,
    NextBestOffer,
    OfferRule,
)

READ_ONLY_ACTIONS = (Action.VIEW, Action.EXPORT)


def _reading(grants: Grants) -> Grants:
    return {action: scope for action, scope in grants.items() if action in READ_ONLY_ACTIONS}


for model in (CustomerScore, NextBestOffer):
    register(
        model,
        Policy(
            grants={role: _reading(grants) for role, grants in CUSTOMER_GRANTS.items()},
            owner_field="contact__owner",
        ),
    )
register(
    CompanyScore,
    Policy(
        grants={role: _reading(grants) for role, grants in CUSTOMER_GRANTS.items()},
        owner_field="company__owner",
    ),
)
# The refresh history and model diagnostics: everyone who sees customers at all;
# admins and managers may start a refresh (ADD a run).
register(
    ModelRun,
    Policy(
        grants={
            role: {Action.VIEW: Scope.ALL}
            | ({Action.ADD: Scope.ALL} if role in (Role.ADMIN, Role.MANAGER) else {})
            for role, grants in CUSTOMER_GRANTS.items()
            if grants.get(Action.VIEW)
        },
        owner_field=None,
    ),
)

# Tiers and offer rules: everyone who sees customers reads them (the privileges
# are for staff); admins define them.
for settings_model in (LoyaltyTier, OfferRule):
    register(
        settings_model,
        Policy(
            grants={
                role: {Action.VIEW: Scope.ALL}
                | (
                    {Action.ADD: Scope.ALL, Action.CHANGE: Scope.ALL, Action.DELETE: Scope.ALL}
                    if role == Role.ADMIN
                    else {}
                )
                for role, grants in CUSTOMER_GRANTS.items()
                if grants.get(Action.VIEW)
            },
            owner_field=None,
        ),
    )
