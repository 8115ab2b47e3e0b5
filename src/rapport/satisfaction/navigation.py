from rapport.core.permissions import Action, can
from rapport.satisfaction.models import Survey
from rapport.web.navigation import NavItem, register

register(
    NavItem(
        "surveys", "Surveys", "satisfaction:surveys", lambda user: can(user, Action.VIEW, Survey)
    )
)
