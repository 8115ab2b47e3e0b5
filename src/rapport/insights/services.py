"""The analytics refresh: read every purchase, score every buyer, swap the scores in at once."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from numpy.typing import NDArray

from rapport.core.models import CustomFieldDefinition, CustomFieldTarget, CustomFieldType
from rapport.core.permissions import Action, authorise
from rapport.customers.models import Contact
from rapport.insights import offers, pipeline
from rapport.insights.models import (
    CustomerScore,
    LoyaltyTier,
    ModelRun,
    NextBestOffer,
    OfferAction,
    RunStatus,
)
from rapport.reminders import services as reminder_services
from rapport.reminders.models import Task
from rapport.reminders.services import TaskInput
from rapport.trading.choices import BOUGHT_STATUSES
from rapport.trading.models import Order
from rapport.users.models import User

logger = logging.getLogger(__name__)

READ_CHUNK = 50_000
WRITE_BATCH = 5_000
CENT = Decimal("0.01")

Progress = Callable[[str, int, int], None]  # stage, done, total


def request_refresh(actor: User) -> None:
    """Queue a refresh now (the nightly job runs anyway)."""
    authorise(actor, Action.ADD, ModelRun)
    from rapport.insights.tasks import refresh_in_background

    transaction.on_commit(refresh_in_background)


def refresh_scores(*, today: date | None = None, progress: Progress | None = None) -> ModelRun:
    """Recompute every contact's scores from their orders.

    The new scores replace the old ones in one transaction, so pages never
    show a half-written refresh; a failed refresh leaves the previous scores
    and is recorded with its error.
    """
    day = today or timezone.localdate()
    run = ModelRun.objects.create(started_at=timezone.now())
    say = progress or (lambda stage, done, total: None)
    try:
        customer, days, amount = _purchases(day, say)
        scores = pipeline.score_customers(
            customer, days, amount, today=day.toordinal(), settings=_settings()
        )
        tiers = _tiers(scores, day)
        share = _share_of_business(scores)
        with transaction.atomic():
            CustomerScore.objects.all().delete()
            written = 0
            for batch in _rows(scores, run, tiers, share):
                CustomerScore.objects.bulk_create(batch)
                written += len(batch)
                say("writing scores", written, scores.customer.size)
            say("choosing offers", 0, 1)
            scores.diagnostics["offers"] = offers.build_offers(run, day)
            say("choosing offers", 1, 1)
            run.status = RunStatus.SUCCEEDED
            run.finished_at = timezone.now()
            run.customers = int(scores.customer.size)
            run.orders = int(customer.size)
            run.diagnostics = scores.diagnostics
            run.save()
    except Exception as error:
        logger.exception("Analytics refresh failed")
        ModelRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED, finished_at=timezone.now(), error=str(error)[:2000]
        )
        raise
    return run


def _settings() -> pipeline.Settings:
    config = getattr(settings, "INSIGHTS", {})
    return pipeline.Settings(**config)


def _purchases(today: date, say: Progress) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Contact, day number and base-currency amount of every bought order."""
    orders = Order.objects.filter(
        deleted_at__isnull=True, contact__isnull=False, status__in=BOUGHT_STATUSES
    )
    total = orders.count()
    customer = np.empty(total, dtype=np.int64)
    days = np.empty(total, dtype=np.int64)
    amount = np.empty(total, dtype=np.float64)
    count = 0
    rows = orders.values_list("contact_id", "order_date", "total_base").iterator(
        chunk_size=READ_CHUNK
    )
    for contact_id, order_date, total_base in rows:
        if count == total:  # orders placed while we read are for the next refresh
            break
        customer[count] = contact_id
        days[count] = order_date.toordinal()
        amount[count] = float(total_base)
        count += 1
        if count % READ_CHUNK == 0:
            say("reading orders", count, total)
    say("reading orders", count, total)
    return customer[:count], days[:count], amount[:count]


def _tiers(scores: pipeline.Scores, today: date) -> list[LoyaltyTier | None]:
    """Each customer's highest tier whose value and tenure thresholds they meet."""
    tenure = today.toordinal() - scores.first_day
    value = np.nan_to_num(scores.lifetime_value, nan=0.0)
    assigned: list[LoyaltyTier | None] = [None] * scores.customer.size
    reached = np.zeros(scores.customer.size, dtype=bool)
    for tier in LoyaltyTier.objects.all():  # highest first (model ordering)
        meets = (
            (value >= float(tier.min_lifetime_value)) & (tenure >= tier.min_tenure_days) & ~reached
        )
        for i in np.flatnonzero(meets):
            assigned[i] = tier
        reached |= meets
    return assigned


def _share_of_business(scores: pipeline.Scores) -> NDArray[np.float64]:
    """Recent spend against the estimated annual category spend, where a contact has one.

    The estimate is the number custom field named by INSIGHTS_WALLET_FIELD.
    """
    share = np.full(scores.customer.size, np.nan)
    key = getattr(settings, "INSIGHTS_WALLET_FIELD", "")
    if (
        not key
        or not CustomFieldDefinition.objects.filter(
            target=CustomFieldTarget.CONTACT,
            key=key,
            field_type=CustomFieldType.NUMBER,
            is_active=True,
        ).exists()
    ):
        return share
    estimates = Contact.objects.filter(**{f"custom_fields__{key}__isnull": False}).values_list(
        "pk", f"custom_fields__{key}"
    )
    for contact_id, estimate in estimates.iterator(chunk_size=READ_CHUNK):
        i = int(np.searchsorted(scores.customer, contact_id))
        if i < scores.customer.size and scores.customer[i] == contact_id:
            try:
                wallet = float(estimate)
            except (TypeError, ValueError):
                continue
            if wallet > 0:
                share[i] = min(scores.recent_spend[i] / wallet, 1.0)
    return share


def _rows(
    scores: pipeline.Scores,
    run: ModelRun,
    tiers: list[LoyaltyTier | None],
    share: NDArray[np.float64],
) -> Iterator[list[CustomerScore]]:
    batch: list[CustomerScore] = []
    for i in range(scores.customer.size):
        batch.append(
            CustomerScore(
                contact_id=int(scores.customer[i]),
                run=run,
                first_order_on=date.fromordinal(int(scores.first_day[i])),
                last_order_on=date.fromordinal(int(scores.last_day[i])),
                purchases=int(scores.purchases[i]),
                spend=_money(scores.spend[i]) or Decimal(0),
                recency_days=int(scores.recency_days[i]),
                recency_score=int(scores.rfm.recency[i]),
                frequency_score=int(scores.rfm.frequency[i]),
                monetary_score=int(scores.rfm.monetary[i]),
                segment=str(scores.rfm.segment[i]),
                expected_purchases=_number(scores.expected_purchases[i]),
                p_alive=_number(scores.p_alive[i]),
                churn_risk=_number(scores.churn_risk[i]),
                expected_order_value=_money(scores.expected_order_value[i]),
                lifetime_value=_money(scores.lifetime_value[i]),
                value_percentile=_number(scores.value_percentile[i]),
                valuable_at_risk=bool(scores.valuable_at_risk[i]),
                recent_spend=_money(scores.recent_spend[i]) or Decimal(0),
                share_of_business=_number(share[i]),
                loyalty_tier=tiers[i],
            )
        )
        if len(batch) == WRITE_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _number(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _money(value: float) -> Decimal | None:
    if not np.isfinite(value):
        return None
    return Decimal(repr(float(value))).quantize(CENT)


def follow_up_offer(actor: User, offer: NextBestOffer) -> Task:
    """Turn an offer into a task for the contact's owner (or the actor) and remember it.

    The offer is then not made again to this contact for a while (``offers.QUIET_DAYS``).
    """
    authorise(actor, Action.VIEW, offer.contact)
    authorise(actor, Action.ADD, Task)
    contact = offer.contact
    with transaction.atomic():
        task = reminder_services.create_task(
            actor,
            TaskInput(
                title=f"Offer {offer.product.name} to {contact}",
                due_date=timezone.localdate() + timedelta(days=2),
                notes=offer.explanation,
                assignee=contact.owner if contact.owner and contact.owner.is_active else actor,
                contact=contact,
                related=offer.product,
            ),
            reason="Next best offer",
        )
        OfferAction.objects.create(
            contact=contact,
            product=offer.product,
            kind="task",
            created_at=timezone.now(),
            created_by=actor,
        )
        offer.delete()
    return task


# --- loyalty tiers ---------------------------------------------------------------


def save_tier(
    actor: User,
    tier: LoyaltyTier | None,
    *,
    name: str,
    min_lifetime_value: Decimal,
    min_tenure_days: int,
    privileges: str = "",
) -> LoyaltyTier:
    """Create or change a tier; customers move at the next refresh."""
    authorise(actor, Action.CHANGE, LoyaltyTier)
    name = " ".join(name.split())
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["Name the tier."]
    elif LoyaltyTier.objects.filter(name__iexact=name).exclude(pk=getattr(tier, "pk", 0)).exists():
        errors["name"] = [f"There is already a tier called {name}."]
    if min_lifetime_value < 0:
        errors["min_lifetime_value"] = ["Zero or more."]
    if min_tenure_days < 0:
        errors["min_tenure_days"] = ["Zero or more days."]
    if errors:
        raise ValidationError(errors)
    target = tier or LoyaltyTier()
    target.name = name
    target.min_lifetime_value = min_lifetime_value
    target.min_tenure_days = min_tenure_days
    target.privileges = privileges.strip()
    target.save()
    return target


def delete_tier(actor: User, tier: LoyaltyTier) -> None:
    authorise(actor, Action.DELETE, LoyaltyTier)
    tier.delete()
