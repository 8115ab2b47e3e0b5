from typing import Any

from rapport.core.permissions import Action, can
from rapport.customers.models import Company, Contact
from rapport.dataio.models import ImportJob
from rapport.web.navigation import NavItem, register


def _visible(user: Any) -> bool:
    return can(user, Action.VIEW, ImportJob) or any(
        can(user, Action.EXPORT, model) for model in (Contact, Company)
    )


register(NavItem("data", "Import & export", "dataio:home", _visible))
