"""The customers' ``world`` (records of every owner and team), each with a touchpoint."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from rapport.interactions.models import Interaction
from tests.customers.conftest import OWNERS, World, north_colleague, world
from tests.interactions.factories import touchpoint

__all__ = ["OWNERS", "Timelines", "north_colleague", "timelines", "world"]


@dataclass
class Timelines:
    """One touchpoint on each world contact and company, owned like that record."""

    world: World
    on_contacts: dict[str, Interaction]
    on_companies: dict[str, Interaction]


@pytest.fixture
def timelines(world: World) -> Timelines:
    on_contacts = {
        key: touchpoint(
            world.contacts[key].owner, contact=world.contacts[key], subject=f"Call {key}"
        )
        for key in OWNERS
    }
    on_companies = {
        key: touchpoint(
            world.companies[key].owner, company=world.companies[key], subject=f"Meeting {key}"
        )
        for key in OWNERS
    }
    return Timelines(world, on_contacts, on_companies)
