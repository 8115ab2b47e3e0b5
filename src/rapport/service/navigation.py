from rapport.core.permissions import Action, can
from rapport.service.models import Ticket
from rapport.web.navigation import NavItem, register

register(
    NavItem("tickets", "Tickets", "service:tickets", lambda user: can(user, Action.VIEW, Ticket))
)
