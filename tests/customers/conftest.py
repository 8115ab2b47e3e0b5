"""Records owned by people of different teams, for permission and list tests."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from rapport.core.permissions import Role
from rapport.customers.models import Company, Contact
from rapport.users.models import Team, User
from tests.customers.factories import make_company, make_contact
from tests.factories import user_with_role

# Who owns each record of the world: the sales user, a North colleague, nobody,
# the South sales user, and the marketing user (who is in no team).
OWNERS = ("sales", "north", "none", "south", "marketing")


@dataclass
class World:
    contacts: dict[str, Contact]
    companies: dict[str, Company]

    def contact_name(self, key: str) -> str:
        return self.contacts[key].full_name


@pytest.fixture
def north_colleague(team_north: Team) -> User:
    return user_with_role(Role.SALES, team_north, email="nils@example.com", full_name="Nils North")


@pytest.fixture
def world(
    sales: User, north_colleague: User, sales_south: User, marketing: User, admin: User
) -> World:
    owners: dict[str, User | None] = {
        "sales": sales,
        "north": north_colleague,
        "none": None,
        "south": sales_south,
        "marketing": marketing,
    }
    contacts = {
        key: make_contact(
            admin,
            first_name=f"{key.capitalize()}owned",
            last_name="Person",
            emails=[f"{key}owned@example.org"],
            owner=owner,
        )
        for key, owner in owners.items()
    }
    companies = {
        key: make_company(admin, name=f"{key.capitalize()}owned GmbH", owner=owner)
        for key, owner in owners.items()
    }
    return World(contacts, companies)
