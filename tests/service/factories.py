"""Builders for the service desk, all through rapport.service.services."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rapport.service import services
from rapport.service.choices import Priority
from rapport.service.models import BusinessCalendar, SlaPolicy, Ticket
from rapport.users.models import User


def make_calendar(actor: User | None = None, **values: Any) -> BusinessCalendar:
    fields: dict[str, Any] = {
        "name": "Office hours",
        "time_zone": "Europe/Berlin",
        "working_days": [0, 1, 2, 3, 4],
        "day_start": dt.time(9),
        "day_end": dt.time(17),
    }
    fields.update(values)
    return services.create_calendar(actor, **fields)


def make_policy(
    actor: User | None = None,
    *,
    calendar: BusinessCalendar,
    priority: str = Priority.NORMAL,
    first_response_minutes: int = 60,
    resolution_minutes: int = 8 * 60,
    warning_minutes: int = 30,
) -> SlaPolicy:
    return services.create_sla_policy(
        actor,
        name=f"{priority} tickets",
        priority=priority,
        calendar=calendar,
        first_response_minutes=first_response_minutes,
        resolution_minutes=resolution_minutes,
        warning_minutes=warning_minutes,
    )


def make_ticket(
    actor: User | None = None, *, now: dt.datetime | None = None, **values: Any
) -> Ticket:
    values.setdefault("subject", "The boiler makes a noise")
    return services.open_ticket(actor, services.TicketInput(**values), now=now)
