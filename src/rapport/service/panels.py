"""The "Tickets" panel on contact and company pages: one query."""

from __future__ import annotations

from typing import Any

from rapport.core.permissions import Action, can
from rapport.customers.models import Company, Contact
from rapport.customers.panels import Panel, register
from rapport.service import queries
from rapport.service.models import Ticket
from rapport.users.models import User

LATEST = 5


def tickets_panel(viewer: User, record: Contact | Company) -> dict[str, Any] | None:
    if not can(viewer, Action.VIEW, Ticket):
        return None
    rows = list(queries.tickets_of(viewer, record)[: LATEST + 1])
    key = "contact" if isinstance(record, Contact) else "company"
    return {
        "tickets": rows[:LATEST],
        "more": len(rows) > LATEST,
        "filter": f"{key}={record.pk}",
        "may_add": can(viewer, Action.ADD, Ticket),
    }


register(Panel("tickets", "service/_panel_tickets.html", tickets_panel, column="side", order=25))
