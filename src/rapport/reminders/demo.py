"""Demo tasks: for each demo colleague some overdue, some today, some coming, some repeating.

Bulk-inserted with their history rows, as the services would have written them.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from simple_history.utils import bulk_create_with_history

from rapport.core.demo import DemoContext, register
from rapport.customers.models import Contact
from rapport.reminders.choices import Priority
from rapport.reminders.models import Task

BATCH = 2000
TITLES = [
    "Call back about the quote",
    "Send the maintenance offer",
    "Follow up on the demo",
    "Check the delivery date",
    "Prepare the renewal",
    "Ask for a review",
    "Confirm the meeting",
    "Chase the overdue invoice",
]
RECURRING = [
    ("Weekly pipeline review", "FREQ=WEEKLY;BYDAY=MO"),
    ("Month-end account check", "FREQ=MONTHLY;BYMONTHDAY=-1"),
    ("Daily inbox sweep", "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR"),
]
# Days from today: overdue, today, the coming week, later.
DAY_OFFSETS = [-9, -3, -1, 0, 0, 1, 2, 4, 6, 12, 20]
TASKS_PER_PERSON = 8


@register(40, "tasks")
def load(context: DemoContext) -> None:
    rng = context.rng
    people = [
        user for user in context.made.get("users", []) if user.role in ("sales", "service")
    ] or [None]
    # A sample of customers to hang tasks on (the whole base would be too many to load).
    contacts: list[Any] = list(Contact.objects.order_by("id").only("id", "owner_id")[:5000])
    zone = ZoneInfo(settings.TIME_ZONE)
    today = context.now.astimezone(zone).date()
    rows: list[Task] = []
    for person in people:
        mine = [c for c in contacts if person is None or c.owner_id == person.pk] or contacts
        for _ in range(TASKS_PER_PERSON):
            contact = rng.choice(mine) if mine and rng.random() < 0.8 else None
            due_time = rng.choice([None, time(9, 0), time(11, 30), time(15, 0)])
            rows.append(
                _task(
                    rng.choice(TITLES),
                    today + timedelta(days=rng.choice(DAY_OFFSETS)),
                    due_time,
                    zone,
                    person,
                    rng.choice(Priority.values),
                    contact,
                    context.now,
                )
            )
        title, rule = rng.choice(RECURRING)
        rows.append(
            _task(title, today, time(9, 0), zone, person, Priority.NORMAL, None, context.now, rule)
        )
    bulk_create_with_history(rows, Task, batch_size=BATCH, default_change_reason="Demo data")
    context.say(f"  {len(rows)} tasks for {len(people)} colleagues")


def _task(
    title: str,
    due_date: date,
    due_time: time | None,
    zone: ZoneInfo,
    person: Any,
    priority: str,
    contact: Any,
    now: datetime,
    rule: str = "",
) -> Task:
    due_at = datetime.combine(due_date, due_time or time.min, tzinfo=zone)
    return Task(
        title=title,
        assignee=person,
        owner=person,
        due_date=due_date,
        due_time=due_time,
        time_zone=zone.key,
        due_at=due_at,
        priority=priority,
        contact_id=getattr(contact, "pk", None),
        recurrence=rule,
        series_start=due_at if rule else None,
        created_at=now,
        updated_at=now,
    )
