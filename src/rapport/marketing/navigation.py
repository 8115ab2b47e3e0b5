from rapport.core.permissions import Action, can
from rapport.marketing.models import AutomationRule, Campaign, Segment
from rapport.web.navigation import NavItem, register

register(
    NavItem(
        "segments", "Segments", "marketing:segments", lambda user: can(user, Action.VIEW, Segment)
    )
)
register(
    NavItem(
        "campaigns",
        "Campaigns",
        "marketing:campaigns",
        lambda user: can(user, Action.VIEW, Campaign),
    )
)
register(
    NavItem(
        "automation",
        "Automation",
        "marketing:automation",
        lambda user: can(user, Action.VIEW, AutomationRule),
    )
)
