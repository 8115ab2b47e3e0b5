"""Demo deals over the last year: open ones across the stages, won and lost ones.

Deals go through the services (stage history, timeline, lifecycle), then their
dates are set back to when they would have happened, so the board, the
forecast and the contact timelines look like a year of real work. Won deals
are upsells to existing customers (they bought already in the trading demo),
open and lost deals are with prospects and leads.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from rapport.catalog.models import Product
from rapport.core.demo import DemoContext, register
from rapport.core.permissions import Role
from rapport.customers.choices import LifecycleStage
from rapport.customers.models import Contact, Membership
from rapport.interactions.models import Interaction
from rapport.sales import services
from rapport.sales.choices import DealSource, StageKind
from rapport.sales.models import Deal, SalesTarget, StageChange
from rapport.users.models import User

MAX_DEALS = 300
# Large demos pick their deals' contacts from this many (random) contacts.
CANDIDATES = 20_000
LOST_REASONS = (
    "Went with a cheaper competitor",
    "Budget frozen until next year",
    "No decision: project postponed",
    "Chose to repair the old unit instead",
    "Lost contact with the buyer",
)
NAMES = ("Heating upgrade", "Maintenance contract", "Replacement", "New site fit-out",
         "Service plan renewal", "Extension", "Pilot installation")  # fmt: skip


@register(50, "sales pipeline")
def load(context: DemoContext) -> None:
    rng = context.rng
    pipeline = services.default_pipeline()
    stages = list(pipeline.stages.order_by("position"))
    open_stages = [stage for stage in stages if stage.kind == StageKind.OPEN]
    won = next(stage for stage in stages if stage.kind == StageKind.WON)
    lost = next(stage for stage in stages if stage.kind == StageKind.LOST)
    products = list(Product.objects.filter(active=True, deleted_at__isnull=True).order_by("id"))
    people = _candidates(context)
    memberships = Membership.objects.filter(is_primary=True)
    if context.bulk:
        memberships = memberships.filter(contact_id__in=[person.pk for person in people])
    company_of = dict(memberships.values_list("contact_id", "company_id"))
    customers = [c for c in people if c.lifecycle_stage == LifecycleStage.CUSTOMER]
    prospects = [
        c for c in people if c.lifecycle_stage in (LifecycleStage.LEAD, LifecycleStage.PROSPECT)
    ]
    count = min(MAX_DEALS, max(10, len(people) // 5))
    if not people:
        context.say("  no contacts: no deals")
        return
    now = context.now
    made = {"open": 0, "won": 0, "lost": 0}
    for _ in range(count):
        roll = rng.random()
        outcome = "won" if roll < 0.25 else "lost" if roll < 0.45 else "open"
        pool = customers if outcome == "won" and customers else prospects or people
        contact = rng.choice(pool)
        started = now - timedelta(days=rng.randint(5, 360))
        lines = []
        if products and rng.random() < 0.7:
            for product in rng.sample(products, k=min(len(products), rng.randint(1, 2))):
                lines.append(services.LineInput(product, Decimal(rng.randint(1, 3))))
        expected = timezone.localdate(started) + timedelta(days=rng.randint(20, 120))
        if outcome == "open" and expected < timezone.localdate(now):
            expected = timezone.localdate(now) + timedelta(days=rng.randint(5, 150))
        company_id = company_of.get(contact.pk) if rng.random() < 0.5 else None
        deal = services.create_deal(
            None,
            services.DealInput(
                name=f"{rng.choice(NAMES)}: {contact.full_name}",
                expected_close=expected,
                contact=contact,
                company=contact.companies.filter(pk=company_id).first() if company_id else None,
                amount=Decimal(rng.randrange(800, 40000, 50)) if not lines else None,
                currency="EUR",
                stage=open_stages[0],
                owner=contact.owner,
                source=rng.choice(DealSource.values),
                lines=lines,
            ),
            reason="Demo",
        )
        path = open_stages[: rng.randint(1, len(open_stages))]
        if outcome == "won":
            path = [*path, won]
        elif outcome == "lost":
            path = [*path, lost]
        moments = _moments(rng, started, now, len(path))
        for stage in path[1:]:
            services.move_deal(None, deal, stage, lost_reason=rng.choice(LOST_REASONS))
        _backdate(deal, started, moments, stale=outcome == "open" and rng.random() < 0.2)
        made[outcome] += 1
    _targets(context)
    context.say(f"  {made['open']} open, {made['won']} won and {made['lost']} lost deals")


def _candidates(context: DemoContext) -> list[Contact]:
    """Whom deals are made with: every contact, or for a large demo a random sample of them.

    A few hundred deals need no million contacts in memory; a sample of
    ``CANDIDATES`` spreads them over the whole address book all the same.
    """
    contacts = Contact.objects.select_related("owner").order_by("id")
    if not context.bulk:
        return list(contacts)
    ids = list(Contact.objects.order_by("id").values_list("id", flat=True))
    picked = context.rng.sample(ids, min(CANDIDATES, len(ids)))
    chosen: list[Contact] = []
    for start in range(0, len(picked), 5000):  # SQLite's limit on query parameters
        chosen += contacts.filter(pk__in=picked[start : start + 5000])
    return sorted(chosen, key=lambda contact: contact.pk)


def _moments(rng: Any, start: datetime, end: datetime, steps: int) -> list[datetime]:
    span = max((end - start).total_seconds(), 3600.0)
    offsets = sorted(rng.uniform(0, span * 0.9) for _ in range(steps - 1))
    return [start, *(start + timedelta(seconds=offset) for offset in offsets)]


def _backdate(deal: Deal, started: datetime, moments: list[datetime], *, stale: bool) -> None:
    """Put the deal's history where it would have happened (demo data only)."""
    changes = list(StageChange.objects.filter(deal=deal).order_by("id"))
    for change, moment in zip(changes, moments, strict=False):
        StageChange.objects.filter(pk=change.pk).update(changed_at=moment)
    last = moments[-1] if moments else started
    activity = last - timedelta(days=30) if stale else last
    values: dict[str, Any] = {"created_at": started, "last_activity_at": max(activity, started)}
    if deal.closed_on is not None:
        values["closed_on"] = timezone.localdate(last)
    Deal.objects.filter(pk=deal.pk).update(**values)
    kind = ContentType.objects.get_for_model(Deal)
    entries = list(Interaction.objects.filter(source_type=kind, source_id=deal.pk).order_by("id"))
    for entry, moment in zip(entries, moments, strict=False):
        Interaction.objects.filter(pk=entry.pk).update(occurred_at=moment)


def _targets(context: DemoContext) -> None:
    """A monthly target for each sales person over the last six months and the next three."""
    today = timezone.localdate(context.now)
    sellers = User.objects.filter(role=Role.SALES, is_active=True)
    for seller in sellers:
        base = Decimal(context.rng.randrange(8000, 30000, 1000))
        for back in range(-6, 3):
            index = today.year * 12 + today.month - 1 + back
            month = datetime.combine(
                today.replace(year=index // 12, month=index % 12 + 1, day=1), time()
            ).date()
            if not SalesTarget.objects.filter(owner=seller, month=month).exists():
                services.set_target(None, seller, month, base)
