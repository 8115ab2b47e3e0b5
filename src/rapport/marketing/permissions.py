"""Who may see and change segments, campaigns and their messages.

Marketing and admins run marketing; managers look on (and export); every
other role may see segments (a sales rep uses "customers at risk" as a call
list; its members are still only the contacts they may see) but not
campaigns, whose content and reach are marketing's business. Segments and
campaigns are shared work of the marketing team, so scopes are all or nothing.
"""

from __future__ import annotations

from rapport.core.permissions import Action, Grants, Policy, Role, Scope, grant, register
from rapport.marketing.models import (
    AutomationRule,
    AutomationRun,
    Campaign,
    ListMember,
    Message,
    Segment,
    Unsubscribe,
    WebhookDelivery,
    WebhookEndpoint,
)

V, E = Action.VIEW, Action.EXPORT

SEGMENT_GRANTS: dict[str, Grants] = {
    Role.ADMIN: grant(Scope.ALL),
    Role.MARKETING: grant(Scope.ALL),
    Role.MANAGER: grant(Scope.ALL, V, E),
    Role.SALES: grant(Scope.ALL, V, E),
    Role.SERVICE: grant(Scope.ALL, V),
    Role.READ_ONLY: grant(Scope.ALL, V),
}
CAMPAIGN_GRANTS: dict[str, Grants] = {
    Role.ADMIN: grant(Scope.ALL),
    Role.MARKETING: grant(Scope.ALL),
    Role.MANAGER: grant(Scope.ALL, V, E),
}

register(Segment, Policy(grants=SEGMENT_GRANTS, owner_field=None))
register(ListMember, Policy(grants=SEGMENT_GRANTS, owner_field=None))
register(Campaign, Policy(grants=CAMPAIGN_GRANTS, owner_field=None))
register(Message, Policy(grants=CAMPAIGN_GRANTS, owner_field=None))
register(Unsubscribe, Policy(grants=CAMPAIGN_GRANTS, owner_field=None))
# Automation acts on its own, for everyone: admins set it up, marketing and managers look on.
AUTOMATION_GRANTS: dict[str, Grants] = {
    Role.ADMIN: grant(Scope.ALL),
    Role.MARKETING: grant(Scope.ALL, V),
    Role.MANAGER: grant(Scope.ALL, V),
}
register(AutomationRule, Policy(grants=AUTOMATION_GRANTS, owner_field=None))
register(AutomationRun, Policy(grants=AUTOMATION_GRANTS, owner_field=None))
# Webhooks send customer data out of the system: admins only.
WEBHOOK_GRANTS: dict[str, Grants] = {Role.ADMIN: grant(Scope.ALL)}
register(WebhookEndpoint, Policy(grants=WEBHOOK_GRANTS, owner_field=None))
register(WebhookDelivery, Policy(grants=WEBHOOK_GRANTS, owner_field=None))
