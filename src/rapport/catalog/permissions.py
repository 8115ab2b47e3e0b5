"""Who may do what with the catalog and exchange rates.

The catalog is shared: everyone signed in sees every product and rate (sales
quote from it, service looks up intervals); only admins and managers change
prices, products and rates. Nothing here has an owner, so scopes are all or none.
"""

from rapport.catalog.models import ExchangeRate, Product
from rapport.core.permissions import Action, Grants, Policy, Role, Scope, grant, register

V, E = Action.VIEW, Action.EXPORT

CATALOG_GRANTS: dict[str, Grants] = {
    Role.ADMIN: grant(Scope.ALL),
    Role.MANAGER: grant(Scope.ALL),
    Role.SALES: grant(Scope.ALL, V, E),
    Role.SERVICE: grant(Scope.ALL, V, E),
    Role.MARKETING: grant(Scope.ALL, V, E),
    Role.READ_ONLY: grant(Scope.ALL, V),
}

register(Product, Policy(grants=CATALOG_GRANTS, owner_field=None))
register(ExchangeRate, Policy(grants=CATALOG_GRANTS, owner_field=None))
