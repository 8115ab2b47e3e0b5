"""The only write path for pipelines, deals, their stage history and sales targets.

Every stage change writes a ``StageChange`` row and one timeline entry (kind
deal) in the same transaction, keyed by the change so a retry cannot write it
twice. Winning a deal can create the order from its lines (through
``trading.services.create_order``) and makes its contact and company
customers (through ``customers.services.mark_customer``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from rapport.catalog import rates
from rapport.catalog.services import clean_currency
from rapport.core import custom_fields
from rapport.core.models import CustomFieldTarget
from rapport.core.permissions import Action, authorise, authorise_restore, can
from rapport.core.services import (
    attribute_change,
    create_record,
    move_to_trash,
    restore,
    save_changes,
)
from rapport.customers.models import Company, Contact
from rapport.customers.services import mark_customer
from rapport.interactions.choices import Channel, Direction, InteractionKind
from rapport.interactions.services import record_interaction
from rapport.reminders.models import Task
from rapport.reminders.services import TaskInput, create_task
from rapport.sales.choices import (
    DEFAULT_PIPELINE,
    DEFAULT_STAGES,
    DealSource,
    DealStatus,
    StageKind,
)
from rapport.sales.models import Deal, DealLine, Pipeline, SalesTarget, Stage, StageChange
from rapport.trading import services as trading
from rapport.trading.choices import OrderStatus
from rapport.trading.models import Order
from rapport.trading.services import LineInput
from rapport.users.models import User

NAME_LENGTH = 200
DEAL_FIELDS = frozenset(
    {
        "name", "contact", "company", "amount", "currency", "expected_close", "owner", "source",
        "next_step", "next_step_due", "notes", "custom_fields", "contacts",
    }
)  # fmt: skip
STAGE_FIELDS = frozenset({"name", "probability", "position"})

__all__ = ["LineInput"]  # re-exported: deal lines are given like order lines


def stale_days() -> int:
    """Open deals with no activity for this many days are flagged as stale."""
    return int(getattr(settings, "SALES_STALE_DAYS", 14))


def stale_before() -> Any:
    return timezone.now() - timedelta(days=stale_days())


# --- pipelines and stages (admins) ---------------------------------------------------


@dataclass
class StageInput:
    name: str
    probability: int
    kind: str = StageKind.OPEN


def default_pipeline() -> Pipeline:
    """The pipeline new deals go to; created with its stages on first use if missing."""
    pipeline = Pipeline.objects.filter(is_default=True).first()
    if pipeline is not None:
        return pipeline
    pipeline = Pipeline.objects.filter(active=True).order_by("position", "id").first()
    if pipeline is not None:
        return pipeline
    return create_pipeline(
        None,
        DEFAULT_PIPELINE,
        [StageInput(name, probability, kind) for name, probability, kind in DEFAULT_STAGES],
        is_default=True,
    )


def create_pipeline(
    actor: User | None,
    name: str,
    stages: Sequence[StageInput] = (),
    *,
    is_default: bool = False,
) -> Pipeline:
    """A pipeline with its stages in order: at least one open, exactly one won and one lost."""
    authorise(actor, Action.ADD, Pipeline)
    name = _clean_name(name, "name", length=100)
    if not stages:
        stages = [StageInput(n, p, k) for n, p, k in DEFAULT_STAGES]
    cleaned = [
        StageInput(
            _clean_name(s.name, "stages", length=100), _probability(s.probability), _kind(s.kind)
        )
        for s in stages
    ]
    _check_stage_set([s.kind for s in cleaned])
    names = [s.name.casefold() for s in cleaned]
    if len(set(names)) != len(names):
        raise ValidationError({"stages": ["Each stage of a pipeline has its own name."]})
    if Pipeline.objects.filter(name__iexact=name).exists():
        raise ValidationError({"name": [f"There is already a pipeline called {name!r}."]})
    with transaction.atomic():
        if is_default:
            Pipeline.objects.filter(is_default=True).update(is_default=False)
        last = Pipeline.objects.aggregate(Max("position"))["position__max"] or 0
        pipeline = create_record(
            Pipeline(name=name, is_default=is_default, position=last + 1),
            actor=actor,
            reason="Created",
        )
        for position, stage in enumerate(cleaned, start=1):
            create_record(
                Stage(
                    pipeline=pipeline,
                    name=stage.name,
                    probability=stage.probability,
                    kind=stage.kind,
                    position=position,
                ),
                actor=actor,
                reason="Created",
            )
    return pipeline


def make_default_pipeline(actor: User | None, pipeline: Pipeline) -> Pipeline:
    authorise(actor, Action.CHANGE, pipeline)
    if pipeline.is_default:
        return pipeline
    with transaction.atomic():
        for other in Pipeline.objects.filter(is_default=True):
            save_changes(other, {"is_default": False}, actor=actor, reason="Default moved")
        save_changes(pipeline, {"is_default": True, "active": True}, actor=actor)
    return pipeline


def add_stage(
    actor: User | None,
    pipeline: Pipeline,
    name: str,
    probability: int,
    *,
    kind: str = StageKind.OPEN,
) -> Stage:
    """A new open stage goes before the won and lost stages."""
    authorise(actor, Action.CHANGE, pipeline)
    name = _clean_name(name, "name", length=100)
    if _kind(kind) != StageKind.OPEN:
        raise ValidationError({"kind": ["A pipeline has one won and one lost stage already."]})
    if pipeline.stages.filter(name__iexact=name).exists():
        raise ValidationError({"name": [f"{pipeline} already has a stage {name!r}."]})
    with transaction.atomic():
        last_open = (
            pipeline.stages.filter(kind=StageKind.OPEN).aggregate(Max("position"))["position__max"]
            or 0
        )
        for later in pipeline.stages.filter(position__gt=last_open).order_by("-position"):
            save_changes(later, {"position": later.position + 1}, actor=actor, reason="Reordered")
        stage = Stage(
            pipeline=pipeline,
            name=name,
            probability=_probability(probability),
            kind=StageKind.OPEN,
            position=last_open + 1,
        )
        create_record(stage, actor=actor, reason="Added")
    return stage


def update_stage(
    actor: User | None,
    stage: Stage,
    changes: Mapping[str, Any],
    *,
    expected_version: int | None = None,
) -> Stage:
    """Rename a stage, change its win probability or its place among the open stages."""
    authorise(actor, Action.CHANGE, stage)
    unknown = set(changes) - STAGE_FIELDS
    if unknown:
        raise ValidationError({name: ["This field cannot be changed here."] for name in unknown})
    values: dict[str, Any] = {}
    if "name" in changes:
        values["name"] = _clean_name(changes["name"], "name", length=100)
        clash = stage.pipeline.stages.filter(name__iexact=values["name"]).exclude(pk=stage.pk)
        if clash.exists():
            raise ValidationError({"name": [f"{stage.pipeline} already has that stage."]})
    if "probability" in changes:
        values["probability"] = _probability(changes["probability"])
        if stage.kind == StageKind.WON and values["probability"] != 100:
            raise ValidationError({"probability": ["A won deal is certain: 100 %."]})
        if stage.kind == StageKind.LOST and values["probability"] != 0:
            raise ValidationError({"probability": ["A lost deal is 0 %."]})
    if "position" in changes:
        position = changes["position"]
        if isinstance(position, bool) or not isinstance(position, int) or position < 1:
            raise ValidationError({"position": ["A position is a whole number from 1."]})
        if stage.kind != StageKind.OPEN:
            raise ValidationError({"position": ["Won and lost stay the last two columns."]})
        values["position"] = position
    return save_changes(stage, values, actor=actor, expected_version=expected_version)


def remove_stage(actor: User | None, stage: Stage) -> None:
    """Only an open stage no deal is in or ever was in (its history would lose it)."""
    authorise(actor, Action.CHANGE, stage.pipeline)
    if stage.kind != StageKind.OPEN:
        raise ValidationError({"stage": ["A pipeline keeps its won and lost stages."]})
    if stage.pipeline.stages.filter(kind=StageKind.OPEN).count() == 1:
        raise ValidationError({"stage": ["A pipeline needs at least one open stage."]})
    used = Deal._base_manager.filter(stage=stage).count()
    if used:
        raise ValidationError(
            {"stage": [f"{used} deal(s) are in {stage}; move them to another stage first."]}
        )
    if StageChange.objects.filter(to_stage=stage).exists():
        raise ValidationError(
            {"stage": [f"Deals went through {stage}; rename it instead of removing it."]}
        )
    with transaction.atomic():
        attribute_change(stage, actor, "Removed")
        stage.delete()


# --- deals ---------------------------------------------------------------------------


@dataclass
class DealInput:
    """A new deal. Without ``amount`` the lines' total is the amount; without a stage, the
    default pipeline's first stage."""

    name: str
    expected_close: date | None
    contact: Contact | None = None
    company: Company | None = None
    amount: Decimal | None = None
    currency: str = ""
    stage: Stage | None = None
    owner: User | None = None
    source: str = ""
    next_step: str = ""
    next_step_due: date | None = None
    notes: str = ""
    lines: Sequence[LineInput] = ()
    custom_fields: Mapping[str, Any] = field(default_factory=dict)
    # Others involved on the customer's side, besides ``contact``.
    contacts: Sequence[Contact] = ()


def create_deal(actor: User | None, data: DealInput, *, reason: str = "Created") -> Deal:
    stage = data.stage or _first_stage(default_pipeline())
    if stage.kind != StageKind.OPEN:
        raise ValidationError({"stage": ["A new deal starts in an open stage."]})
    currency = clean_currency(data.currency, required=True)
    if data.expected_close is None:
        raise ValidationError({"expected_close": ["Say when the deal is expected to close."]})
    deal = Deal(
        name=_clean_name(data.name, "name", length=NAME_LENGTH),
        pipeline_id=stage.pipeline_id,
        stage=stage,
        status=DealStatus.OPEN,
        contact=data.contact,
        company=data.company,
        currency=currency,
        expected_close=data.expected_close,
        owner=data.owner if data.owner is not None else actor,
        source=_source(data.source),
        next_step=_clean_text(data.next_step, "next_step", 200),
        next_step_due=data.next_step_due,
        notes=data.notes or "",
        custom_fields=custom_fields.clean_values(CustomFieldTarget.DEAL, data.custom_fields),
    )
    authorise(actor, Action.ADD, deal)
    _check_customer(actor, deal)
    involved = _check_involved(actor, data.contacts, deal.contact)
    lines = _clean_lines(actor, data.lines, currency, data.expected_close)
    _apply_amount(deal, data.amount, lines, on=data.expected_close)
    with transaction.atomic():
        create_record(deal, actor=actor, reason=reason)
        deal.contacts.set(involved)
        _insert_lines(actor, deal, lines, reason=reason)
        change = StageChange.objects.create(
            deal=deal, from_stage=None, to_stage=stage, changed_by=actor
        )
        _record(actor, deal, f"Deal opened: {deal.name} ({stage})", key=f"deal:{deal.pk}:opened",
                occurred_at=change.changed_at)  # fmt: skip
    return deal


def update_deal(
    actor: User | None,
    deal: Deal,
    changes: Mapping[str, Any],
    *,
    lines: Sequence[LineInput] | None = None,
    expected_version: int | None = None,
) -> Deal:
    """Change a deal's own fields and (optionally) replace its lines; stages move with
    ``move_deal``."""
    authorise(actor, Action.CHANGE, deal)
    unknown = set(changes) - DEAL_FIELDS
    if unknown:
        raise ValidationError({name: ["This field cannot be changed here."] for name in unknown})
    values = dict(changes)
    involved = (
        _check_involved(actor, values.pop("contacts"), values.get("contact", deal.contact))
        if "contacts" in values
        else None
    )
    if "name" in values:
        values["name"] = _clean_name(values["name"], "name", length=NAME_LENGTH)
    if "currency" in values:
        values["currency"] = clean_currency(values["currency"], required=True)
    if "source" in values:
        values["source"] = _source(values["source"])
    if "next_step" in values:
        values["next_step"] = _clean_text(values["next_step"], "next_step", 200)
    if "notes" in values:
        values["notes"] = values["notes"] or ""
    if "expected_close" in values and values["expected_close"] is None:
        raise ValidationError({"expected_close": ["Say when the deal is expected to close."]})
    if "custom_fields" in values:
        values["custom_fields"] = custom_fields.clean_values(
            CustomFieldTarget.DEAL, values["custom_fields"], current=deal.custom_fields
        )
    if "owner" in values and values["owner"] != deal.owner:
        moved = Deal(owner=values["owner"])
        if actor is not None and not can(actor, Action.CHANGE, moved):
            raise ValidationError({"owner": [f"You may not give deals to {values['owner']}."]})
    probe = Deal(
        contact=values.get("contact", deal.contact),
        company=values.get("company", deal.company),
    )
    if "contact" in values or "company" in values:
        _check_customer(actor, probe)
    currency = values.get("currency", deal.currency)
    on = deal.closed_on or values.get("expected_close", deal.expected_close)
    with transaction.atomic():
        if lines is not None:
            cleaned = _clean_lines(actor, lines, currency, on)
            for old in list(deal.lines.all()):
                attribute_change(old, actor, "Lines replaced")
                old.delete()
            _insert_lines(actor, deal, cleaned, reason="Lines replaced")
        else:
            cleaned = [
                LineInput(line.product, line.quantity, line.unit_price, line.discount_percent)
                for line in deal.lines.all()
            ]
        if currency != deal.currency and cleaned and lines is None:
            raise ValidationError(
                {"currency": ["Give the lines again with prices in the new currency."]}
            )
        probe = Deal(currency=currency)
        _apply_amount(probe, values.get("amount"), cleaned, on=on, current=deal.amount)
        for name in ("amount", "exchange_rate", "amount_base"):
            if getattr(probe, name) != getattr(deal, name):
                values[name] = getattr(probe, name)
        values["last_activity_at"] = timezone.now()
        save_changes(deal, values, actor=actor, expected_version=expected_version)
        if involved is not None:
            deal.contacts.set(involved)
    return deal


@dataclass(frozen=True)
class Move:
    deal: Deal
    change: StageChange | None
    order: Order | None = None


def move_deal(
    actor: User | None,
    deal: Deal,
    stage: Stage,
    *,
    lost_reason: str = "",
    create_order: bool = False,
    note: str = "",
    expected_version: int | None = None,
) -> Move:
    """Move a deal to another stage of its pipeline.

    Lost needs a reason. Won closes the deal today, makes its contact and
    company customers and, with ``create_order``, places an order of its lines.
    Moving a closed deal back to an open stage reopens it.
    """
    authorise(actor, Action.CHANGE, deal)
    if stage.pipeline_id != deal.pipeline_id:
        raise ValidationError({"stage": [f"{stage} is not a stage of {deal.pipeline}."]})
    if stage.pk == deal.stage_id:
        return Move(deal, None)
    lost_reason = (lost_reason or "").strip()
    today = timezone.localdate()
    values: dict[str, Any] = {
        "stage": stage,
        "status": stage.kind,
        "last_activity_at": timezone.now(),
    }
    if stage.kind == StageKind.LOST:
        if not lost_reason:
            raise ValidationError({"lost_reason": ["Say why the deal was lost."]})
        values.update(lost_reason=lost_reason, closed_on=today)
    elif stage.kind == StageKind.WON:
        values.update(lost_reason="", closed_on=today)
        if create_order and not deal.lines.exists():
            raise ValidationError(
                {"create_order": ["This deal has no product lines to order; add lines first."]}
            )
    else:
        values.update(lost_reason="", closed_on=None)
    if stage.kind != StageKind.OPEN and deal.amount:
        # A closed deal counts at the rate of the day it closed.
        rate = rates.rate_on(deal.currency, today)
        values.update(exchange_rate=rate, amount_base=rates.money(deal.amount * rate))
    previous = deal.stage
    order = None
    with transaction.atomic():
        save_changes(
            deal,
            values,
            actor=actor,
            expected_version=expected_version,
            reason=f"{previous} → {stage}",
        )
        change = StageChange.objects.create(
            deal=deal,
            from_stage=previous,
            to_stage=stage,
            changed_by=actor,
            note=lost_reason or note.strip(),
        )
        _record(
            actor,
            deal,
            f"Deal {deal.name}: {previous} → {stage}",
            key=f"deal:{deal.pk}:stage:{change.pk}",
            occurred_at=change.changed_at,
            body=lost_reason or note.strip(),
        )
        if stage.kind == StageKind.WON:
            if create_order:
                order = _place_order(actor, deal)
            _make_customers(actor, deal)
    return Move(deal, change, order)


def trash_deal(actor: User | None, deal: Deal, *, expected_version: int | None = None) -> Deal:
    authorise(actor, Action.DELETE, deal)
    return move_to_trash(deal, actor=actor, expected_version=expected_version)


def restore_deal(actor: User | None, deal: Deal) -> Deal:
    authorise_restore(actor)
    return restore(deal, actor=actor)


def schedule_next_step(
    actor: User | None,
    deal: Deal,
    *,
    title: str,
    due_date: date | str | None,
    assignee: User | None = None,
) -> Task:
    """Note the deal's next step and put it on someone's task list, linked to the deal."""
    authorise(actor, Action.CHANGE, deal)
    title = _clean_text(title, "next_step", 200)
    if not title:
        raise ValidationError({"next_step": ["Say what the next step is."]})
    with transaction.atomic():
        task = create_task(
            actor,
            TaskInput(
                title=title,
                due_date=due_date,
                assignee=assignee if assignee is not None else deal.owner,
                contact=deal.contact,
                company=deal.company,
                related=deal,
                notes=f"Next step of the deal {deal.name}",
            ),
            reason="Next step of a deal",
        )
        save_changes(
            deal,
            {
                "next_step": title,
                "next_step_due": task.due_date,
                "last_activity_at": timezone.now(),
            },
            actor=actor,
            reason="Next step",
        )
    return task


# --- targets -------------------------------------------------------------------------


def set_target(actor: User | None, owner: User, month: date, amount: Decimal) -> SalesTarget:
    """What ``owner`` should win in ``month`` (base currency); replaces an earlier target."""
    month = date(month.year, month.month, 1)
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount < 0:
        raise ValidationError({"amount": ["A target is an amount of 0 or more."]})
    amount = rates.money(amount)
    existing = SalesTarget.objects.filter(owner=owner, month=month).first()
    if existing is not None:
        authorise(actor, Action.CHANGE, existing)
        if existing.amount == amount:
            return existing
        return save_changes(existing, {"amount": amount}, actor=actor)
    target = SalesTarget(owner=owner, month=month, amount=amount)
    authorise(actor, Action.ADD, target)
    try:
        with transaction.atomic():
            return create_record(target, actor=actor, reason="Set")
    except IntegrityError:  # set meanwhile by someone else: theirs is replaced
        return set_target(actor, owner, month, amount)


# --- helpers -------------------------------------------------------------------------


def _first_stage(pipeline: Pipeline) -> Stage:
    stage = pipeline.stages.filter(kind=StageKind.OPEN).order_by("position", "id").first()
    if stage is None:
        raise ValidationError({"stage": [f"{pipeline} has no open stage."]})
    return stage


def _check_stage_set(kinds: Sequence[str]) -> None:
    if kinds.count(StageKind.WON) != 1 or kinds.count(StageKind.LOST) != 1:
        raise ValidationError({"stages": ["A pipeline has exactly one won and one lost stage."]})
    if StageKind.OPEN not in kinds:
        raise ValidationError({"stages": ["A pipeline needs at least one open stage."]})


def _clean_name(raw: Any, field_name: str, *, length: int) -> str:
    name = raw.strip() if isinstance(raw, str) else ""
    if not name:
        raise ValidationError({field_name: ["A name is required."]})
    if len(name) > length:
        raise ValidationError({field_name: [f"At most {length} characters."]})
    return name


def _clean_text(raw: Any, field_name: str, length: int) -> str:
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise ValidationError({field_name: ["Must be text."]})
    text = raw.strip()
    if len(text) > length:
        raise ValidationError({field_name: [f"At most {length} characters."]})
    return text


def _probability(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise ValidationError({"probability": ["A probability is a whole percent, 0 to 100."]})
    return value


def _kind(value: str) -> str:
    if value not in StageKind.values:
        raise ValidationError({"kind": [f"Use one of {', '.join(StageKind.values)}."]})
    return value


def _source(value: str) -> str:
    value = value or ""
    if value and value not in DealSource.values:
        raise ValidationError({"source": [f"Use one of {', '.join(DealSource.values)}."]})
    return value


def _check_customer(actor: User | None, deal: Deal) -> None:
    if deal.contact is None and deal.company is None:
        raise ValidationError({"contact": ["Say which contact or company the deal is with."]})
    for name in ("contact", "company"):
        customer: Contact | Company | None = getattr(deal, name)
        if customer is None:
            continue
        if actor is not None and not can(actor, Action.VIEW, customer):
            raise ValidationError({name: [f"No {name} with id {customer.pk}."]})
        if customer.deleted_at is not None:
            raise ValidationError({name: [f"{customer} is in the trash."]})


def _check_involved(
    actor: User | None, contacts: Sequence[Contact], main: Contact | None
) -> list[Contact]:
    """Others involved: contacts the actor may see, each once, not the main contact again."""
    chosen: list[Contact] = []
    for contact in contacts:
        if actor is not None and not can(actor, Action.VIEW, contact):
            raise ValidationError({"contacts": [f"No contact with id {contact.pk}."]})
        if contact.deleted_at is not None:
            raise ValidationError({"contacts": [f"{contact} is in the trash."]})
        if contact != main and contact not in chosen:
            chosen.append(contact)
    return chosen


def _clean_lines(
    actor: User | None, lines: Sequence[LineInput], currency: str, on: date
) -> list[LineInput]:
    """The same rules as order lines: a deal's lines become an order when it is won."""
    cleaned = []
    for number, line in enumerate(lines, start=1):
        where = f"Line {number}"
        product = line.product
        if product.deleted_at is not None or not product.active:
            raise ValidationError({"lines": [f"{where}: {product} is not for sale any more."]})
        if actor is not None and not can(actor, Action.VIEW, product):
            raise ValidationError({"lines": [f"{where}: no product with id {product.pk}."]})
        quantity = _decimal(line.quantity, where, "quantity")
        if quantity <= 0 or quantity != quantity.quantize(Decimal("0.001")):
            raise ValidationError(
                {"lines": [f"{where}: the quantity is more than 0, with at most 3 decimals."]}
            )
        discount = _decimal(line.discount_percent, where, "discount")
        if not 0 <= discount <= 100:
            raise ValidationError({"lines": [f"{where}: a discount is 0 to 100 %."]})
        if line.unit_price is None:
            price = rates.convert(product.unit_price, product.currency, currency, on)
        else:
            price = _decimal(line.unit_price, where, "unit price")
            if price < 0 or price != price.quantize(rates.CENT):
                raise ValidationError({"lines": [f"{where}: a price is 0 or more, in cents."]})
        cleaned.append(
            LineInput(
                product=product,
                quantity=quantity,
                unit_price=price,
                discount_percent=discount,
                description=(line.description or "").strip() or product.name,
            )
        )
    return cleaned


def _decimal(value: Any, where: str, what: str) -> Decimal:
    if not isinstance(value, Decimal | int) or isinstance(value, bool):
        raise ValidationError({"lines": [f"{where}: the {what} must be a Decimal, not {value!r}."]})
    amount = Decimal(value)
    if not amount.is_finite():
        raise ValidationError({"lines": [f"{where}: the {what} is not a number."]})
    return amount


def _apply_amount(
    deal: Deal,
    amount: Any,
    lines: Sequence[LineInput],
    *,
    on: date,
    current: Decimal | None = None,
) -> None:
    """The amount: the lines' total when there are lines, else as given (or kept)."""
    if lines:
        totals = trading.order_totals(
            [(line.quantity, line.unit_price or Decimal(0), line.discount_percent)
             for line in lines],
            deal.currency,
            on,
        )  # fmt: skip
        value = totals.total
    elif amount is not None:
        if isinstance(amount, bool) or not isinstance(amount, Decimal | int):
            raise ValidationError({"amount": ["The amount must be a Decimal."]})
        value = Decimal(amount)
        if not value.is_finite() or value < 0 or value != value.quantize(rates.CENT):
            raise ValidationError({"amount": ["An amount is 0 or more, in whole cents."]})
    else:
        value = current if current is not None else Decimal("0.00")
    rate = rates.rate_on(deal.currency, on)
    deal.amount = rates.money(value)
    deal.exchange_rate = rate
    deal.amount_base = rates.money(value * rate)


def _insert_lines(
    actor: User | None, deal: Deal, lines: Sequence[LineInput], *, reason: str
) -> None:
    if not lines:
        return
    rows = []
    for position, line in enumerate(lines, start=1):
        price = line.unit_price if line.unit_price is not None else Decimal(0)
        _, net = trading.line_amounts(line.quantity, price, line.discount_percent)
        rows.append(
            DealLine(
                deal=deal,
                position=position,
                product=line.product,
                description=line.description,
                quantity=line.quantity,
                unit_price=price,
                discount_percent=line.discount_percent,
                line_total=net,
            )
        )
    bulk_create_with_history(rows, DealLine, default_user=actor, default_change_reason=reason)


def _place_order(actor: User | None, deal: Deal) -> Order:
    if deal.order_id is not None:
        raise ValidationError({"create_order": [f"{deal.order} was made from this deal already."]})
    lines = [
        LineInput(
            product=line.product,
            quantity=line.quantity,
            unit_price=line.unit_price,
            discount_percent=line.discount_percent,
            description=line.description,
        )
        for line in deal.lines.select_related("product")
    ]
    try:
        order = trading.create_order(
            actor,
            trading.OrderInput(
                contact=deal.contact,
                company=deal.company,
                lines=lines,
                currency=deal.currency,
                status=OrderStatus.PLACED,
                owner=deal.owner,
                notes=f"From the won deal {deal.name}",
            ),
            reason=f"Deal {deal.name} won",
        )
    except PermissionDenied:
        raise ValidationError(
            {"create_order": ["Your role may not place orders for this customer."]}
        ) from None
    save_changes(deal, {"order": order}, actor=actor, reason=f"Order {order.number} placed")
    return order


def _make_customers(actor: User | None, deal: Deal) -> None:
    for record in (deal.contact, deal.company):
        if record is None:
            continue
        # Winning makes the customer even when the winner may not edit the account
        # (another team's company): then Rapport itself records the stage change.
        who = actor if actor is None or can(actor, Action.CHANGE, record) else None
        mark_customer(who, record, reason=f"Deal {deal.name} won")


def _record(
    actor: User | None,
    deal: Deal,
    subject: str,
    *,
    key: str,
    occurred_at: Any,
    body: str = "",
) -> None:
    record_interaction(
        actor,
        kind=InteractionKind.DEAL,
        subject=subject,
        contact=deal.contact,
        company=deal.company,
        occurred_at=occurred_at,
        body=body,
        channel=Channel.SYSTEM,
        direction=Direction.INTERNAL,
        source=deal,
        dedupe_key=key,
    )
