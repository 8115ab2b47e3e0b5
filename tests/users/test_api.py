"""/api/v1/users and /api/v1/teams per role, validation, and ETag/If-Match."""

from __future__ import annotations

from typing import Any

import pytest

from rapport.core.api.versioning import VersionedRecordMixin
from rapport.core.permissions import Role
from rapport.core.services import save_changes
from rapport.users import services
from rapport.users.models import Team, User
from tests.factories import TEST_PASSWORD, TeamFactory, user_with_role

ROLES = Role.values


def error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body: dict[str, Any] = response.json()
    assert set(body) == {"detail", "errors"}
    assert isinstance(body["detail"], str)
    assert body["detail"]
    return body


def field_error(response: Any, field: str) -> str:
    """A 400 that names ``field``; returns its first message."""
    body = error(response, 400)
    assert field in body["errors"], body
    assert field in body["detail"]
    messages = body["errors"][field]
    assert messages
    assert all(isinstance(message, str) for message in messages)
    return str(messages[0])


@pytest.fixture
def colleague(team_south: Team) -> User:
    return user_with_role(
        Role.SERVICE, team_south, email="colleague@example.com", full_name="Cole League"
    )


@pytest.fixture
def empty_team(db: None) -> Team:
    return TeamFactory(name="Empty")


def new_user(**overrides: Any) -> dict[str, Any]:
    return {
        "email": "new.person@example.com",
        "full_name": "New Person",
        "role": "sales",
        "password": TEST_PASSWORD,
        **overrides,
    }


# --- per role -------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_everyone_lists_and_reads_users_and_teams(
    role: str, user_of_role: Any, api_for: Any, colleague: User, team_north: Team
) -> None:
    me = user_of_role(role)
    api = api_for(me)

    users = api.get("/api/v1/users")
    assert users.status_code == 200
    emails = {row["email"] for row in users.json()["results"]}
    assert {me.email, colleague.email} <= emails
    detail = api.get(f"/api/v1/users/{colleague.pk}")
    assert detail.status_code == 200
    assert detail.json()["full_name"] == "Cole League"
    assert detail.json()["team"] == colleague.team_id
    assert "password" not in detail.json()

    teams = api.get("/api/v1/teams")
    assert teams.status_code == 200
    assert {"North", "South"} <= {row["name"] for row in teams.json()["results"]}
    assert api.get(f"/api/v1/teams/{team_north.pk}").json()["name"] == "North"

    me_too = api.get("/api/v1/me").json()
    assert (me_too["id"], me_too["role"]) == (me.pk, role)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_only_admins_add_and_change_users(
    role: str, user_of_role: Any, api_for: Any, colleague: User
) -> None:
    api = api_for(user_of_role(role))
    is_admin = role == Role.ADMIN

    created = api.post("/api/v1/users", new_user())
    if is_admin:
        assert created.status_code == 201, created.content
        assert created.json()["email"] == "new.person@example.com"
        assert "password" not in created.json()
        assert created["ETag"]
    else:
        error(created, 403)
    assert User.objects.filter(email="new.person@example.com").exists() is is_admin
    # others learn nothing about what would be valid: their answer is 403 before any check
    invalid = api.post("/api/v1/users", {"email": "bad", "role": "boss"})
    error(invalid, 400 if is_admin else 403)

    changed = api.patch(f"/api/v1/users/{colleague.pk}", {"full_name": "Cole Changed"})
    if is_admin:
        assert changed.status_code == 200, changed.content
        assert changed.json()["full_name"] == "Cole Changed"
    else:
        error(changed, 403)
    stored = User.objects.get(pk=colleague.pk)
    assert (stored.full_name == "Cole Changed") is is_admin

    replaced = api.put(
        f"/api/v1/users/{colleague.pk}",
        {"email": colleague.email, "full_name": "Cole Put", "role": "marketing", "team": None},
    )
    if is_admin:
        assert replaced.status_code == 200, replaced.content
        assert (replaced.json()["role"], replaced.json()["team"]) == ("marketing", None)
    else:
        error(replaced, 403)
    assert (User.objects.get(pk=colleague.pk).role == "marketing") is is_admin


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_only_admins_add_change_and_delete_teams(
    role: str, user_of_role: Any, api_for: Any, empty_team: Team
) -> None:
    api = api_for(user_of_role(role))
    is_admin = role == Role.ADMIN

    created = api.post("/api/v1/teams", {"name": "West", "description": "coast"})
    if is_admin:
        assert created.status_code == 201, created.content
        assert created.json()["name"] == "West"
        assert created.json()["version"] == 1
    else:
        error(created, 403)
    assert Team.objects.filter(name="West").exists() is is_admin

    changed = api.patch(f"/api/v1/teams/{empty_team.pk}", {"description": "now with purpose"})
    if is_admin:
        assert changed.status_code == 200, changed.content
    else:
        error(changed, 403)
    stored = Team.objects.get(pk=empty_team.pk)
    assert (stored.description == "now with purpose") is is_admin

    deleted = api.delete(f"/api/v1/teams/{empty_team.pk}")
    if is_admin:
        assert deleted.status_code == 204
        assert deleted.content == b""
    else:
        error(deleted, 403)
    assert Team.objects.filter(pk=empty_team.pk).exists() is not is_admin


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_unknown_ids_are_404(role: str, user_of_role: Any, api_for: Any) -> None:
    api = api_for(user_of_role(role))
    for url in ("/api/v1/users/987654", "/api/v1/teams/987654", "/api/v1/teams/north"):
        body = error(api.get(url), 404)
        assert body["errors"] == {}


@pytest.mark.django_db
def test_admin_changing_an_unknown_id_is_404(api_for: Any, admin: User) -> None:
    api = api_for(admin)
    error(api.patch("/api/v1/users/987654", {"full_name": "Ghost"}), 404)
    error(api.patch("/api/v1/teams/987654", {"name": "Ghost"}), 404)
    error(api.delete("/api/v1/teams/987654"), 404)


# --- validation ----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field", "says"),
    [
        (new_user(email="not-an-email"), "email", "valid"),
        (new_user(email=""), "email", ""),
        (new_user(email="readonly@example.com"), "email", "already"),
        (new_user(email="ReadOnly@Example.COM"), "email", "already"),
        (new_user(role="boss"), "role", "boss"),
        (new_user(team=987654), "team", "987654"),
        (new_user(full_name=""), "full_name", ""),
        (new_user(password="12345678"), "password", ""),
        ({"email": "x@example.com", "role": "sales"}, "full_name", "required"),
    ],
    ids=[
        "bad email",
        "empty email",
        "duplicate email",
        "duplicate email in other case",
        "unknown role",
        "unknown team",
        "empty name",
        "weak password",
        "missing name",
    ],
)
def test_invalid_new_users_are_400_naming_the_field(
    api_for: Any, admin: User, read_only: User, payload: dict[str, Any], field: str, says: str
) -> None:
    count = User.objects.count()
    message = field_error(api_for(admin).post("/api/v1/users", payload), field)
    assert says in message
    assert User.objects.count() == count


@pytest.mark.django_db
def test_invalid_changes_to_users_are_400_naming_the_field(
    api_for: Any, admin: User, colleague: User, read_only: User
) -> None:
    api = api_for(admin)
    url = f"/api/v1/users/{colleague.pk}"
    assert "already" in field_error(api.patch(url, {"email": "READONLY@example.com"}), "email")
    field_error(api.patch(url, {"email": "nope"}), "email")
    field_error(api.patch(url, {"role": "emperor"}), "role")
    field_error(api.patch(url, {"full_name": "   "}), "full_name")
    # the last admin cannot leave
    message = field_error(api.patch(f"/api/v1/users/{admin.pk}", {"role": "sales"}), "role")
    assert "at least one active admin" in message
    assert "yourself" in field_error(
        api.patch(f"/api/v1/users/{admin.pk}", {"is_active": False}), "is_active"
    )
    stored = User.objects.get(pk=colleague.pk)
    assert (stored.email, stored.role, stored.version) == (colleague.email, "service", 1)


@pytest.mark.django_db
def test_invalid_teams_are_400_naming_the_field(
    api_for: Any, admin: User, team_north: Team
) -> None:
    api = api_for(admin)
    assert "already exists" in field_error(api.post("/api/v1/teams", {"name": "north"}), "name")
    field_error(api.post("/api/v1/teams", {"name": ""}), "name")
    field_error(api.post("/api/v1/teams", {"name": "x" * 101}), "name")
    field_error(api.post("/api/v1/teams", {}), "name")
    team_south = TeamFactory(name="South")
    message = field_error(api.patch(f"/api/v1/teams/{team_south.pk}", {"name": "NORTH"}), "name")
    assert "already exists" in message
    assert Team.objects.get(pk=team_south.pk).name == "South"


@pytest.mark.django_db
def test_a_team_with_members_is_not_deleted(api_for: Any, admin: User, sales: User) -> None:
    team = sales.team
    assert team is not None
    body = error(api_for(admin).delete(f"/api/v1/teams/{team.pk}"), 400)
    assert "North still has 1 member" in body["detail"]
    assert "move them to another team" in body["detail"]
    assert Team.objects.filter(pk=team.pk).exists()


@pytest.mark.django_db
def test_a_team_without_members_is_deleted(api_for: Any, admin: User, empty_team: Team) -> None:
    api = api_for(admin)
    assert api.delete(f"/api/v1/teams/{empty_team.pk}").status_code == 204
    error(api.get(f"/api/v1/teams/{empty_team.pk}"), 404)
    assert not Team.objects.filter(pk=empty_team.pk).exists()


# --- ETag / If-Match -------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["users", "teams"])
def test_etag_if_match_round_trip(
    api_for: Any, admin: User, colleague: User, empty_team: Team, kind: str
) -> None:
    api = api_for(admin)
    record = colleague if kind == "users" else empty_team
    url = f"/api/v1/{kind}/{record.pk}"
    change = {"full_name": "Cole Two"} if kind == "users" else {"name": "Empty Two"}

    read = api.get(url)
    etag = read["ETag"]
    assert etag == f'"{record.pk}-1"'
    assert read.json()["version"] == 1

    patched = api.patch(url, change, HTTP_IF_MATCH=etag)
    assert patched.status_code == 200, patched.content
    new_etag = patched["ETag"]
    assert new_etag != etag
    assert patched.json()["version"] == 2
    assert api.get(url)["ETag"] == new_etag

    # the old ETag is stale now: 412, and nothing changes
    stale = api.patch(url, {**dict.fromkeys(change, "Stale Write")}, HTTP_IF_MATCH=etag)
    body = error(stale, 412)
    assert body["errors"] == {}
    assert "changed since you read it" in body["detail"]
    assert api.get(url).json()["version"] == 2
    assert "Stale Write" not in str(api.get(url).json())

    # the current one works, also weak and in a list
    again = api.patch(url, change, HTTP_IF_MATCH=f'"other", W/{new_etag}')
    assert again.status_code == 200
    assert again.json()["version"] == 3


@pytest.mark.django_db
def test_two_clients_racing_first_wins_second_gets_412(
    api_for: Any, admin: User, team_north: Team
) -> None:
    second_admin = user_with_role(Role.ADMIN, email="admin2@example.com", full_name="Al Admin")
    first, second = api_for(admin), api_for(second_admin)
    url = f"/api/v1/teams/{team_north.pk}"
    etag_first, etag_second = first.get(url)["ETag"], second.get(url)["ETag"]
    assert etag_first == etag_second

    assert first.patch(url, {"description": "first"}, HTTP_IF_MATCH=etag_first).status_code == 200
    error(second.patch(url, {"description": "second"}, HTTP_IF_MATCH=etag_second), 412)

    stored = Team.objects.get(pk=team_north.pk)
    assert (stored.description, stored.version) == ("first", 2)
    assert [h.description for h in stored.history.all()][:1] == ["first"]


@pytest.mark.django_db
def test_a_write_between_the_etag_check_and_the_save_is_still_412(
    api_for: Any, admin: User, team_north: Team, monkeypatch: Any
) -> None:
    """Both requests pass the If-Match check; the database decides who was first."""
    original = VersionedRecordMixin.expected_version

    def check_then_someone_else_saves(self: Any, record: Any) -> int | None:
        expected = original(self, record)
        other_copy = Team.objects.get(pk=record.pk)
        save_changes(other_copy, {"description": "someone else"}, actor=None)
        return expected

    monkeypatch.setattr(VersionedRecordMixin, "expected_version", check_then_someone_else_saves)
    api = api_for(admin)
    url = f"/api/v1/teams/{team_north.pk}"
    etag = api.get(url)["ETag"]
    body = error(api.patch(url, {"description": "mine"}, HTTP_IF_MATCH=etag), 412)
    assert "changed since you read it" in body["detail"]
    assert Team.objects.get(pk=team_north.pk).description == "someone else"


@pytest.mark.django_db
def test_without_if_match_the_last_write_wins(api_for: Any, admin: User, team_north: Team) -> None:
    api = api_for(admin)
    url = f"/api/v1/teams/{team_north.pk}"
    api.get(url)
    services.update_team(actor=admin, team=team_north, name="North", description="meanwhile")
    patched = api.patch(url, {"description": "mine"})
    assert patched.status_code == 200
    assert patched.json()["version"] == 3
    assert patched["ETag"] == f'"{team_north.pk}-3"'
    assert Team.objects.get(pk=team_north.pk).description == "mine"
    assert api.patch(url, {"description": "star"}, HTTP_IF_MATCH="*").status_code == 200


@pytest.mark.django_db
def test_if_none_match_answers_304_while_the_copy_is_current(
    api_for: Any, read_only: User, admin: User, colleague: User
) -> None:
    api = api_for(read_only)
    url = f"/api/v1/users/{colleague.pk}"
    etag = api.get(url)["ETag"]
    cached = api.get(url, HTTP_IF_NONE_MATCH=etag)
    assert cached.status_code == 304
    assert cached.content == b""
    assert cached["ETag"] == etag
    services.update_user(actor=admin, user=colleague, changes={"full_name": "Cole New"})
    fresh = api.get(url, HTTP_IF_NONE_MATCH=etag)
    assert fresh.status_code == 200
    assert fresh.json()["full_name"] == "Cole New"
    assert fresh["ETag"] != etag


@pytest.mark.django_db
def test_a_user_deactivated_through_the_api_loses_api_access(
    api_for: Any, admin: User, colleague: User
) -> None:
    theirs = api_for(colleague)
    assert theirs.get("/api/v1/me").status_code == 200
    api = api_for(admin)
    etag = api.get(f"/api/v1/users/{colleague.pk}")["ETag"]
    response = api.patch(f"/api/v1/users/{colleague.pk}", {"is_active": False}, HTTP_IF_MATCH=etag)
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert theirs.get("/api/v1/me").status_code == 401


@pytest.mark.django_db
def test_users_list_filters_and_sorts_by_last_login(
    api_for: Any, read_only: User, admin: User, colleague: User
) -> None:
    from django.utils import timezone

    User.objects.filter(pk=colleague.pk).update(last_login=timezone.now())
    api = api_for(read_only)
    rows = api.get("/api/v1/users?ordering=-last_login").json()["results"]
    assert rows[0]["id"] != colleague.pk  # never-logged-in users come first descending
    assert rows[-1]["id"] == colleague.pk
    rows = api.get("/api/v1/users?ordering=last_login").json()["results"]
    assert rows[0]["id"] == colleague.pk
    only = api.get("/api/v1/users", {"role": "service", "q": "cole"}).json()["results"]
    assert [row["id"] for row in only] == [colleague.pk]


@pytest.mark.django_db
def test_a_member_joining_during_the_delete_makes_it_409_not_500(
    api_for: Any, admin: User, sales: User, monkeypatch: Any
) -> None:
    """The member check passed; the database still refuses to orphan the member."""

    def delete_without_the_check(*, actor: User, team: Team) -> None:
        team.delete()

    monkeypatch.setattr(services, "delete_team", delete_without_the_check)
    team = sales.team
    assert team is not None
    body = error(api_for(admin).delete(f"/api/v1/teams/{team.pk}"), 409)
    assert "still refer to this one" in body["detail"]
    assert body["errors"] == {}
    assert Team.objects.filter(pk=team.pk).exists()
