"""Every read of tasks, cut to what the viewer may see (rules in permissions.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from rapport.core.permissions import Action, Scope, may_see_trash, restrict, scope_for
from rapport.customers import queries as customer_queries
from rapport.customers.models import Company, Contact
from rapport.reminders.models import CalendarFeed, Task

UPCOMING_DAYS = 7
# What a row of any task list shows, joined so that a page costs a fixed number of queries.
LIST_RELATED = ("assignee", "owner", "contact", "company", "done_by", "next_occurrence")


def tasks(viewer: Any, action: Action = Action.VIEW, *, trash: bool = False) -> QuerySet[Task]:
    """Tasks for lists, the API and panels: a fixed number of queries per page."""
    if trash and not may_see_trash(viewer):
        return Task.objects.none()
    rows = Task.objects.select_related(*LIST_RELATED)
    allowed = restrict(rows, viewer, action, trash=trash)
    # ``none() | wider`` would be ``wider``: people without the scope get nothing more.
    if action != Action.VIEW or scope_for(viewer, Task, action) in (Scope.NONE, Scope.ALL):
        return allowed
    # Seeing is wider than changing: tasks on customers they see, and ones they asked for.
    wider = rows.filter(deleted_at__isnull=not trash).filter(
        Q(owner_id=viewer.pk)
        | Q(customer_queries.contact_visible(viewer))
        | Q(customer_queries.company_visible(viewer))
    )
    return allowed | wider


def open_tasks(viewer: Any) -> QuerySet[Task]:
    return tasks(viewer).filter(done_at__isnull=True)


def my_day(viewer: Any) -> dict[str, list[Task]]:
    """The signed-in person's open tasks: overdue, today and the next seven days.

    Three queries whatever the number of tasks.
    """
    today = timezone.localdate()
    now = timezone.now()
    # One's own tasks need none of the wider "on customers I see" rules, and read
    # straight from the (assignee, due_at) index of open tasks.
    mine = (
        restrict(Task.objects.select_related(*LIST_RELATED), viewer)
        .filter(assignee_id=viewer.pk, done_at__isnull=True)
        .order_by("due_at", "id")
    )
    overdue_rule = Q(due_date__lt=today) | Q(due_time__isnull=False, due_at__lt=now)
    return {
        "overdue": list(mine.filter(overdue_rule)[:200]),
        "today": list(mine.filter(due_date=today).exclude(overdue_rule)),
        "upcoming": list(
            mine.filter(due_date__gt=today, due_date__lte=today + timedelta(days=UPCOMING_DAYS))
        ),
    }


def for_customer(viewer: Any, record: Contact | Company) -> QuerySet[Task]:
    """Open tasks on one contact or company, soonest first."""
    about = Q(contact=record) if isinstance(record, Contact) else Q(company=record)
    return open_tasks(viewer).filter(about).order_by("due_at", "id")


def calendar_tasks(user: Any) -> QuerySet[Task]:
    """What a person's calendar feed shows: exactly their own open tasks."""
    return (
        restrict(Task.objects.all(), user)
        .filter(assignee_id=user.pk, done_at__isnull=True)
        .select_related("contact", "company")
        .order_by("due_at", "id")
    )


def live_feed(user: Any) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(user_id=user.pk, revoked_at__isnull=True).first()
