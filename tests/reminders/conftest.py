"""Tasks assigned across teams, on customers across teams, for permission and list tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone

from rapport.customers.models import Company, Contact
from rapport.reminders import services
from rapport.reminders.models import Task
from rapport.users.models import User
from tests.customers.conftest import OWNERS, World, north_colleague, world

__all__ = ["OWNERS", "TaskWorld", "north_colleague", "task_world", "world"]


def make_task(
    actor: User | None = None,
    *,
    title: str = "Call back",
    days: int = 1,
    assignee: User | None = None,
    contact: Contact | None = None,
    company: Company | None = None,
    recurrence: str = "",
    due_time: str | None = None,
) -> Task:
    return services.create_task(
        actor,
        services.TaskInput(
            title=title,
            due_date=timezone.localdate() + timedelta(days=days),
            due_time=due_time,
            assignee=assignee,
            contact=contact,
            company=company,
            recurrence=recurrence,
        ),
    )


@dataclass
class TaskWorld:
    # One task assigned to each of OWNERS (none = unassigned), on no customer.
    assigned: dict[str, Task]
    # Assigned to the South sales user, on the contact the North sales user owns.
    on_sales_customer: Task
    # Assigned to the South sales user, on South's contact.
    south_on_south: Task


@pytest.fixture
def task_world(
    world: World,
    sales: User,
    north_colleague: User,
    sales_south: User,
    marketing: User,
) -> TaskWorld:
    people: dict[str, User | None] = {
        "sales": sales,
        "north": north_colleague,
        "none": None,
        "south": sales_south,
        "marketing": marketing,
    }
    assigned = {
        key: make_task(None, title=f"Task of {key}", assignee=person)
        for key, person in people.items()
    }
    return TaskWorld(
        assigned=assigned,
        on_sales_customer=make_task(
            None,
            title="South on Sam's customer",
            assignee=sales_south,
            contact=world.contacts["sales"],
        ),
        south_on_south=make_task(
            None,
            title="South on South's customer",
            assignee=sales_south,
            contact=world.contacts["south"],
        ),
    )
