from rapport.core.permissions import Action, can
from rapport.sales.models import Deal
from rapport.web.navigation import NavItem, register

register(NavItem("deals", "Deals", "sales:board", lambda user: can(user, Action.VIEW, Deal)))
