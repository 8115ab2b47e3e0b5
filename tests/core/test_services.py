"""core.services: optimistic locking, audit history and create/save stamps, on Team."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from rapport.core.services import ConflictError, create_record, save_changes
from rapport.users import services as user_services
from rapport.users.models import Team, User
from tests.factories import TEST_PASSWORD, user_with_role


@pytest.fixture
def team(admin: User) -> Team:
    return create_record(Team(name="Alpha", description="first"), actor=admin)


def fresh(team: Team) -> Team:
    return Team.objects.get(pk=team.pk)


@pytest.mark.django_db
def test_create_record_stamps_who_and_starts_the_history(team: Team, admin: User) -> None:
    team = fresh(team)
    assert team.version == 1
    assert team.created_by == admin
    assert team.updated_by == admin
    assert team.created_at == team.updated_at
    [created] = team.history.all()
    assert created.history_type == "+"
    assert created.history_user == admin


@pytest.mark.django_db
def test_save_with_the_current_version_bumps_it_and_records_who_changed_what(
    team: Team, admin: User, manager: User
) -> None:
    before = fresh(team).updated_at
    saved = save_changes(
        fresh(team), {"name": "Alpha One"}, actor=manager, expected_version=1, reason="Renamed"
    )
    assert saved.version == 2
    stored = fresh(team)
    assert (stored.name, stored.description, stored.version) == ("Alpha One", "first", 2)
    assert stored.updated_by == manager
    assert stored.updated_at > before
    latest, first = team.history.all()[:2]
    assert latest.history_type == "~"
    assert latest.history_user == manager
    assert latest.history_change_reason == "Renamed"
    delta = latest.diff_against(first)
    assert [(c.field, c.old, c.new) for c in delta.changes] == [("name", "Alpha", "Alpha One")]


@pytest.mark.django_db
def test_stale_version_is_refused_with_a_message_and_nothing_is_written(
    team: Team, admin: User, manager: User
) -> None:
    save_changes(fresh(team), {"description": "second"}, actor=admin, expected_version=1)
    history_before = team.history.count()
    stale = fresh(team)
    with pytest.raises(ConflictError) as conflict:
        save_changes(stale, {"name": "Mine"}, actor=manager, expected_version=1)
    message = str(conflict.value)
    assert message.startswith("Team was changed by someone else since you opened it")
    assert "version 1" in message
    assert "Reload" in message
    assert conflict.value.expected_version == 1
    stored = fresh(team)
    assert (stored.name, stored.description, stored.version) == ("Alpha", "second", 2)
    assert stored.updated_by == admin
    assert team.history.count() == history_before


@pytest.mark.django_db
def test_two_writers_with_the_same_version_first_wins_second_is_refused(
    team: Team, admin: User, manager: User
) -> None:
    mine, theirs = fresh(team), fresh(team)  # both read version 1
    save_changes(mine, {"name": "Mine"}, actor=admin, expected_version=1)
    with pytest.raises(ConflictError):
        save_changes(theirs, {"name": "Theirs"}, actor=manager, expected_version=1)
    stored = fresh(team)
    assert (stored.name, stored.version) == ("Mine", 2)
    assert [h.name for h in team.history.all()] == ["Mine", "Alpha"]


@pytest.mark.django_db
def test_without_a_version_last_write_wins_and_still_bumps(
    team: Team, admin: User, manager: User
) -> None:
    mine, theirs = fresh(team), fresh(team)
    save_changes(mine, {"name": "Mine"}, actor=admin, expected_version=1)
    saved = save_changes(theirs, {"name": "Theirs"}, actor=manager)
    assert saved.version == 3  # the version in memory is the stored one
    stored = fresh(team)
    assert (stored.name, stored.version, stored.updated_by) == ("Theirs", 3, manager)


@pytest.mark.django_db
def test_a_save_only_writes_its_own_fields(team: Team, admin: User, manager: User) -> None:
    """A stale copy saved without a version changes its field, not the others'."""
    stale = fresh(team)
    save_changes(fresh(team), {"description": "theirs"}, actor=manager)
    save_changes(stale, {"name": "Mine"}, actor=admin)
    stored = fresh(team)
    assert (stored.name, stored.description) == ("Mine", "theirs")


@pytest.mark.django_db
def test_changing_a_user_does_not_undo_their_new_password(admin: User) -> None:
    colleague = user_with_role("sales", email="colleague@example.com", full_name="Cole League")
    opened_by_admin = User.objects.get(pk=colleague.pk)
    user_services.change_password(
        user=User.objects.get(pk=colleague.pk), new_password="a brand new passphrase 42"
    )
    user_services.update_user(
        actor=admin,
        user=opened_by_admin,
        changes={"full_name": "Cole League-Smith"},
        expected_version=opened_by_admin.version,
    )
    stored = User.objects.get(pk=colleague.pk)
    assert stored.check_password("a brand new passphrase 42")
    assert not stored.check_password(TEST_PASSWORD)
    assert stored.full_name == "Cole League-Smith"


@pytest.mark.django_db
def test_a_record_deleted_meanwhile_is_a_conflict_not_a_resurrection(
    team: Team, admin: User
) -> None:
    opened = fresh(team)
    Team.objects.filter(pk=team.pk).delete()
    for expected in (None, 1):
        with pytest.raises(ConflictError, match="deleted by someone else"):
            save_changes(opened, {"name": "Back"}, actor=admin, expected_version=expected)
    assert not Team.objects.filter(pk=team.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_in_two_connections_cannot_both_win(admin: User) -> None:
    """Two threads, two database connections, both saving version 1 at once."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so there is no race to lose")
    team = create_record(Team(name="Race"), actor=admin)
    start = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def write(name: str) -> None:
        try:
            copy = Team.objects.get(pk=team.pk)
            start.wait()
            save_changes(copy, {"name": name}, actor=None, expected_version=1)
            outcomes[name] = "saved"
        except ConflictError:
            outcomes[name] = "conflict"
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(name,)) for name in ("left", "right")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes.values()) == ["conflict", "saved"]
    winner = next(name for name, outcome in outcomes.items() if outcome == "saved")
    stored = Team.objects.get(pk=team.pk)
    assert (stored.name, stored.version) == (winner, 2)
