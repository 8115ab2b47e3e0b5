"""A person's open tasks as an iCalendar (RFC 5545) feed that calendar apps subscribe to.

Tasks are written as VEVENTs, not VTODOs: most calendar apps (Google,
Outlook, Apple Calendar subscriptions) ignore to-dos in subscribed calendars.
An all-day task is an all-day event on its day; a timed one a 30-minute
event at its due time. A recurring task carries its RRULE from this
occurrence on (a COUNT becomes the UNTIL of the series' last occurrence).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Event, vRecur

from rapport.reminders import recurrence
from rapport.reminders.models import Task

TIMED_TASK_LENGTH = timedelta(minutes=30)
PRODUCT_ID = "-//Rapport//Tasks//EN"


def uid_of(task: Task) -> str:
    """Stable for the life of the task, and unlikely to clash with another Rapport's."""
    return f"task-{task.pk}-{int(task.created_at.timestamp())}@rapport"


def build(tasks: Iterable[Task], *, name: str, base_url: str = "") -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", settings.TIME_ZONE)
    stamp = timezone.now()
    for task in tasks:
        calendar.add_component(_event(task, stamp, base_url))
    return calendar.to_ical()


def _event(task: Task, stamp: datetime, base_url: str) -> Event:
    event = Event()
    event.add("uid", uid_of(task))
    event.add("dtstamp", stamp)
    event.add("summary", task.title)
    event.add("priority", {"urgent": 1, "high": 3, "normal": 5, "low": 9}[task.priority])
    description = [task.notes] if task.notes else []
    if task.customer is not None:
        description.append(f"Customer: {task.customer}")
    if description:
        event.add("description", "\n\n".join(description))
    if base_url:
        event.add("url", f"{base_url}/tasks/{task.pk}/")
    event.add("last-modified", task.updated_at)
    zone = ZoneInfo(task.time_zone)
    if task.due_time is None:
        event.add("dtstart", task.due_date)
        event.add("dtend", task.due_date + timedelta(days=1))
    else:
        start = task.due_at.astimezone(zone)
        event.add("dtstart", start)
        event.add("dtend", start + TIMED_TASK_LENGTH)
    if task.recurrence:
        event.add("rrule", _rule_from_here(task, zone))
    return event


def _rule_from_here(task: Task, zone: ZoneInfo) -> vRecur:
    """The task's rule, starting at this occurrence: COUNT counted from the series start."""
    rule = vRecur.from_ical(task.recurrence)
    if "COUNT" in rule and task.series_start is not None:
        start = task.series_start.astimezone(zone).replace(tzinfo=None)
        last = recurrence.last_occurrence(task.recurrence, series_start=start, zone=zone)
        del rule["COUNT"]
        if last is not None:
            rule["UNTIL"] = (
                last.date()
                if task.due_time is None
                else last.replace(tzinfo=zone).astimezone(ZoneInfo("UTC"))
            )
    elif "UNTIL" in rule and task.due_time is not None:
        # With a zoned DTSTART, RFC 5545 wants UNTIL in UTC.
        until = rule["UNTIL"][0]
        if not isinstance(until, datetime):  # a day: until the end of it
            until = datetime.combine(until, time(23, 59, 59))
        if until.tzinfo is None:
            rule["UNTIL"] = until.replace(tzinfo=zone).astimezone(ZoneInfo("UTC"))
    return rule
