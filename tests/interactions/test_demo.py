"""The demo timeline: manual kinds only, history rows, "last activity" consistent."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.db.models import Max
from django.utils import timezone

from rapport.core.demo import DemoContext, steps
from rapport.customers.models import Contact
from rapport.interactions import demo
from rapport.interactions.choices import MANUAL_KINDS, InteractionKind
from rapport.interactions.models import Interaction
from rapport.users.models import User
from tests.customers.factories import make_contact

pytestmark = pytest.mark.django_db


def run(seed: int, users: list[User]) -> DemoContext:
    context = DemoContext(
        rng=random.Random(seed),
        contacts=Contact.objects.count(),
        now=timezone.now().replace(microsecond=0),
        say=lambda text: None,
        made={"users": users},
    )
    demo.load(context)
    return context


def test_the_step_is_registered_after_contacts() -> None:
    names = [step.name for step in steps()]
    assert names.index("timeline") > names.index("companies and contacts")


def test_demo_touchpoints(sales: User, service_user: User) -> None:
    contacts = [make_contact(None, owner=sales if n % 2 else None) for n in range(60)]
    context = run(7, [sales, service_user])
    rows = list(Interaction.objects.all())
    assert len(rows) > 60
    kinds = {row.kind for row in rows}
    assert kinds <= set(MANUAL_KINDS) - {InteractionKind.MAINTENANCE}
    assert len(kinds) == 5
    assert all(context.now - timedelta(days=3 * 365) <= r.occurred_at <= context.now for r in rows)
    assert {row.owner_id for row in rows} <= {sales.pk, service_user.pk}
    # Each contact's touchpoints are owned by its owner when it has one.
    owned = {c.pk for c in contacts if c.owner_id == sales.pk}
    assert all(r.owner_id == sales.pk for r in rows if r.contact_id in owned)
    assert Interaction.history.filter(history_type="+").count() == len(rows)
    latest = dict(
        Interaction.objects.values("contact_id")
        .annotate(latest=Max("occurred_at"))
        .values_list("contact_id", "latest")
    )
    for contact in Contact.objects.all():
        assert contact.last_activity_at == latest.get(contact.pk)


def test_same_seed_same_timeline(sales: User) -> None:
    for _ in range(20):
        make_contact(None, owner=sales)
    run(3, [sales])
    first = list(Interaction.objects.order_by("id").values_list("contact_id", "kind", "subject"))
    Interaction.history.all().delete()
    Interaction.objects.all().delete()
    run(3, [sales])
    again = list(Interaction.objects.order_by("id").values_list("contact_id", "kind", "subject"))
    assert first == again
