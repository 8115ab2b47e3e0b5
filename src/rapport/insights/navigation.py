from rapport.core.permissions import Action, can
from rapport.insights.models import ModelRun
from rapport.web.navigation import NavItem, register

register(
    NavItem(
        "insights", "Insights", "insights:overview", lambda user: can(user, Action.VIEW, ModelRun)
    )
)
