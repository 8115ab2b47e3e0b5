"""The "Orders" and "Installed base" panels on contact and company pages."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from rapport.core.permissions import Action, can
from rapport.customers.models import Company, Contact
from rapport.customers.panels import Panel, register
from rapport.trading import queries
from rapport.trading.models import Asset, Order
from rapport.trading.permissions import customer_action
from rapport.users.models import User

LATEST_ORDERS = 5
ASSETS_SHOWN = 10


def _filter_key(record: Contact | Company) -> str:
    return "contact" if isinstance(record, Contact) else "company"


def orders_panel(viewer: User, record: Contact | Company) -> dict[str, Any] | None:
    if not can(viewer, Action.VIEW, Order):
        return None
    rows = queries.orders_of(viewer, record)
    may_add = can(viewer, Action.ADD, Order) and can(
        viewer, customer_action(Order, Action.ADD), record
    )
    return {
        "orders": list(rows[:LATEST_ORDERS]),
        "total_spent": queries.total_spent(viewer, record),
        "base_currency": settings.BASE_CURRENCY,
        "filter": f"{_filter_key(record)}={record.pk}",
        "may_add": may_add,
    }


def assets_panel(viewer: User, record: Contact | Company) -> dict[str, Any] | None:
    if not can(viewer, Action.VIEW, Asset):
        return None
    rows = list(queries.assets_of(viewer, record)[: ASSETS_SHOWN + 1])
    return {
        "assets": rows[:ASSETS_SHOWN],
        "more": len(rows) > ASSETS_SHOWN,
        "filter": f"{_filter_key(record)}={record.pk}",
    }


register(Panel("orders", "trading/_panel_orders.html", orders_panel, column="side", order=20))
register(Panel("assets", "trading/_panel_assets.html", assets_panel, column="side", order=30))
