"""Factories for tests: build records the way Rapport's services would."""

from __future__ import annotations

from typing import Any

import factory

from rapport.core.permissions import Role
from rapport.users.models import Team, User

TEST_PASSWORD = "correct horse battery staple"


class TeamFactory(factory.django.DjangoModelFactory[Team]):
    class Meta:
        model = Team
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Team {n}")


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    role = Role.SALES
    team = None
    is_active = True

    @factory.post_generation
    def password(self, create: bool, extracted: str | None, **kwargs: Any) -> None:
        self.set_password(extracted or TEST_PASSWORD)
        if create:
            self.save(update_fields=["password"])


def user_with_role(role: str, team: Team | None = None, **fields: Any) -> User:
    return UserFactory(role=role, team=team, is_staff=role == Role.ADMIN, **fields)
