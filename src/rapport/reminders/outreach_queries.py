"""Every read of customer reminders, cut to the assets the viewer may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from rapport.core.permissions import Action, can, restrict
from rapport.reminders import (
    outreach,
    outreach_permissions,  # noqa: F401  (registers the policies used here)
)
from rapport.reminders.models import ServiceReminder
from rapport.reminders.outreach_choices import ReminderKind
from rapport.trading import queries as trading_queries
from rapport.trading.models import Asset

# What a row shows (customer, product, recipient), joined: a page costs a fixed number of queries.
LIST_RELATED = ("asset__product", "asset__contact", "asset__company", "contact")


def reminders(viewer: Any, action: Action = Action.VIEW) -> QuerySet[ServiceReminder]:
    """Reminders of the assets (so the customers) the viewer sees; the role decides the action."""
    rows = restrict(ServiceReminder.objects.select_related(*LIST_RELATED), viewer, action)
    return rows.filter(asset__in=trading_queries.assets(viewer).values("pk"))


# --- one unit's reminders (its page) --------------------------------------------------

ASSET_HISTORY = 10


@dataclass(frozen=True)
class Upcoming:
    """A date of the unit Rapport will remind of, and how far that reminder got."""

    kind: str
    label: str
    due_date: date
    reminder: ServiceReminder | None  # None: not planned yet
    planned_from: date  # when the daily job takes it up (the window opens)


@dataclass(frozen=True)
class AssetReminders:
    upcoming: list[Upcoming]
    # Newest due date first, of the latest ASSET_HISTORY: those not shown as upcoming.
    history: list[ServiceReminder]
    more: bool


def for_asset(viewer: Any, asset: Asset, *, today: date | None = None) -> AssetReminders | None:
    """The reminder state of one unit as its page shows it; None if the viewer sees no reminders.

    One query for the latest reminders; the coming dates are the asset's own
    fields, so another query is needed only for a date whose reminder is older
    than the latest ASSET_HISTORY (a unit with a long past), at most one per kind.
    """
    if not can(viewer, Action.VIEW, ServiceReminder):
        return None
    today = today or timezone.localdate()
    rows = list(
        reminders(viewer).filter(asset=asset).order_by("-due_date", "-id")[: ASSET_HISTORY + 1]
    )
    by_date = {(row.kind, row.due_date): row for row in rows}
    upcoming = []
    reminded = asset.deleted_at is None and asset.replaced_by_id is None
    for kind, date_field in outreach.SOURCES.items() if reminded else ():
        due: date | None = getattr(asset, date_field)
        if due is None or due < today:
            continue
        reminder = by_date.get((kind, due))
        if reminder is None:
            # Not in the latest rows fetched: look it up (only when many are newer).
            reminder = reminders(viewer).filter(asset=asset, kind=kind, due_date=due).first()
        upcoming.append(
            Upcoming(
                kind=kind,
                label=ReminderKind(kind).label,
                due_date=due,
                reminder=reminder,
                planned_from=max(today, due - timedelta(days=settings.SERVICE_REMINDER_DAYS_AHEAD)),
            )
        )
    upcoming.sort(key=lambda entry: entry.due_date)
    shown = {entry.reminder.pk for entry in upcoming if entry.reminder is not None}
    earlier = [row for row in rows[:ASSET_HISTORY] if row.pk not in shown]
    return AssetReminders(upcoming=upcoming, history=earlier, more=len(rows) > ASSET_HISTORY)
