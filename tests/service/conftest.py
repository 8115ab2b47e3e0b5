"""A desk: a Berlin office calendar, a policy per priority, and tickets of two teams."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from rapport.service.choices import Priority
from rapport.service.models import BusinessCalendar, SlaPolicy, Ticket
from rapport.users.models import User
from tests.customers.conftest import World, north_colleague, world  # noqa: F401 - shared fixtures
from tests.service.factories import make_calendar, make_policy, make_ticket


@dataclass
class Desk:
    world: World
    calendar: BusinessCalendar
    policies: dict[str, SlaPolicy]
    north: Ticket  # team North, customer owned by the sales user
    south: Ticket  # team South
    untaken: Ticket  # no team yet


@pytest.fixture
def desk(world: World, admin: User, sales: User, sales_south: User, service_user: User) -> Desk:  # noqa: F811
    calendar = make_calendar(admin)
    policies: dict[str, SlaPolicy] = {
        str(priority): make_policy(admin, calendar=calendar, priority=priority)
        for priority in (Priority.NORMAL, Priority.HIGH)
    }
    north = make_ticket(
        admin, subject="North boiler", contact=world.contacts["sales"], team=sales.team
    )
    south = make_ticket(
        admin, subject="South leak", contact=world.contacts["south"], team=sales_south.team
    )
    untaken = make_ticket(admin, subject="Nobody has it yet", contact=world.contacts["none"])
    return Desk(world, calendar, policies, north, south, untaken)


# Monday 1 December 2025, 10:00 in Berlin (09:00 UTC).
MONDAY_10 = dt.datetime(2025, 12, 1, 9, 0, tzinfo=dt.UTC)
