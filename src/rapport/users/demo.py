"""Demo teams and colleagues, one or more per role."""

from __future__ import annotations

import secrets
import unicodedata

from django.contrib.auth.hashers import make_password
from django.test.utils import override_settings

from rapport.core.demo import DemoContext, register
from rapport.core.permissions import Role
from rapport.users import services
from rapport.users.models import Team, User

FIRST_NAMES = [
    "Amira",
    "Ben",
    "Chloé",
    "Dmitri",
    "Elena",
    "Farid",
    "Grace",
    "Hugo",
    "Ines",
    "Jonas",
    "Keiko",
    "Liam",
    "Maya",
    "Nils",
    "Olga",
    "Pablo",
    "Quinn",
    "Rosa",
    "Sven",
    "Tara",
]
LAST_NAMES = [
    "Andersen",
    "Bakker",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fischer",
    "García",
    "Hansen",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "Lefèvre",
    "Müller",
    "Nowak",
    "Okafor",
    "Pereira",
]
TEAMS = [
    ("Sales North", "Accounts north of the river", Role.SALES),
    ("Sales South", "Accounts south of the river", Role.SALES),
    ("Customer Service", "Support, maintenance and repairs", Role.SERVICE),
    ("Marketing", "Campaigns, surveys and events", Role.MARKETING),
]


# Only while the users are created: their password is replaced by the strong hash at once.
QUICK_HASHER = "django.contrib.auth.hashers.MD5PasswordHasher"


@register(10, "teams and users")
def load(context: DemoContext) -> None:
    rng = context.rng
    # Random on purpose (demo logins must not be guessable), and long enough that the
    # similarity check against a name or e-mail can never refuse it.
    password = secrets.token_urlsafe(18)
    people: list[User] = []
    names = iter(
        rng.sample(
            [(first, last) for first in FIRST_NAMES for last in LAST_NAMES],
            k=len(FIRST_NAMES) * len(LAST_NAMES),
        )
    )
    per_sales_team = max(2, min(25, context.contacts // 5000))
    # Everyone shares the one demo password: hash it once (a strong hash takes most of a
    # second, which is a minute for a large demo's colleagues) and give every one that hash.
    with override_settings(PASSWORD_HASHERS=[QUICK_HASHER]):
        for team_name, description, role in TEAMS:
            team = services.create_team(actor=None, name=team_name, description=description)
            size = per_sales_team if role == Role.SALES else 2
            for _ in range(size):
                people.append(_person(next(names), role, team, password))
        people.append(_person(next(names), Role.MANAGER, None, password))
        people.append(_person(next(names), Role.READ_ONLY, None, password))
    hashed = make_password(password)
    User.objects.filter(pk__in=[user.pk for user in people]).update(password=hashed)
    for user in people:
        user.password = hashed
    context.made["users"] = people
    context.say(f"  {len(people)} demo users, each signs in with password: {password}")
    for user in people:
        context.say(f"    {user.get_role_display():10} {user.email}")


def _person(name: tuple[str, str], role: str, team: Team | None, password: str) -> User:
    first, last = name
    ascii_name = unicodedata.normalize("NFKD", f"{first}.{last}").encode("ascii", "ignore")
    email = f"{ascii_name.decode().lower()}@demo.rapport.example"
    return services.create_user(
        actor=None,
        email=email,
        full_name=f"{first} {last}",
        role=role,
        team=team,
        password=password,
    )
