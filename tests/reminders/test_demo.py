"""The demo step: every demo colleague gets overdue, today's, coming and repeating tasks."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from rapport.core.demo import DemoContext, steps
from rapport.reminders.models import Task

pytestmark = pytest.mark.django_db


def test_demo_tasks() -> None:
    context = DemoContext(
        rng=random.Random(7), contacts=40, now=timezone.now(), say=lambda text: None
    )
    wanted = {"teams and users", "companies and contacts", "tasks"}
    for step in steps():
        if step.name in wanted:
            step.run(context)
    people = [u for u in context.made["users"] if u.role in ("sales", "service")]
    today = timezone.localdate()
    for person in people:
        mine = Task.objects.filter(assignee=person)
        assert mine.filter(recurrence__startswith="FREQ=").exists()
        assert mine.exists()
    everyone = Task.objects.all()
    assert everyone.filter(due_date__lt=today).exists()
    assert everyone.filter(due_date=today).exists()
    assert everyone.filter(due_date__gt=today, due_date__lte=today + timedelta(days=7)).exists()
    assert everyone.filter(contact__isnull=False).exists()
    assert Task.history.count() == everyone.count()  # type: ignore[attr-defined]


def test_demo_customer_reminders() -> None:
    from rapport.interactions.choices import InteractionKind
    from rapport.interactions.models import Interaction
    from rapport.reminders.models import ServiceReminder
    from rapport.reminders.outreach_choices import ReminderKind, ReminderStatus

    context = DemoContext(
        rng=random.Random(7), contacts=300, now=timezone.now(), say=lambda text: None
    )
    wanted = {
        "teams and users",
        "companies and contacts",
        "catalog",
        "orders and installed base",
        "customer reminders",
    }
    for step in steps():
        if step.name in wanted:
            step.run(context)
    reminders = ServiceReminder.objects.all()
    sent = reminders.filter(status=ReminderStatus.SENT)
    assert sent.exists()
    assert reminders.filter(status=ReminderStatus.SKIPPED).exists()
    assert reminders.filter(status=ReminderStatus.FAILED).exclude(last_error="").exists()
    assert reminders.filter(status=ReminderStatus.PENDING, attempts__gt=0).exists()
    assert reminders.filter(kind=ReminderKind.RENEWAL).exists()
    # Each sent one is on its customer's timeline, once.
    assert Interaction.objects.filter(kind=InteractionKind.REMINDER).count() == sent.count()
    assert not sent.filter(interaction__isnull=True).exists()
