"""The customers' world with one deal per customer owner."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from rapport.sales import services
from rapport.sales.models import Deal
from rapport.users.models import User
from tests.customers.conftest import World, north_colleague, world  # noqa: F401 - shared fixtures
from tests.sales.factories import make_deal


@dataclass
class Pipeline:
    world: World
    # By owner key of the deal (and of its contact): "sales", "north", "none", "south", "marketing".
    deals: dict[str, Deal]


@pytest.fixture
def pipeline(world: World, admin: User) -> Pipeline:  # noqa: F811 - the imported fixture
    deals = {
        key: make_deal(
            admin,
            name=f"Deal {key}",
            contact=contact,
            owner=contact.owner,
            amount="1000.00",
        )
        for key, contact in world.contacts.items()
    }
    # A deal without owner is everyone's in the team scopes (like an unassigned contact).
    services.update_deal(admin, deals["none"], {"owner": None})
    return Pipeline(world, deals)
