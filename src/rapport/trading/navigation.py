from rapport.core.permissions import Action, can
from rapport.trading.models import Order
from rapport.web.navigation import NavItem, register

register(NavItem("orders", "Orders", "trading:orders", lambda user: can(user, Action.VIEW, Order)))
