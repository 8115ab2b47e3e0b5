"""Large demos: the bulk steps load realistic data with every derived value right."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest
from django.db.models import Count, Max, Sum
from django.utils import timezone

from rapport.core.demo import DemoContext, steps
from rapport.customers.models import Company, Contact, ContactEmail, Membership
from rapport.interactions.models import Interaction
from rapport.search import index
from rapport.trading.choices import BOUGHT_STATUSES
from rapport.trading.models import Order, TradingSummary
from tests.customers.factories import make_contact

pytestmark = pytest.mark.django_db

# The steps a large demo of contacts, orders and timeline needs (others are their apps' business).
NEEDED = (
    "teams and users",
    "companies and contacts",
    "companies and contacts (large demos)",
    "catalog",
    "timeline",
    "orders and installed base",
    "orders and timeline (large demos)",
)


def load(contacts: int) -> DemoContext:
    context = DemoContext(
        rng=random.Random(7),
        contacts=contacts,
        now=timezone.now().replace(microsecond=0),
        say=lambda text: None,
    )
    for step in steps():
        if step.name in NEEDED:
            step.run(context)
    return context


@pytest.fixture
def large(settings: Any) -> DemoContext:
    settings.RAPPORT_DEMO_BULK_THRESHOLD = 200
    return load(400)


def test_a_large_demo_has_realistic_findable_people(large: DemoContext) -> None:
    assert Contact.objects.count() == 400
    assert Company.objects.count() == 40
    stages = Counter(Contact.objects.values_list("lifecycle_stage", flat=True))
    assert len(stages) == 6
    assert stages.most_common(1)[0][0] == "customer"
    owners = set(Contact.objects.values_list("owner__role", flat=True))
    assert owners <= {"sales", "service"}

    # Every contact has a unique primary e-mail, the same as on its row.
    emails = dict(ContactEmail.objects.filter(is_primary=True).values_list("contact_id", "email"))
    assert len(emails) == 400
    assert len(set(emails.values())) == 400
    assert all(emails[pk] == email for pk, email in Contact.objects.values_list("pk", "email"))
    # People at a company write from its domain.
    member = Membership.objects.select_related("contact", "company").first()
    assert member is not None
    assert member.contact.email.endswith("@" + member.company.domain)


def test_derived_values_are_right_after_a_large_demo(large: DemoContext) -> None:
    orders = Order.objects.annotate(lines_total=Sum("lines__line_total"), n=Count("lines"))
    assert orders.count() > 400  # repeat buyers: several orders per buyer
    for order in orders:
        assert order.n >= 1
        assert order.total == order.lines_total
        assert order.subtotal - order.discount == order.total
    per_contact = Counter(Order.objects.values_list("contact_id", flat=True))
    assert max(per_contact.values()) >= 5  # some buy again and again

    # Every order is on the timeline with the services' dedupe key.
    keys = set(Interaction.objects.filter(kind="order").values_list("dedupe_key", flat=True))
    for pk, status in Order.objects.values_list("pk", "status"):
        assert f"order:{pk}:{'quoted' if status == 'quote' else 'placed'}" in keys
    assert Interaction.objects.count() >= 10 * 400 * 0.9

    # Last activity is the latest touchpoint.
    latest = dict(
        Interaction.objects.values("contact_id")
        .annotate(at=Max("occurred_at"))
        .values_list("contact_id", "at")
    )
    for pk, last_activity in Contact.objects.values_list("pk", "last_activity_at"):
        assert last_activity == latest.get(pk)
    assert len(latest) > 300  # most contacts have a touchpoint: the check above is not vacuous

    # Segment rules read each buyer's orders from the trading summary, as the services keep it.
    bought = (
        Order.objects.filter(status__in=BOUGHT_STATUSES)
        .values("contact_id")
        .annotate(n=Count("pk"))
        .values_list("contact_id", "n")
    )
    assert dict(TradingSummary.objects.values_list("contact_id", "order_count")) == dict(bought)

    # Global search finds bulk-loaded people by e-mail, name and misspelt name.
    contact = Contact.objects.order_by("pk")[123]
    assert contact.pk in index.find("contact", contact.email, limit=5)
    assert contact.pk in index.find("contact", contact.full_name, limit=400)
    surname = contact.last_name.lower()
    typo = surname[0] + surname[2] + surname[1] + surname[3:] if len(surname) > 4 else surname
    assert contact.pk in index.find("contact", f"{contact.first_name} {typo}", limit=400)

    # New records get ids after the loaded ones.
    highest = Contact.objects.aggregate(top=Max("pk"))["top"]
    assert make_contact().pk > highest


def test_a_small_demo_is_left_to_the_ordinary_steps(settings: Any) -> None:
    settings.RAPPORT_DEMO_BULK_THRESHOLD = 1000
    load(60)
    assert Contact.objects.count() == 60
    # The ordinary customers step writes a history entry per contact, as the services do.
    assert Contact.history.count() == 60


def test_a_large_demo_written_in_many_chunks_is_whole_and_in_order(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rapport.customers import scale

    settings.RAPPORT_DEMO_BULK_THRESHOLD = 200
    # Chunks far smaller than the demo: rows must be neither lost nor doubled at the seams.
    monkeypatch.setattr(scale, "CONTACTS_PER_CHUNK", 70)
    monkeypatch.setattr(scale, "ROWS_PER_CHUNK", 333)
    load(400)

    assert Contact.objects.count() == 400
    assert ContactEmail.objects.filter(is_primary=True).values("email").distinct().count() == 400
    assert Contact.history.count() == 400
    assert Membership.objects.count() == Contact.objects.exclude(memberships=None).count()
    orders = Order.objects.annotate(lines_total=Sum("lines__line_total"))
    assert orders.count() > 400
    assert all(order.total == order.lines_total for order in orders)
    # Numbered per year in the order they were placed, without gaps.
    by_year: dict[str, list[int]] = {}
    for number in Order.objects.order_by("created_at", "pk").values_list("number", flat=True):
        year, sequence = number.split("-")
        by_year.setdefault(year, []).append(int(sequence))
    for sequences in by_year.values():
        assert sequences == list(range(1, len(sequences) + 1))
    # Timeline ids grow with time, and every order has its entry once.
    times = list(Interaction.objects.order_by("pk").values_list("occurred_at", flat=True))
    assert times == sorted(times)
    entries = Counter(Interaction.objects.filter(kind="order").values_list("source_id", flat=True))
    assert set(entries) == set(Order.objects.values_list("pk", flat=True))
    assert set(entries.values()) == {1}
