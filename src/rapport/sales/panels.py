"""The "Deals" panel on contact and company pages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings

from rapport.core.permissions import Action, can
from rapport.customers.models import Company, Contact
from rapport.customers.panels import Panel, register
from rapport.sales import queries
from rapport.sales.choices import DealStatus
from rapport.sales.models import Deal
from rapport.users.models import User

DEALS_SHOWN = 5


def deals_panel(viewer: User, record: Contact | Company) -> dict[str, Any] | None:
    """One query: the latest deals (open first); the open total is summed from them and,
    only when more exist than are shown, with a second query."""
    if not can(viewer, Action.VIEW, Deal):
        return None
    rows = list(queries.deals_of(viewer, record)[: DEALS_SHOWN + 1])
    shown = rows[:DEALS_SHOWN]
    if len(rows) > DEALS_SHOWN:
        open_total = queries.open_total_of(viewer, record)
    else:
        open_total = sum(
            (deal.amount_base for deal in shown if deal.status == DealStatus.OPEN), Decimal("0.00")
        )
    key = "contact" if isinstance(record, Contact) else "company"
    return {
        "deals": shown,
        "open_total": open_total,
        "base_currency": settings.BASE_CURRENCY,
        "filter": f"{key}={record.pk}",
        "may_add": can(viewer, Action.ADD, Deal),
    }


register(Panel("deals", "sales/_panel_deals.html", deals_panel, column="side", order=15))
