"""Task services: validation, recurrence (DST, month ends, COUNT), idempotent completion."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from rapport.core.services import ConflictError
from rapport.interactions.models import Interaction
from rapport.reminders import services
from rapport.reminders.models import Task
from rapport.users.models import User
from tests.customers.factories import make_contact

pytestmark = pytest.mark.django_db


def task(actor: User | None, **fields: object) -> Task:
    data: dict[str, object] = {"title": "Call back", "due_date": "2027-03-27", "assignee": actor}
    data.update(fields)
    return services.create_task(actor, services.TaskInput(**data))  # type: ignore[arg-type]


def errors_of(error: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return error.value.message_dict


# --- validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field", "fragment"),
    [
        ({"recurrence": "FREQ=SOMETIMES"}, "recurrence", "not a valid RRULE"),
        ({"recurrence": "BYDAY=MO"}, "recurrence", "needs a FREQ"),
        ({"recurrence": "FREQ=MINUTELY"}, "recurrence", "at most hourly"),
        ({"recurrence": "DTSTART:20270101T000000\nRRULE:FREQ=DAILY"}, "recurrence", "only one"),
        ({"due_date": "2027-02-30"}, "due_date", "YYYY-MM-DD"),
        ({"due_date": "next tuesday"}, "due_date", "YYYY-MM-DD"),
        ({"due_date": None}, "due_date", "which day"),
        ({"due_time": "25:00"}, "due_time", "HH:MM"),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "not a time zone"),
        ({"title": "   "}, "title", "what is to be done"),
        ({"priority": "whenever"}, "priority", "not one of"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(
    sales: User, fields: dict[str, object], field: str, fragment: str
) -> None:
    with pytest.raises(ValidationError) as error:
        task(sales, **fields)
    assert fragment in " ".join(errors_of(error)[field])
    assert not Task.objects.exists()


def test_a_time_skipped_by_the_clocks_going_forward_is_impossible(sales: User) -> None:
    with pytest.raises(ValidationError) as error:
        task(sales, due_date="2027-03-28", due_time="02:30", time_zone="Europe/Berlin")
    assert "does not exist" in errors_of(error)["due_time"][0]


def test_an_inactive_assignee_is_refused(sales: User, north_colleague: User) -> None:
    north_colleague.is_active = False
    north_colleague.save()
    with pytest.raises(ValidationError) as error:
        task(sales, assignee=north_colleague)
    assert "deactivated" in errors_of(error)["assignee"][0]


def test_sales_may_not_give_tasks_to_another_team(sales: User, sales_south: User) -> None:
    with pytest.raises(ValidationError) as error:
        task(sales, assignee=sales_south)
    assert "may not give tasks" in errors_of(error)["assignee"][0]


def test_read_only_may_not_add_tasks(read_only: User) -> None:
    with pytest.raises(PermissionDenied):
        task(read_only, assignee=None)


def test_a_task_cannot_link_to_a_customer_the_actor_does_not_see(
    sales: User, sales_south: User
) -> None:
    hidden = make_contact(None, owner=sales_south)
    with pytest.raises(ValidationError) as error:
        task(sales, contact=hidden)
    assert errors_of(error)["contact"] == [f"No contact with id {hidden.pk}."]


def test_rrule_is_stored_normalised(sales: User) -> None:
    created = task(sales, recurrence=" rrule:freq=weekly;byday=mo ")
    assert created.recurrence == "FREQ=WEEKLY;BYDAY=MO"
    assert created.series_start == created.due_at


def test_due_at_is_the_wall_clock_in_the_task_time_zone(sales: User) -> None:
    created = task(sales, due_date="2027-07-01", due_time="09:00", time_zone="Europe/Berlin")
    assert created.due_at == datetime(2027, 7, 1, 7, 0, tzinfo=UTC)
    assert not created.all_day


# --- recurrence ----------------------------------------------------------------------------


def complete(actor: User, record: Task) -> Task:
    following = services.complete_task(actor, record).next_occurrence
    assert following is not None
    return following


def test_daily_task_keeps_its_local_time_across_the_dst_change(sales: User) -> None:
    first = task(
        sales,
        due_date="2027-03-27",
        due_time="09:00",
        time_zone="Europe/Berlin",
        recurrence="FREQ=DAILY",
    )
    assert first.due_at == datetime(2027, 3, 27, 8, 0, tzinfo=UTC)  # CET, UTC+1
    second = complete(sales, first)
    assert (second.due_date, second.due_time) == (date(2027, 3, 28), time(9, 0))
    assert second.due_at == datetime(2027, 3, 28, 7, 0, tzinfo=UTC)  # CEST, UTC+2
    third = complete(sales, second)
    assert third.due_at == datetime(2027, 3, 29, 7, 0, tzinfo=UTC)


def test_autumn_dst_change_too(sales: User) -> None:
    first = task(
        sales,
        due_date="2027-10-30",
        due_time="09:00",
        time_zone="Europe/Berlin",
        recurrence="FREQ=DAILY",
    )
    second = complete(sales, first)
    assert second.due_at == datetime(2027, 10, 31, 8, 0, tzinfo=UTC)  # back to UTC+1


def test_last_day_of_the_month(sales: User) -> None:
    current = task(sales, due_date="2027-01-31", recurrence="FREQ=MONTHLY;BYMONTHDAY=-1")
    days = []
    for _ in range(4):
        current = complete(sales, current)
        days.append(current.due_date)
    assert days == [date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30), date(2027, 5, 31)]
    assert current.all_day


def test_the_31st_skips_shorter_months_as_rfc_5545_says(sales: User) -> None:
    first = task(sales, due_date="2027-01-31", recurrence="FREQ=MONTHLY")
    assert complete(sales, first).due_date == date(2027, 3, 31)


def test_leap_day_yearly(sales: User) -> None:
    first = task(sales, due_date="2028-02-29", recurrence="FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1")
    assert complete(sales, first).due_date == date(2029, 2, 28)


def test_count_ends_the_series(sales: User) -> None:
    first = task(sales, due_date="2027-05-03", recurrence="FREQ=WEEKLY;COUNT=2")
    second = complete(sales, first)
    assert second.due_date == date(2027, 5, 10)
    assert services.complete_task(sales, second).next_occurrence is None


def test_utc_until_is_understood(sales: User) -> None:
    first = task(
        sales,
        due_date="2027-05-03",
        due_time="10:00",
        recurrence="FREQ=DAILY;UNTIL=20270504T235959Z",
    )
    second = complete(sales, first)
    assert second.due_date == date(2027, 5, 4)
    assert services.complete_task(sales, second).next_occurrence is None


def test_the_next_occurrence_copies_the_task(sales: User) -> None:
    contact = make_contact(sales, owner=sales)
    first = task(
        sales, due_date="2027-05-03", recurrence="FREQ=WEEKLY", contact=contact, priority="high"
    )
    second = complete(sales, first)
    assert (second.title, second.assignee, second.contact, second.priority) == (
        first.title,
        sales,
        contact,
        "high",
    )
    assert second.recurs_from == first
    assert second.done_at is None


# --- completion ---------------------------------------------------------------------------


def test_completing_twice_changes_nothing_the_second_time(sales: User) -> None:
    first = task(sales, recurrence="FREQ=DAILY")
    one = services.complete_task(sales, first)
    version = first.version
    again = services.complete_task(sales, Task.objects.get(pk=first.pk))
    assert again.next_occurrence == one.next_occurrence
    assert Task.objects.count() == 2
    assert Task.objects.get(pk=first.pk).version == version


def test_reopen_and_complete_again_does_not_make_a_second_occurrence(sales: User) -> None:
    first = task(sales, recurrence="FREQ=DAILY")
    following = complete(sales, first)
    services.reopen_task(sales, first)
    assert first.done_at is None
    assert first.done_by is None
    assert complete(sales, first) == following
    assert Task.objects.count() == 2


def test_completing_a_stale_copy_is_idempotent(sales: User) -> None:
    first = task(sales, recurrence="FREQ=DAILY")
    stale = Task.objects.get(pk=first.pk)
    complete(sales, first)
    assert services.complete_task(sales, stale).task.done_at is not None
    assert Task.objects.count() == 2


def test_completing_writes_one_timeline_entry_per_completion(sales: User) -> None:
    contact = make_contact(sales, owner=sales)
    first = task(sales, contact=contact)
    services.complete_task(sales, first)
    services.complete_task(sales, first)
    entries = Interaction.objects.filter(contact=contact)
    assert [(e.kind, e.subject, e.source) for e in entries] == [
        ("note", "Task done: Call back", first)
    ]
    services.reopen_task(sales, first)
    services.complete_task(sales, first)
    keys = Interaction.objects.filter(contact=contact).values_list("dedupe_key", flat=True)
    assert len(set(keys)) == 2


def test_a_task_without_customer_writes_no_timeline_entry(sales: User) -> None:
    services.complete_task(sales, task(sales))
    assert not Interaction.objects.exists()


def test_update_refuses_a_stale_version(sales: User) -> None:
    record = task(sales)
    services.update_task(sales, record, {"title": "First"}, expected_version=1)
    with pytest.raises(ConflictError):
        services.update_task(
            sales, Task.objects.get(pk=record.pk), {"title": "Second"}, expected_version=1
        )
    assert Task.objects.get(pk=record.pk).title == "First"


def test_moving_the_due_date_restarts_the_series(sales: User) -> None:
    record = task(sales, recurrence="FREQ=WEEKLY")
    services.update_task(sales, record, {"due_date": "2027-06-01", "due_time": "08:15"})
    record.refresh_from_db()
    assert record.series_start == record.due_at
    assert record.due_time == time(8, 15)


def test_unknown_fields_cannot_be_changed(sales: User) -> None:
    with pytest.raises(ValidationError):
        services.update_task(sales, task(sales), {"done_at": None})


def test_trash_and_restore(sales: User, admin: User) -> None:
    record = task(sales)
    services.trash_task(sales, record)
    assert not Task.objects.live().exists()
    with pytest.raises(PermissionDenied):
        services.restore_task(sales, record)
    services.restore_task(admin, record)
    assert Task.objects.live().count() == 1


def test_history_records_who_changed_what(sales: User) -> None:
    record = task(sales)
    services.update_task(sales, record, {"title": "Renamed"})
    latest = record.history.first()  # type: ignore[attr-defined]
    assert latest.title == "Renamed"
    assert latest.history_user == sales


def test_saving_an_unchanged_form_does_not_restart_the_series(sales: User) -> None:
    record = task(sales, due_date="2027-05-03", recurrence="FREQ=WEEKLY;COUNT=3")
    second = complete(sales, record)
    services.update_task(
        sales,
        second,
        {
            "title": "Renamed",
            "due_date": second.due_date,
            "due_time": None,
            "time_zone": "",
            "recurrence": second.recurrence,
        },
    )
    second.refresh_from_db()
    assert second.series_start == record.series_start
    third = complete(sales, second)
    assert services.complete_task(sales, third).next_occurrence is None
