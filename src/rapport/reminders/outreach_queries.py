"""Every read of customer reminders, cut to the assets the viewer may see."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from rapport.core.permissions import Action, restrict
from rapport.reminders import outreach_permissions  # noqa: F401  (registers the policies used here)
from rapport.reminders.models import ServiceReminder
from rapport.trading import queries as trading_queries

# What a row shows (customer, product, recipient), joined: a page costs a fixed number of queries.
LIST_RELATED = ("asset__product", "asset__contact", "asset__company", "contact")


def reminders(viewer: Any, action: Action = Action.VIEW) -> QuerySet[ServiceReminder]:
    """Reminders of the assets (so the customers) the viewer sees; the role decides the action."""
    rows = restrict(ServiceReminder.objects.select_related(*LIST_RELATED), viewer, action)
    return rows.filter(asset__in=trading_queries.assets(viewer).values("pk"))
