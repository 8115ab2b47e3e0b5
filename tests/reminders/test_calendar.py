"""The private calendar feed: a secret address per person, their open tasks only."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from icalendar import Calendar

from rapport.reminders import services
from rapport.reminders.calendar import uid_of
from rapport.reminders.models import CalendarFeed, Task
from rapport.users.models import User
from tests.reminders.conftest import TaskWorld, make_task

pytestmark = pytest.mark.django_db


def feed_path(user: User) -> str:
    return services.issue_calendar_feed(user).path


def events(response: Any) -> list[Any]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    parsed = Calendar.from_ical(response.content)
    return list(parsed.walk("VEVENT"))


def test_the_feed_has_exactly_the_persons_open_tasks(
    task_world: TaskWorld, sales: User, client: Client
) -> None:
    done = make_task(sales, title="Already done", assignee=sales)
    services.complete_task(sales, done)
    trashed = make_task(sales, title="Thrown away", assignee=sales)
    services.trash_task(sales, trashed)
    path = feed_path(sales)
    found = events(client.get(path))
    expected = Task.objects.live().filter(assignee=sales, done_at__isnull=True)
    assert {str(event["UID"]) for event in found} == {uid_of(task) for task in expected}
    assert [str(event["SUMMARY"]) for event in found] == ["Task of sales"]


def test_the_feed_needs_no_session_and_sets_no_cookie(sales: User) -> None:
    make_task(sales, assignee=sales)
    response = Client().get(feed_path(sales))
    assert len(events(response)) == 1
    assert not response.cookies


def test_all_day_timed_and_recurring_tasks(sales: User, client: Client) -> None:
    all_day = services.create_task(
        sales,
        services.TaskInput(title="All day", due_date="2027-02-01", assignee=sales),
    )
    timed = services.create_task(
        sales,
        services.TaskInput(
            title="Timed",
            due_date="2027-02-02",
            due_time="09:30",
            time_zone="Europe/Berlin",
            assignee=sales,
            recurrence="FREQ=WEEKLY;COUNT=3",
        ),
    )
    found = {str(event["SUMMARY"]): event for event in events(client.get(feed_path(sales)))}
    assert found["All day"].decoded("DTSTART") == date(2027, 2, 1)
    assert found["All day"].decoded("DTEND") == date(2027, 2, 2)
    start = found["Timed"].decoded("DTSTART")
    assert start == datetime(2027, 2, 2, 9, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    rule = found["Timed"]["RRULE"]
    assert rule["FREQ"] == ["WEEKLY"]
    assert "COUNT" not in rule
    # The third occurrence, 2027-02-16 09:30 in Berlin, as UTC.
    assert rule["UNTIL"][0] == datetime(2027, 2, 16, 8, 30, tzinfo=ZoneInfo("UTC"))
    assert str(found["Timed"]["UID"]) == uid_of(timed)
    assert str(found["All day"]["UID"]) == uid_of(all_day)


def test_uids_are_stable_across_reads_and_edits(sales: User, client: Client) -> None:
    task = make_task(sales, assignee=sales)
    path = feed_path(sales)
    first = str(events(client.get(path))[0]["UID"])
    services.update_task(sales, task, {"title": "Renamed", "due_time": time(11, 0)})
    assert str(events(client.get(path))[0]["UID"]) == first


def test_a_new_address_revokes_the_old_one(sales: User, client: Client) -> None:
    old = feed_path(sales)
    new = feed_path(sales)
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200
    assert CalendarFeed.objects.filter(user=sales, revoked_at__isnull=True).count() == 1


def test_switched_off_wrong_or_deactivated_is_404(sales: User, client: Client) -> None:
    path = feed_path(sales)
    services.revoke_calendar_feed(sales)
    assert client.get(path).status_code == 404
    path = feed_path(sales)
    assert client.get(path[:-10] + "x" * 6 + ".ics").status_code == 404
    assert client.get("/calendar/nonsense.ics").status_code == 404
    sales.is_active = False
    sales.save()
    assert client.get(path).status_code == 404


def test_only_the_hash_is_stored(sales: User) -> None:
    issued = services.issue_calendar_feed(sales)
    row = CalendarFeed.objects.get()
    assert issued.token not in (row.digest, row.prefix)
    assert issued.token.startswith(row.prefix)


def test_regenerate_from_my_day_shows_the_address_once(sales: User, client_for: Any) -> None:
    browser = client_for(sales)
    response = browser.post("/tasks/calendar/new/")
    assert response.status_code == 302
    page = browser.get("/tasks/")
    html = page.content.decode()
    assert page["Cache-Control"] == "no-store"
    start = html.index("http://testserver/calendar/")
    url = html[start : html.index('"', start)]
    assert Client().get(url.removeprefix("http://testserver")).status_code == 200
    assert url not in browser.get("/tasks/").content.decode()
    browser.post("/tasks/calendar/off/")
    assert Client().get(url.removeprefix("http://testserver")).status_code == 404
