"""The demo step sets up a desk and tickets in several states, through the services."""

from __future__ import annotations

import random

import pytest
from django.utils import timezone

from rapport.core.demo import DemoContext
from rapport.interactions.choices import InteractionKind
from rapport.interactions.models import Interaction
from rapport.service import demo
from rapport.service.models import SlaPolicy, Ticket
from rapport.users.models import User
from tests.customers.factories import make_contact

pytestmark = pytest.mark.django_db


def test_demo_loads_a_desk_with_tickets_once(service_user: User) -> None:
    for _ in range(30):
        make_contact()
    said: list[str] = []
    context = DemoContext(
        rng=random.Random(7), contacts=30, now=timezone.now(), say=said.append,
        made={"users": [service_user]},
    )  # fmt: skip
    demo.load(context)
    assert SlaPolicy.objects.count() == 4
    tickets = Ticket.objects.all()
    assert tickets.count() == 10
    assert len({t.status for t in tickets}) >= 2
    assert all(t.first_response_due is not None for t in tickets)
    assert Interaction.objects.filter(kind=InteractionKind.SUPPORT).exists()
    demo.load(context)
    assert Ticket.objects.count() == 10
