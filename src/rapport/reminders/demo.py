"""Demo tasks (for each demo colleague some overdue, some today, some coming, some repeating)
and customer reminders (sent, skipped, due now, failed, retrying).

Bulk-inserted with their history rows, as the services would have written them.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from simple_history.utils import bulk_create_with_history

from rapport.core.demo import DemoContext, register
from rapport.customers.choices import ConsentChannel, ConsentPurpose
from rapport.customers.models import Contact
from rapport.customers.services import may_contact
from rapport.interactions.choices import Channel, Direction, InteractionKind
from rapport.interactions.services import record_interaction
from rapport.reminders.choices import Priority
from rapport.reminders.models import ServiceReminder, Task
from rapport.reminders.outreach_choices import ReminderKind, ReminderStatus
from rapport.trading.models import Asset

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


# --- customer reminders ------------------------------------------------------------------

PAST_REMINDERS = 300  # of the units serviced in the last year: the reminder that preceded it
SHOWCASE_FAILURES = 2  # of the reminders in the window: failed ones, and ones being retried


@register(45, "customer reminders")
def load_reminders(context: DemoContext) -> None:
    """Past reminders as the job would have left them, and the ones due now.

    Units serviced in the past year had their reminder a month before: sent
    (and on the timeline) where the customer agreed to service e-mails,
    skipped where not. The reminders in today's window are planned by the
    real planner and left to the worker, but for a few that show what a
    failure and a retry look like.
    """
    from rapport.reminders import outreach

    today = context.now.date()
    days_ahead = settings.SERVICE_REMINDER_DAYS_AHEAD
    serviced = list(
        Asset.objects.live()
        .filter(
            contact__isnull=False,
            last_serviced_on__gt=today - timedelta(days=365),
            last_serviced_on__lte=today - timedelta(days=days_ahead),
        )
        .select_related("product", "contact", "company")
        .order_by("id")[:PAST_REMINDERS]
    )
    sent = skipped = 0
    for asset in serviced:
        assert asset.last_serviced_on is not None
        assert asset.contact is not None
        due = asset.last_serviced_on
        at = datetime.combine(
            due - timedelta(days=days_ahead), time(6, 0), tzinfo=context.now.tzinfo
        )
        reminder = ServiceReminder(
            asset=asset, kind=ReminderKind.SERVICE, due_date=due, attempts=1, last_attempt_at=at
        )
        contact = asset.contact
        if contact.email and may_contact(
            contact, channel=ConsentChannel.EMAIL, purpose=ConsentPurpose.SERVICE
        ):
            reminder.status, reminder.sent_at = ReminderStatus.SENT, at
            reminder.contact, reminder.recipient = contact, contact.email
            sent += 1
        else:
            reminder.status = ReminderStatus.SKIPPED
            reminder.skip_reason = f"{contact} has not agreed to service e-mails."
            skipped += 1
        reminder.save()
        ServiceReminder.objects.filter(pk=reminder.pk).update(created_at=at, updated_at=at)
        if reminder.status == ReminderStatus.SENT:
            subject, body = outreach.compose(reminder, asset, contact)
            entry = record_interaction(
                None,
                kind=InteractionKind.REMINDER,
                subject=subject,
                body=body,
                contact=contact,
                company=asset.company,
                occurred_at=at,
                channel=Channel.EMAIL,
                direction=Direction.OUTBOUND,
                source=reminder,
                dedupe_key=f"service-reminder:{reminder.pk}",
            )
            ServiceReminder.objects.filter(pk=reminder.pk).update(interaction=entry)
    planned = outreach.plan_reminders(today=today)
    waiting = list(ServiceReminder.objects.filter(status=ReminderStatus.PENDING).order_by("id"))
    for reminder in waiting[:SHOWCASE_FAILURES]:
        ServiceReminder.objects.filter(pk=reminder.pk).update(
            status=ReminderStatus.FAILED,
            attempts=outreach.MAX_ATTEMPTS,
            last_attempt_at=context.now - timedelta(hours=2),
            next_attempt_at=None,
            last_error="The mail server refused the address (550 5.1.1 mailbox unavailable).",
        )
    for reminder in waiting[SHOWCASE_FAILURES : 2 * SHOWCASE_FAILURES]:
        ServiceReminder.objects.filter(pk=reminder.pk).update(
            attempts=2,
            last_attempt_at=context.now - timedelta(minutes=5),
            next_attempt_at=context.now + outreach.backoff(2),
            last_error="The mail server could not be reached (connection refused).",
        )
    context.say(
        f"  {sent} reminders sent and {skipped} skipped in the past year, {planned} due now"
    )
