"""core.permissions: restrict() (lists) and can() (one record) never disagree.

Policies are registered temporarily on real models with a real owner chain:
Team.created_by (nullable, so there are unowned records), ApiToken.user
(never null) and User.team.created_by (two hops, the first of which may be
empty). The originals are put back after each test.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db import models

from rapport.core.permissions import (
    Action,
    Policy,
    Role,
    Scope,
    authorise,
    can,
    grant,
    policy_for,
    register,
    require,
    restrict,
    role_of,
)
from rapport.users import services
from rapport.users.models import ApiToken, Team, User
from tests.factories import TeamFactory, user_with_role

# One role per scope, and one role with different scopes per action.
MIXED_GRANTS = {
    Role.ADMIN: grant(Scope.ALL),
    Role.MANAGER: grant(Scope.TEAM),
    Role.SALES: {Action.VIEW: Scope.TEAM, Action.CHANGE: Scope.OWN},
    Role.SERVICE: grant(Scope.OWN),
    Role.READ_ONLY: grant(Scope.ALL, Action.VIEW),
    # marketing is not named: it gets nothing
}


@contextmanager
def temporary_policy(model: type[models.Model], policy: Policy) -> Iterator[None]:
    original = policy_for(model)
    register(model, policy)
    try:
        yield
    finally:
        register(model, original)


@pytest.fixture
def people(
    admin: User,
    manager: User,
    sales: User,
    sales_south: User,
    service_user: User,
    marketing: User,
    read_only: User,
) -> dict[str, Any]:
    """Everyone who may ask, including the ones who must get nothing."""
    teamless = user_with_role(Role.SALES, email="teamless@example.com", full_name="Tia Teamless")
    inactive = user_with_role(Role.ADMIN, email="gone@example.com", full_name="Gus Gone")
    inactive.is_active = False
    inactive.save()
    superuser = user_with_role(Role.READ_ONLY, email="root@example.com", full_name="Sue Super")
    superuser.is_superuser = True
    superuser.save()
    return {
        "admin": admin,
        "manager": manager,
        "sales": sales,
        "sales_south": sales_south,
        "service": service_user,
        "marketing": marketing,
        "read_only": read_only,
        "teamless": teamless,
        "inactive": inactive,
        "superuser": superuser,
        "anonymous": AnonymousUser(),
        "nobody": None,
    }


def visible(model: type[models.Model], user: Any, action: Action) -> set[int]:
    return set(restrict(model._default_manager.all(), user, action).values_list("pk", flat=True))


def allowed(records: list[Any], user: Any, action: Action) -> set[int]:
    return {record.pk for record in records if can(user, action, record)}


def assert_agree(model: type[models.Model], people: dict[str, Any]) -> None:
    records = list(model._default_manager.all())
    for name, user in people.items():
        for action in Action:
            shown = visible(model, user, action)
            permitted = allowed(records, user, action)
            assert shown == permitted, f"{name} {action}: restrict {shown} != can {permitted}"
            if shown:  # whoever may act on some record may act on the model
                assert can(user, action, model), f"{name} {action}"


@pytest.fixture
def teams_by_creator(people: dict[str, Any]) -> dict[str, Team]:
    """One team created by each person who can create, and one created by nobody."""
    made = {
        name: TeamFactory(name=f"Made by {name}", created_by=people[name])
        for name in ("admin", "manager", "sales", "sales_south", "service", "teamless")
    }
    made["unowned"] = TeamFactory(name="Made by nobody", created_by=None)
    return made


@pytest.mark.django_db
def test_restrict_and_can_agree_on_every_scope_with_unowned_records(
    people: dict[str, Any], teams_by_creator: dict[str, Team]
) -> None:
    with temporary_policy(Team, Policy(grants=MIXED_GRANTS, owner_field="created_by")):
        assert_agree(Team, people)


@pytest.mark.django_db
def test_each_scope_shows_what_it_promises(
    people: dict[str, Any], teams_by_creator: dict[str, Team]
) -> None:
    t = {name: team.pk for name, team in teams_by_creator.items()}
    everything = set(Team.objects.values_list("pk", flat=True))
    north = {t["manager"], t["sales"], t["service"]}  # created by members of North
    unowned = set(Team.objects.filter(created_by=None).values_list("pk", flat=True))
    assert t["unowned"] in unowned
    with temporary_policy(Team, Policy(grants=MIXED_GRANTS, owner_field="created_by")):
        # ALL
        assert visible(Team, people["admin"], Action.DELETE) == everything
        assert visible(Team, people["read_only"], Action.VIEW) == everything
        # TEAM: the team's records and the unowned ones, not other teams'
        assert visible(Team, people["manager"], Action.CHANGE) == north | unowned
        assert visible(Team, people["sales"], Action.VIEW) == north | unowned
        assert t["sales_south"] not in visible(Team, people["sales"], Action.VIEW)
        # TEAM without a team: own and unowned only
        assert visible(Team, people["teamless"], Action.VIEW) == {t["teamless"]} | unowned
        # OWN: only what they own, never the unowned ones
        assert visible(Team, people["service"], Action.CHANGE) == {t["service"]}
        assert visible(Team, people["sales"], Action.CHANGE) == {t["sales"]}
        # NONE
        assert visible(Team, people["read_only"], Action.CHANGE) == set()
        assert visible(Team, people["marketing"], Action.VIEW) == set()
        assert not can(people["marketing"], Action.VIEW, Team)
        assert not can(people["marketing"], Action.VIEW, teams_by_creator["unowned"])


@pytest.mark.django_db
def test_inactive_anonymous_and_nobody_get_nothing_superusers_count_as_admin(
    people: dict[str, Any], teams_by_creator: dict[str, Team]
) -> None:
    everything = set(Team.objects.values_list("pk", flat=True))
    with temporary_policy(Team, Policy(grants=MIXED_GRANTS, owner_field="created_by")):
        for name in ("inactive", "anonymous", "nobody"):
            for action in Action:
                assert visible(Team, people[name], action) == set(), name
                assert not can(people[name], action, Team), name
                assert not can(people[name], action, teams_by_creator["unowned"]), name
            with pytest.raises(PermissionDenied):
                require(people[name], Action.VIEW, Team)
        # the inactive one is an admin by role, and still gets nothing
        assert people["inactive"].role == Role.ADMIN
        # a superuser whose role says read-only is an admin all the same
        assert role_of(people["superuser"]) == Role.ADMIN
        assert visible(Team, people["superuser"], Action.DELETE) == everything
        assert can(people["superuser"], Action.CHANGE, teams_by_creator["sales_south"])


@pytest.mark.django_db
def test_owner_field_that_is_never_empty(people: dict[str, Any]) -> None:
    for name in ("admin", "manager", "sales", "sales_south", "service", "teamless", "read_only"):
        services.create_api_token(actor=people[name], name=f"{name}'s token")
    with temporary_policy(ApiToken, Policy(grants=MIXED_GRANTS, owner_field="user")):
        assert_agree(ApiToken, people)
        mine = set(ApiToken.objects.filter(user=people["sales"]).values_list("pk", flat=True))
        north = set(ApiToken.objects.filter(user__team__name="North").values_list("pk", flat=True))
        assert visible(ApiToken, people["sales"], Action.VIEW) == north
        assert visible(ApiToken, people["sales"], Action.CHANGE) == mine
    # and the real policy is back: everyone only their own tokens
    assert visible(ApiToken, people["sales"], Action.VIEW) == mine


@pytest.mark.django_db
def test_owner_reached_through_an_empty_relation(
    people: dict[str, Any], teams_by_creator: dict[str, Team]
) -> None:
    """User → team → created_by: users without a team have no owner (unowned)."""
    # put people into teams made by different people
    User.objects.filter(pk=people["sales_south"].pk).update(team=teams_by_creator["sales"])
    User.objects.filter(pk=people["read_only"].pk).update(team=teams_by_creator["unowned"])
    with temporary_policy(User, Policy(grants=MIXED_GRANTS, owner_field="team__created_by")):
        assert_agree(User, people)
        # teamless users (marketing) and users of an unowned team count as unowned
        seen_by_teamless = visible(User, people["teamless"], Action.VIEW)
        assert people["marketing"].pk in seen_by_teamless
        assert people["read_only"].pk in seen_by_teamless
        assert people["sales_south"].pk not in seen_by_teamless


@pytest.mark.django_db
def test_policies_that_cannot_work_are_refused_at_registration() -> None:
    with pytest.raises(ImproperlyConfigured, match="no owner field"):
        register(Team, Policy(grants={Role.SALES: grant(Scope.TEAM)}, owner_field=None))
    assert policy_for(Team).scope(Role.SALES, Action.VIEW) == Scope.ALL  # unchanged
    with pytest.raises(ImproperlyConfigured, match="No permission policy registered"):
        restrict(ContentType.objects.all(), None)


@pytest.mark.django_db
def test_authorise_trusts_rapport_itself_and_checks_people(read_only: User, admin: User) -> None:
    authorise(None, Action.DELETE, Team)  # the command line and jobs
    authorise(admin, Action.DELETE, Team)
    with pytest.raises(PermissionDenied, match="may not delete"):
        authorise(read_only, Action.DELETE, Team)


def test_grant_without_actions_means_every_action() -> None:
    assert grant(Scope.OWN) == dict.fromkeys(Action, Scope.OWN)
    assert grant(Scope.TEAM, Action.VIEW) == {Action.VIEW: Scope.TEAM}
