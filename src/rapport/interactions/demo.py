"""Demo timeline: calls, meetings, e-mails, notes and inquiries over the last three years.

Bulk-inserted with their history rows (as ``log_interaction`` would have
written them) so ``rapport demo --contacts 20000`` stays quick. Orders,
deliveries and maintenance visits come from the trading demo.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from django.db.models import OuterRef, Subquery
from simple_history.utils import bulk_create_with_history

from rapport.core.demo import DemoContext, register
from rapport.customers.models import Contact
from rapport.interactions.choices import Channel, Direction, InteractionKind, Outcome
from rapport.interactions.models import Interaction

BATCH = 2000
THREE_YEARS = timedelta(days=3 * 365)
# How many touchpoints a demo contact has: most a few, some none, a few many.
COUNT_WEIGHTS = [(0, 12), (1, 18), (2, 20), (3, 16), (4, 12), (6, 10), (9, 8), (14, 4)]
KIND_WEIGHTS = [
    (InteractionKind.CALL, 35),
    (InteractionKind.EMAIL, 30),
    (InteractionKind.NOTE, 15),
    (InteractionKind.MEETING, 12),
    (InteractionKind.INQUIRY, 8),
]
SUBJECTS: dict[str, list[str]] = {
    InteractionKind.CALL: [
        "Follow-up on the quote",
        "Checked in after the installation",
        "Asked about the service contract",
        "Discussed the renewal",
        "Call about the open invoice",
        "Introductory call",
    ],
    InteractionKind.EMAIL: [
        "Sent the quote",
        "Sent the product brochure",
        "Confirmed the appointment",
        "Answered a question about delivery times",
        "Sent the maintenance offer",
    ],
    InteractionKind.NOTE: [
        "Prefers calls in the morning",
        "Budget decision in the next quarter",
        "Met at the trade fair",
        "Wants to be contacted by e-mail only",
        "Decision maker is the managing director",
    ],
    InteractionKind.MEETING: [
        "On-site visit",
        "Product demo",
        "Annual account review",
        "Planning meeting for the upgrade",
    ],
    InteractionKind.INQUIRY: [
        "Asked for a price list",
        "Asked about spare parts",
        "Request for a quote",
        "Asked for a service appointment",
    ],
}
BODIES = [
    "",
    "",
    "Will get back to us after talking to the team.",
    "Interested, but wants to compare offers first.",
    "Very satisfied so far; mentioned a colleague who might need the same.",
    "Needs the offer in writing by the end of the month.",
    "Asked us to call again in two weeks.",
]
CALL_OUTCOMES = [
    Outcome.CONNECTED,
    Outcome.CONNECTED,
    Outcome.CONNECTED,
    Outcome.LEFT_MESSAGE,
    Outcome.NO_ANSWER,
    Outcome.INTERESTED,
    Outcome.FOLLOW_UP,
]
MEETING_OUTCOMES = [Outcome.INTERESTED, Outcome.FOLLOW_UP, Outcome.DONE, Outcome.NOT_INTERESTED]


@register(30, "timeline")
def load(context: DemoContext) -> None:
    rng = context.rng
    colleagues: list[Any] = [
        user for user in context.made.get("users", []) if user.role in ("sales", "service")
    ] or [None]
    by_id = {user.pk: user for user in colleagues if user is not None}
    counts = [count for count, _ in COUNT_WEIGHTS]
    count_weights = [weight for _, weight in COUNT_WEIGHTS]
    kinds = [kind for kind, _ in KIND_WEIGHTS]
    kind_weights = [weight for _, weight in KIND_WEIGHTS]
    earliest = context.now - THREE_YEARS
    total = 0
    rows: list[Interaction] = []
    # Read first, then write: no cursor stays open across the inserts.
    contacts = list(Contact.objects.order_by("id").values_list("id", "owner_id", "created_at"))
    for contact_id, owner_id, created_at in contacts:
        start = max(created_at, earliest)
        for _ in range(rng.choices(counts, count_weights)[0]):
            owner = by_id.get(owner_id) or rng.choice(colleagues)
            kind = rng.choices(kinds, kind_weights)[0]
            rows.append(_touchpoint(rng, contact_id, owner, kind, _when(rng, start, context.now)))
        if len(rows) >= BATCH:
            total += _insert(rows)
            rows = []
    total += _insert(rows)
    # "Last activity" is the latest live touchpoint, as the services keep it.
    latest = (
        Interaction.objects.filter(contact=OuterRef("pk"), deleted_at__isnull=True)
        .order_by("-occurred_at", "-id")
        .values("occurred_at")[:1]
    )
    Contact.objects.update(last_activity_at=Subquery(latest))
    context.say(f"  {total} touchpoints on the timeline")


def _when(rng: random.Random, start: datetime, now: datetime) -> datetime:
    """A moment between ``start`` and now, more often recent (people talk to active customers)."""
    span = max((now - start).total_seconds(), 60.0)
    return now - timedelta(seconds=span * rng.random() ** 1.6)


def _touchpoint(
    rng: random.Random, contact_id: int, owner: Any, kind: str, when: datetime
) -> Interaction:
    channel, direction, outcome, minutes = "", "", "", None
    if kind == InteractionKind.CALL:
        channel = Channel.PHONE
        direction = rng.choice([Direction.OUTBOUND, Direction.OUTBOUND, Direction.INBOUND])
        outcome = rng.choice(CALL_OUTCOMES)
        minutes = rng.choice([2, 5, 8, 12, 20, 30]) if outcome == Outcome.CONNECTED else 1
    elif kind == InteractionKind.EMAIL:
        channel = Channel.EMAIL
        direction = rng.choice([Direction.OUTBOUND, Direction.INBOUND])
    elif kind == InteractionKind.MEETING:
        channel = rng.choice([Channel.IN_PERSON, Channel.VIDEO])
        direction = Direction.OUTBOUND
        outcome = rng.choice(MEETING_OUTCOMES)
        minutes = rng.choice([30, 45, 60, 90])
    elif kind == InteractionKind.INQUIRY:
        channel = rng.choice([Channel.WEB, Channel.EMAIL, Channel.PHONE])
        direction = Direction.INBOUND
    else:
        direction = Direction.INTERNAL
    return Interaction(
        kind=kind,
        channel=channel,
        direction=direction,
        occurred_at=when,
        contact_id=contact_id,
        subject=rng.choice(SUBJECTS[kind]),
        body=rng.choice(BODIES),
        outcome=outcome,
        duration_minutes=minutes,
        owner=owner,
        created_by=owner,
        updated_by=owner,
        created_at=when,
        updated_at=when,
    )


def _insert(rows: list[Interaction]) -> int:
    if not rows:
        return 0
    bulk_create_with_history(rows, Interaction, batch_size=BATCH, default_change_reason="Demo data")
    return len(rows)
