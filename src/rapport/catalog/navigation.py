from rapport.catalog.models import Product
from rapport.core.permissions import Action, can
from rapport.web.navigation import NavItem, register

register(
    NavItem(
        "products", "Products", "catalog:products", lambda user: can(user, Action.VIEW, Product)
    )
)
