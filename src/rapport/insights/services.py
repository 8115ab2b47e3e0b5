"""The analytics refresh: read every purchase, score every buyer, swap the scores in at once."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from numpy.typing import NDArray

from rapport.catalog.models import Product
from rapport.core.models import CustomFieldDefinition, CustomFieldTarget, CustomFieldType
from rapport.core.permissions import Action, authorise
from rapport.customers.models import Contact
from rapport.insights import columns, offers, pipeline, swap
from rapport.insights.models import (
    CompanyScore,
    CustomerScore,
    LoyaltyTier,
    ModelRun,
    NextBestOffer,
    OfferAction,
    OfferRule,
    RunStatus,
    TierSatisfaction,
)
from rapport.insights.rfm import SEGMENT_LABELS
from rapport.reminders import services as reminder_services
from rapport.reminders.models import Task
from rapport.reminders.services import TaskInput
from rapport.sales import services as sales_services
from rapport.sales.choices import DealSource
from rapport.sales.models import Deal
from rapport.sales.services import DealInput
from rapport.satisfaction.choices import CsatClass, NpsClass
from rapport.satisfaction.queries import LatestClasses, latest_classes
from rapport.trading.choices import BOUGHT_STATUSES
from rapport.trading.models import Order
from rapport.trading.services import LineInput
from rapport.users.models import User

logger = logging.getLogger(__name__)

READ_CHUNK = 50_000

Progress = Callable[[str, int, int], None]  # stage, done, total
AnswersOf = Callable[[list[int]], Mapping[int, LatestClasses]]


def request_refresh(actor: User) -> None:
    """Queue a refresh now (the nightly job runs anyway)."""
    authorise(actor, Action.ADD, ModelRun)
    from rapport.insights.tasks import refresh_in_background

    transaction.on_commit(refresh_in_background)


def refresh_scores(*, today: date | None = None, progress: Progress | None = None) -> ModelRun:
    """Recompute every contact's and company's scores from their orders.

    The new scores replace the old ones in one transaction, so pages never
    show a half-written refresh; a failed refresh leaves the previous scores
    and is recorded with its error.
    """
    day = today or timezone.localdate()
    run = ModelRun.objects.create(started_at=timezone.now())
    say = progress or (lambda stage, done, total: None)
    try:
        say("reading orders", 0, 1)
        orders = _bought_orders()
        say("reading orders", 1, 1)
        say("scoring", 0, 2)
        # The company models are fitted in a second thread while this one scores
        # contacts: numpy and scipy let go of the interpreter lock for the maths.
        with ThreadPoolExecutor(max_workers=1) as pool:
            by_company = orders.company > 0
            company_future = pool.submit(
                pipeline.score_customers,
                orders.company[by_company],
                orders.day[by_company],
                orders.amount[by_company],
                today=day.toordinal(),
                settings=_settings(),
            )
            by_contact = orders.contact > 0
            scores = pipeline.score_customers(
                orders.contact[by_contact],
                orders.day[by_contact],
                orders.amount[by_contact],
                today=day.toordinal(),
                settings=_settings(),
            )
            del by_contact, by_company
            say("scoring", 1, 2)
            company_scores = company_future.result()
        say("scoring", 2, 2)
        say("choosing offers", 0, 1)
        chosen = offers.choose_offers(
            day,
            orders.id,
            orders.contact,
            orders.day,
            segments=(scores.customer, scores.rfm.segment),
        )
        orders_read = int(np.count_nonzero(orders.contact))
        del orders
        say("choosing offers", 1, 1)
        total = int(scores.customer.size + company_scores.customer.size + chosen.rows)
        say("writing", 0, total)
        with transaction.atomic():
            staged = [
                swap.stage(
                    CustomerScore,
                    _score_columns(
                        scores,
                        run,
                        key="contact_id",
                        tiers=_tiers(scores, day, answers_of=latest_classes),
                        extra={"share_of_business": _numbers(_share_of_business(scores))},
                    ),
                    rows=int(scores.customer.size),
                ),
                swap.stage(
                    CompanyScore,
                    _score_columns(
                        company_scores, run, key="company_id", tiers=_tiers(company_scores, day)
                    ),
                    rows=int(company_scores.customer.size),
                ),
                swap.stage(NextBestOffer, {**chosen.columns, "run_id": run.pk}, rows=chosen.rows),
            ]
            for table in staged:
                table.swap_in()
            scores.diagnostics["offers"] = chosen.evaluation
            scores.diagnostics["companies"] = _company_summary(company_scores)
            run.status = RunStatus.SUCCEEDED
            run.finished_at = timezone.now()
            run.customers = int(scores.customer.size)
            run.orders = orders_read
            run.diagnostics = scores.diagnostics
            run.save()
        say("writing", total, total)
    except Exception as error:
        logger.exception("Analytics refresh failed")
        ModelRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED, finished_at=timezone.now(), error=str(error)[:2000]
        )
        raise
    return run


def _company_summary(scores: pipeline.Scores) -> dict[str, Any]:
    """What the run page says about company scores: how many, and what went wrong."""
    return {
        "customers": int(scores.customer.size),
        "warnings": scores.diagnostics.get("warnings", []),
        **{
            name: scores.diagnostics[name]
            for name in ("bgnbd", "pareto_nbd", "gamma_gamma")
            if name in scores.diagnostics
        },
    }


def _settings() -> pipeline.Settings:
    config = getattr(settings, "INSIGHTS", {})
    return pipeline.Settings(**config)


@dataclass(frozen=True)
class BoughtOrders:
    """Every bought, live order: one element per order."""

    id: NDArray[np.int64]
    contact: NDArray[np.int64]  # 0: none
    company: NDArray[np.int64]  # 0: none
    day: NDArray[np.int64]  # date.toordinal()
    amount: NDArray[np.float64]  # base currency


def _bought_orders() -> BoughtOrders:
    """Read in one pass over the orders table, as integers the database formats in bulk."""
    statuses = ", ".join(f"'{status}'" for status in sorted(BOUGHT_STATUSES))
    table = Order._meta.db_table
    rows = columns.scan(
        table,
        (
            "id",
            "COALESCE(contact_id, 0)",
            "COALESCE(company_id, 0)",
            columns.day_number("order_date"),
            columns.cents("total_base"),
        ),
        where=f"deleted_at IS NULL AND status IN ({statuses})",
    )
    return BoughtOrders(
        id=rows[:, 0].copy(),
        contact=rows[:, 1].copy(),
        company=rows[:, 2].copy(),
        day=rows[:, 3].copy(),
        amount=rows[:, 4] / 100.0,
    )


def _tiers(
    scores: pipeline.Scores, today: date, *, answers_of: AnswersOf | None = None
) -> NDArray[np.int64]:
    """Each customer's highest tier whose thresholds they meet (0: none).

    ``answers_of`` gives contacts' latest survey classes; without it (companies)
    a customer counts as one who never answered.
    """
    tenure = today.toordinal() - scores.first_day
    value = np.nan_to_num(scores.lifetime_value, nan=0.0)
    tiers = list(LoyaltyTier.objects.all())  # highest first (model ordering)
    reach = [
        (value >= float(tier.min_lifetime_value)) & (tenure >= tier.min_tenure_days)
        for tier in tiers
    ]
    mood = _moods(scores.customer, tiers, reach, answers_of)
    assigned = np.zeros(scores.customer.size, dtype=np.int64)
    for tier, meets in zip(tiers, reach, strict=True):
        if tier.min_satisfaction:
            meets = meets & mood[tier.min_satisfaction]
        assigned[meets & (assigned == 0)] = tier.pk
    return assigned


def _moods(
    customers: NDArray[np.int64],
    tiers: list[LoyaltyTier],
    reach: list[NDArray[np.bool_]],
    answers_of: AnswersOf | None,
) -> dict[str, NDArray[np.bool_]]:
    """Per satisfaction requirement, which customers meet it; asks only about candidates."""
    unhappy = np.zeros(customers.size, dtype=bool)
    content = np.zeros(customers.size, dtype=bool)
    delighted = np.zeros(customers.size, dtype=bool)
    candidates = np.zeros(customers.size, dtype=bool)
    for tier, meets in zip(tiers, reach, strict=True):
        if tier.min_satisfaction:
            candidates |= meets
    if answers_of is not None and candidates.any():
        positions = np.flatnonzero(candidates)
        answers = answers_of(customers[positions].tolist())
        for i in positions.tolist():
            latest = answers.get(int(customers[i]))
            if latest is None:
                continue
            unhappy[i] = latest.csat_class == CsatClass.DISSATISFIED or (
                latest.nps_class == NpsClass.DETRACTOR
            )
            content[i] = latest.csat_class in (CsatClass.SATISFIED, CsatClass.DELIGHTED) or (
                latest.nps_class in (NpsClass.PASSIVE, NpsClass.PROMOTER)
            )
            delighted[i] = latest.csat_class == CsatClass.DELIGHTED or (
                latest.nps_class == NpsClass.PROMOTER
            )
    return {
        TierSatisfaction.NOT_UNHAPPY: ~unhappy,
        TierSatisfaction.SATISFIED: content & ~unhappy,
        TierSatisfaction.DELIGHTED: delighted & ~unhappy,
    }


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


def _score_columns(
    scores: pipeline.Scores,
    run: ModelRun,
    *,
    key: str,
    tiers: NDArray[np.int64],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The score rows to write, column by column."""
    return {
        key: scores.customer,
        "run_id": run.pk,
        "first_order_on": columns.date_strings(scores.first_day),
        "last_order_on": columns.date_strings(scores.last_day),
        "purchases": scores.purchases,
        "spend": _money(scores.spend, default=0.0),
        "recency_days": scores.recency_days,
        "recency_score": scores.rfm.recency,
        "frequency_score": scores.rfm.frequency,
        "monetary_score": scores.rfm.monetary,
        "segment": scores.rfm.segment.astype(object),
        "expected_purchases": _numbers(scores.expected_purchases),
        "p_alive": _numbers(scores.p_alive),
        "churn_risk": _numbers(scores.churn_risk),
        "expected_order_value": _money(scores.expected_order_value),
        "lifetime_value": _money(scores.lifetime_value),
        "value_percentile": _numbers(scores.value_percentile),
        "valuable_at_risk": scores.valuable_at_risk,
        "recent_spend": _money(scores.recent_spend, default=0.0),
        "loyalty_tier_id": [tier or None for tier in tiers.tolist()],
        **(extra or {}),
    }


def _numbers(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """Floats for the database; NaN (no number from the model) is written as NULL."""
    return np.where(np.isfinite(values), values, np.nan)


def _money(values: NDArray[np.float64], default: float | None = None) -> NDArray[np.float64]:
    """Cents as the database's decimal columns store them (the ORM reads them as Decimal)."""
    rounded = np.round(np.asarray(values, dtype=np.float64), 2)
    fill = np.nan if default is None else default
    return np.where(np.isfinite(rounded), rounded, fill)


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


def deal_from_offer(actor: User, offer: NextBestOffer) -> Deal:
    """Open a deal for the offered product, in the default pipeline, and remember it.

    Like a follow-up task, the offer is then not made again for a while.
    """
    authorise(actor, Action.VIEW, offer.contact)
    contact = offer.contact
    owner = contact.owner if contact.owner and contact.owner.is_active else actor
    with transaction.atomic():
        deal = sales_services.create_deal(
            actor,
            DealInput(
                name=f"{offer.product.name} for {contact}"[:200],
                expected_close=timezone.localdate() + timedelta(days=30),
                contact=contact,
                owner=owner,
                source=DealSource.EXISTING,
                next_step=offer.explanation[:200],
                lines=[LineInput(product=offer.product, quantity=Decimal(1))],
            ),
            reason="Next best offer",
        )
        OfferAction.objects.create(
            contact=contact,
            product=offer.product,
            kind="deal",
            created_at=timezone.now(),
            created_by=actor,
        )
        offer.delete()
    return deal


# --- loyalty tiers ---------------------------------------------------------------


def save_tier(
    actor: User,
    tier: LoyaltyTier | None,
    *,
    name: str,
    min_lifetime_value: Decimal,
    min_tenure_days: int,
    min_satisfaction: str = "",
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
    if min_satisfaction not in TierSatisfaction.values:
        errors["min_satisfaction"] = [f"Not a satisfaction level: {min_satisfaction}."]
    if errors:
        raise ValidationError(errors)
    target = tier or LoyaltyTier()
    target.name = name
    target.min_lifetime_value = min_lifetime_value
    target.min_tenure_days = min_tenure_days
    target.min_satisfaction = min_satisfaction
    target.privileges = privileges.strip()
    target.save()
    return target


def delete_tier(actor: User, tier: LoyaltyTier) -> None:
    authorise(actor, Action.DELETE, LoyaltyTier)
    tier.delete()


# --- offer rules -------------------------------------------------------------------

LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$")


def save_offer_rule(
    actor: User,
    rule: OfferRule | None,
    *,
    product: Product | None,
    category: str,
    languages: Sequence[str] = (),
    countries: Sequence[str] = (),
    segments: Sequence[str] = (),
    note: str = "",
) -> OfferRule:
    """Create or change who may be offered a product or category; applies at the next refresh."""
    authorise(actor, Action.CHANGE, OfferRule)
    category = " ".join(category.split())
    errors: dict[str, list[str]] = {}
    if (product is None) == (not category):
        errors["product"] = ["Choose a product or name a category (one of the two)."]
    elif (
        category
        and not Product.objects.filter(category__iexact=category, deleted_at__isnull=True).exists()
    ):
        errors["category"] = [f"No product is in the category {category}."]
    clean_languages = sorted({code.strip().lower() for code in languages if code.strip()})
    bad = [code for code in clean_languages if not LANGUAGE_TAG.match(code)]
    if bad:
        errors["languages"] = [f"Not a language code: {', '.join(bad)} (e.g. de, fr-CA)."]
    clean_countries = sorted({code.strip().upper() for code in countries if code.strip()})
    bad = [code for code in clean_countries if code not in phonenumbers.SUPPORTED_REGIONS]
    if bad:
        errors["countries"] = [f"Not a country code: {', '.join(bad)} (ISO 3166, e.g. DE)."]
    clean_segments = sorted({code.strip() for code in segments if code.strip()})
    bad = [code for code in clean_segments if code not in {str(s) for s in SEGMENT_LABELS}]
    if bad:
        errors["segments"] = [f"Not a segment: {', '.join(bad)}."]
    if not errors and not (clean_languages or clean_countries or clean_segments):
        errors["languages"] = ["Give at least one language, country or segment."]
    if errors:
        raise ValidationError(errors)
    target = rule or OfferRule()
    target.product = product
    target.category = "" if product is not None else category
    target.languages = clean_languages
    target.countries = clean_countries
    target.segments = clean_segments
    target.note = note.strip()[:300]
    target.save()
    return target


def delete_offer_rule(actor: User, rule: OfferRule) -> None:
    authorise(actor, Action.DELETE, OfferRule)
    rule.delete()
