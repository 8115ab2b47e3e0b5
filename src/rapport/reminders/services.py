"""The only write path for tasks and calendar feeds."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from rapport.core.permissions import Action, authorise, authorise_restore, can
from rapport.core.services import create_record, move_to_trash, restore, save_changes
from rapport.customers.models import Company, Contact
from rapport.interactions.choices import InteractionKind
from rapport.interactions.services import record_interaction
from rapport.reminders import recurrence
from rapport.reminders.choices import Priority
from rapport.reminders.models import CalendarFeed, Task
from rapport.users.models import User

TITLE_LENGTH = 200
EDITABLE_FIELDS = frozenset(
    {
        "title",
        "notes",
        "assignee",
        "due_date",
        "due_time",
        "time_zone",
        "priority",
        "contact",
        "company",
        "recurrence",
    }
)
# Changing any of these moves the due moment, and so restarts a recurring series there.
DUE_FIELDS = frozenset({"due_date", "due_time", "time_zone", "recurrence"})


@dataclass
class TaskInput:
    """What a person, a form or the API gives to create a task.

    ``due_date`` and ``due_time`` may be ISO strings (2026-12-24, 09:30); no
    ``due_time`` makes an all-day task. ``time_zone`` defaults to Rapport's.
    """

    title: str
    due_date: date | str | None
    due_time: time | str | None = None
    time_zone: str = ""
    notes: str = ""
    assignee: User | None = None
    priority: str = Priority.NORMAL
    contact: Contact | None = None
    company: Company | None = None
    related: models.Model | None = None
    recurrence: str = ""


@dataclass(frozen=True)
class Completion:
    task: Task
    # The next occurrence of a recurring task (also when an earlier call created it).
    next_occurrence: Task | None


# --- tasks -------------------------------------------------------------------------------


def create_task(actor: User | None, data: TaskInput, *, reason: str = "Created") -> Task:
    zone = _zone(data.time_zone)
    due_date, due_time = _due(data.due_date, data.due_time, zone)
    rule = recurrence.clean_rule(data.recurrence)
    due_at = _due_at(due_date, due_time, zone)
    task = Task(
        title=_title(data.title),
        notes=data.notes or "",
        assignee=data.assignee,
        due_date=due_date,
        due_time=due_time,
        time_zone=zone.key,
        due_at=due_at,
        priority=_priority(data.priority),
        contact=data.contact,
        company=data.company,
        recurrence=rule,
        series_start=due_at if rule else None,
        owner=actor,
    )
    if data.related is not None:
        task.related_type = ContentType.objects.get_for_model(data.related)
        task.related_id = data.related.pk
    _check_assignee(actor, Action.ADD, data.assignee)
    authorise(actor, Action.ADD, task)
    _check_links(actor, data.contact, data.company, data.related)
    create_record(task, actor=actor, reason=reason)
    return task


def update_task(
    actor: User | None,
    task: Task,
    changes: Mapping[str, Any],
    *,
    expected_version: int | None = None,
) -> Task:
    """Change a task's own fields; done/undone and trash have their own verbs."""
    authorise(actor, Action.CHANGE, task)
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise ValidationError({name: ["This field cannot be changed here."] for name in unknown})
    values = dict(changes)
    if not values.get("time_zone", True):  # left empty in a form: keep the task's zone
        values["time_zone"] = task.time_zone
    # Saving a form sends every field; only a real change of the due moment or the
    # rule may restart the series (and so move where COUNT counts from).
    for name in DUE_FIELDS & set(values):
        if values[name] == getattr(task, name):
            del values[name]
    if "title" in values:
        values["title"] = _title(values["title"])
    if "notes" in values:
        values["notes"] = values["notes"] or ""
    if "priority" in values:
        values["priority"] = _priority(values["priority"])
    if "assignee" in values and values["assignee"] != task.assignee:
        _check_assignee(actor, Action.CHANGE, values["assignee"])
    if "contact" in values or "company" in values:
        _check_links(actor, values.get("contact"), values.get("company"), None)
    if DUE_FIELDS & set(values):
        zone = _zone(values.get("time_zone", task.time_zone))
        due_date, due_time = _due(
            values.get("due_date", task.due_date), values.get("due_time", task.due_time), zone
        )
        rule = recurrence.clean_rule(values.get("recurrence", task.recurrence))
        due_at = _due_at(due_date, due_time, zone)
        values.update(
            due_date=due_date,
            due_time=due_time,
            time_zone=zone.key,
            recurrence=rule,
            due_at=due_at,
            series_start=due_at if rule else None,
        )
    save_changes(task, values, actor=actor, expected_version=expected_version, reason="Edited")
    return task


def complete_task(
    actor: User | None, task: Task, *, expected_version: int | None = None
) -> Completion:
    """Mark done; a recurring task gets its next occurrence; a customer's timeline an entry.

    Idempotent: completing a done task changes nothing, and an occurrence has at
    most one successor however often it is completed, reopened and completed.
    """
    authorise(actor, Action.CHANGE, task)
    with transaction.atomic():
        current = Task._base_manager.select_for_update().get(pk=task.pk)
        if current.done_at is not None:
            task.done_at, task.done_by_id, task.version = (
                current.done_at,
                current.done_by_id,
                current.version,
            )
            return Completion(task, _successor(task))
        save_changes(
            task,
            {"done_at": timezone.now(), "done_by": actor},
            actor=actor,
            expected_version=expected_version,
            reason="Done",
        )
        following = _create_next_occurrence(actor, task) if task.recurrence else None
        if task.contact_id is not None or task.company_id is not None:
            record_interaction(
                actor,
                kind=InteractionKind.NOTE,
                subject=f"Task done: {task.title}",
                body=task.notes,
                contact=task.contact,
                company=task.company,
                occurred_at=task.done_at,
                source=task,
                # One entry per completion: the version is new each time it is done.
                dedupe_key=f"task:{task.pk}:done:{task.version}",
                owner=actor,
            )
    return Completion(task, following)


def reopen_task(actor: User | None, task: Task, *, expected_version: int | None = None) -> Task:
    """Undo "done". A next occurrence already created stays (and is not created twice)."""
    authorise(actor, Action.CHANGE, task)
    if task.done_at is None:
        return task
    return save_changes(
        task,
        {"done_at": None, "done_by": None},
        actor=actor,
        expected_version=expected_version,
        reason="Reopened",
    )


def trash_task(actor: User | None, task: Task, *, expected_version: int | None = None) -> Task:
    authorise(actor, Action.DELETE, task)
    return move_to_trash(task, actor=actor, expected_version=expected_version)


def restore_task(actor: User | None, task: Task) -> Task:
    authorise_restore(actor)
    return restore(task, actor=actor)


# --- calendar feeds ----------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedFeed:
    feed: CalendarFeed
    token: str  # shown to the person once, never stored

    @property
    def path(self) -> str:
        from django.urls import reverse

        return reverse("reminders:calendar-feed", args=[self.token])


def issue_calendar_feed(actor: User) -> IssuedFeed:
    """A new secret calendar address for ``actor``; the previous one stops working."""
    authorise(actor, Action.ADD, CalendarFeed)
    prefix = secrets.token_hex(6)
    token = f"{prefix}-{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        revoke_calendar_feed(actor)
        feed = CalendarFeed.objects.create(user=actor, prefix=prefix, digest=_digest(token))
    return IssuedFeed(feed, token)


def revoke_calendar_feed(actor: User) -> int:
    authorise(actor, Action.DELETE, CalendarFeed)
    return CalendarFeed.objects.filter(user=actor, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def feed_for_token(token: str) -> CalendarFeed | None:
    """The live feed of this secret, or None (unknown, revoked, or its person deactivated)."""
    prefix, _, rest = token.partition("-")
    if not prefix or not rest:
        return None
    feed = CalendarFeed.objects.select_related("user", "user__team").filter(prefix=prefix).first()
    if feed is None or not hmac.compare_digest(feed.digest, _digest(token)):
        return None
    if feed.revoked_at is not None or not feed.user.is_active:
        return None
    now = timezone.now()
    # Calendar apps poll often; a stamp a minute is enough to see that it is in use.
    if feed.last_used_at is None or now - feed.last_used_at > timedelta(minutes=1):
        CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=now)
        feed.last_used_at = now
    return feed


# --- helpers -----------------------------------------------------------------------------


def _create_next_occurrence(actor: User | None, task: Task) -> Task | None:
    existing = _successor(task)
    if existing is not None:
        return existing
    zone = ZoneInfo(task.time_zone)
    current = recurrence.wall_clock(task.due_date, task.due_time)
    start = (
        task.series_start.astimezone(zone).replace(tzinfo=None)
        if task.series_start is not None
        else current
    )
    # A late completion does not fill the list with past occurrences: the next one
    # is the first after the due moment, but no earlier than today.
    today_start = datetime.combine(timezone.localdate(timezone=zone), time.min)
    pivot = max(current, today_start - timedelta(microseconds=1))
    following = recurrence.next_occurrence(
        task.recurrence, series_start=start, after=pivot, zone=zone
    )
    if following is None:
        return None
    due_time = following.time() if task.due_time is not None else None
    occurrence = Task(
        title=task.title,
        notes=task.notes,
        assignee=task.assignee,
        due_date=following.date(),
        due_time=due_time,
        time_zone=task.time_zone,
        due_at=_due_at(following.date(), due_time, zone),
        priority=task.priority,
        contact_id=task.contact_id,
        company_id=task.company_id,
        related_type_id=task.related_type_id,
        related_id=task.related_id,
        recurrence=task.recurrence,
        series_start=task.series_start,
        recurs_from=task,
        owner_id=task.owner_id,
    )
    try:
        with transaction.atomic():
            create_record(occurrence, actor=actor, reason="Next occurrence")
    except IntegrityError:  # created meanwhile by a concurrent completion
        return _successor(task)
    return occurrence


def _successor(task: Task) -> Task | None:
    return Task._base_manager.filter(recurs_from_id=task.pk).first()


def _title(raw: Any) -> str:
    title = " ".join(str(raw or "").split())
    if not title:
        raise ValidationError({"title": ["Say in a few words what is to be done."]})
    if len(title) > TITLE_LENGTH:
        raise ValidationError({"title": [f"At most {TITLE_LENGTH} characters."]})
    return title


def _priority(value: str) -> str:
    if value not in Priority.values:
        allowed = ", ".join(Priority.values)
        raise ValidationError({"priority": [f"{value!r} is not one of: {allowed}."]})
    return value


def _zone(name: str) -> ZoneInfo:
    name = (name or "").strip() or settings.TIME_ZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            {"time_zone": [f"{name!r} is not a time zone name such as Europe/Berlin."]}
        ) from None


def _due(raw_date: Any, raw_time: Any, zone: ZoneInfo) -> tuple[date, time | None]:
    """The due day and time of day, from date/time objects or ISO text; errors say why."""
    if isinstance(raw_date, datetime):  # an instant: its day and time where the task is
        local = raw_date.astimezone(zone) if timezone.is_aware(raw_date) else raw_date
        raw_date, raw_time = local.date(), raw_time if raw_time is not None else local.time()
    if raw_date in (None, ""):
        raise ValidationError({"due_date": ["Say on which day it is due."]})
    if isinstance(raw_date, date):
        due_date = raw_date
    else:
        try:
            due_date = date.fromisoformat(str(raw_date).strip())
        except ValueError:
            raise ValidationError(
                {"due_date": [f"{raw_date!r} is not a day; write it as YYYY-MM-DD."]}
            ) from None
    if raw_time in (None, ""):
        return due_date, None
    if isinstance(raw_time, time):
        due_time = raw_time
    else:
        try:
            due_time = time.fromisoformat(str(raw_time).strip())
        except ValueError:
            raise ValidationError(
                {"due_time": [f"{raw_time!r} is not a time of day; write it as HH:MM."]}
            ) from None
    due_time = due_time.replace(second=0, microsecond=0, tzinfo=None)
    local = datetime.combine(due_date, due_time)
    round_trip = local.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    if round_trip != local:
        raise ValidationError(
            {
                "due_time": [
                    f"{due_time:%H:%M} does not exist on {due_date:%Y-%m-%d} in {zone.key} "
                    "(the clocks go forward then); choose another time."
                ]
            }
        )
    return due_date, due_time


def _due_at(due_date: date, due_time: time | None, zone: ZoneInfo) -> datetime:
    return datetime.combine(due_date, due_time or time.min, tzinfo=zone)


def _check_assignee(actor: User | None, action: Action, assignee: User | None) -> None:
    if assignee is None:
        return
    if not assignee.is_active:
        raise ValidationError(
            {"assignee": [f"{assignee} is deactivated; give the task to someone else."]}
        )
    if actor is not None and not can(actor, action, Task(assignee=assignee)):
        raise ValidationError({"assignee": [f"You may not give tasks to {assignee}."]})


def _check_links(
    actor: User | None,
    contact: Contact | None,
    company: Company | None,
    related: models.Model | None,
) -> None:
    """Links only to records the actor may see; others read as "does not exist"."""
    for name, record in (("contact", contact), ("company", company), ("related", related)):
        if record is None:
            continue
        gone = getattr(record, "deleted_at", None) is not None
        if gone or (actor is not None and not can(actor, Action.VIEW, record)):
            raise ValidationError({name: [f"No {name} with id {record.pk}."]})


def _digest(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough (no brute force).
    return hashlib.sha256(token.encode()).hexdigest()
