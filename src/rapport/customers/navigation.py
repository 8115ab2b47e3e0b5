from rapport.core.permissions import Action, can
from rapport.customers.models import Company, Contact
from rapport.web.navigation import NavItem, register

register(
    NavItem(
        "customers", "Customers", "customers:contacts", lambda user: can(user, Action.VIEW, Contact)
    )
)
register(
    NavItem(
        "companies",
        "Companies",
        "customers:companies",
        lambda user: can(user, Action.VIEW, Company),
    )
)
