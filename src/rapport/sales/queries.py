"""Every read of the pipeline: deals cut to what the viewer may see, board and forecast sums."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    Window,
)
from django.db.models.functions import RowNumber, TruncMonth

from rapport.catalog.rates import money
from rapport.core.permissions import Action, may_see_trash, restrict
from rapport.customers.models import Company, Contact, Membership
from rapport.reminders import queries as task_queries
from rapport.reminders.models import Task
from rapport.sales.choices import DealStatus
from rapport.sales.models import Deal, DealLine, Pipeline, SalesTarget, Stage, StageChange
from rapport.trading.models import TOTAL_DIGITS

# Closed deals stay on the board's won and lost columns this long.
CLOSED_ON_BOARD_DAYS = 30
CARDS_PER_COLUMN = 50
ZERO = Decimal("0.00")


def pipelines(viewer: Any) -> QuerySet[Pipeline]:
    return restrict(Pipeline.objects.all(), viewer).prefetch_related(
        Prefetch("stages", queryset=Stage.objects.order_by("position", "id"))
    )


def stages(viewer: Any) -> QuerySet[Stage]:
    return restrict(Stage.objects.all(), viewer).select_related("pipeline")


def deals(viewer: Any, action: Action = Action.VIEW, *, trash: bool = False) -> QuerySet[Deal]:
    """Rows for lists: the stage, customer and owner are shown, so they are joined."""
    if trash and not may_see_trash(viewer):
        return Deal.objects.none()
    return restrict(Deal.objects.all(), viewer, action, trash=trash).select_related(
        "stage", "pipeline", "contact", "company", "owner"
    )


def deal_detail(viewer: Any, action: Action = Action.VIEW) -> QuerySet[Deal]:
    """One deal with its lines and stage history in a fixed number of queries."""
    return (
        deals(viewer, action)
        .select_related("order")
        .prefetch_related(
            Prefetch("lines", queryset=DealLine.objects.select_related("product")),
            Prefetch("contacts", queryset=Contact.objects.order_by("full_name", "id")),
            Prefetch(
                "stage_changes",
                queryset=StageChange.objects.select_related("from_stage", "to_stage", "changed_by"),
            ),
        )
    )


def tasks_of(viewer: Any, deal: Deal) -> QuerySet[Task]:
    """The deal's tasks (its next steps) the viewer may see, open ones first."""
    kind = ContentType.objects.get_for_model(Deal)
    return (
        task_queries.tasks(viewer)
        .filter(related_type=kind, related_id=deal.pk)
        .order_by(F("done_at").desc(nulls_first=True), "due_at", "id")
    )


def _about(record: Contact | Company) -> Q:
    if isinstance(record, Contact):
        involved = Deal.contacts.through.objects.filter(contact=record).values("deal_id")
        return Q(contact=record) | Q(pk__in=involved)
    people = Membership.objects.filter(company=record).values("contact_id")
    return Q(company=record) | Q(contact__in=people)


def deals_of(viewer: Any, record: Contact | Company) -> QuerySet[Deal]:
    return deals(viewer).filter(_about(record)).order_by("status", "expected_close", "id")


# --- the board -----------------------------------------------------------------------


@dataclass
class Column:
    stage: Stage
    cards: list[Deal] = field(default_factory=list)
    count: int = 0
    total: Decimal = ZERO
    weighted: Decimal = ZERO

    @property
    def more(self) -> int:
        return self.count - len(self.cards)


def _weighted() -> ExpressionWrapper[Any]:
    return ExpressionWrapper(
        F("amount_base") * F("stage__probability") / 100,
        output_field=DecimalField(max_digits=TOTAL_DIGITS + 3, decimal_places=4),
    )


def board(viewer: Any, pipeline: Pipeline, rows: QuerySet[Deal], today: date) -> list[Column]:
    """One column per stage: its cards (the first ``CARDS_PER_COLUMN``), count and totals.

    ``rows`` are the viewer's filtered deals. Won and lost columns show the
    deals closed in the last ``CLOSED_ON_BOARD_DAYS`` days. Two queries: the
    sums per stage, and the cards (numbered per stage by a window function so
    a full column cannot crowd out the others).
    """
    columns = {stage.pk: Column(stage) for stage in pipeline.stages.all()}
    shown = rows.filter(pipeline=pipeline).filter(
        Q(status=DealStatus.OPEN) | Q(closed_on__gte=today - timedelta(days=CLOSED_ON_BOARD_DAYS))
    )
    for row in (
        shown.order_by()
        .values("stage_id")
        .annotate(total=Sum("amount_base"), weighted=Sum(_weighted()), count=_count())
    ):
        column = columns.get(row["stage_id"])
        if column is None:
            continue
        column.count = row["count"]
        column.total = money(Decimal(row["total"] or 0))
        column.weighted = money(Decimal(row["weighted"] or 0))
    numbered = shown.annotate(
        place=Window(
            RowNumber(),
            partition_by=[F("stage_id")],
            order_by=[F("expected_close").asc(), F("id").asc()],
        )
    ).filter(place__lte=CARDS_PER_COLUMN)
    for deal in numbered.order_by("expected_close", "id"):
        column = columns.get(deal.stage_id)
        if column is not None:
            column.cards.append(deal)
    return list(columns.values())


def _count() -> Count:
    return Count("id")


# --- the forecast --------------------------------------------------------------------


@dataclass
class ForecastRow:
    owner: Any
    cells: dict[date, Decimal]
    total: Decimal


@dataclass
class Forecast:
    months: list[date]
    rows: list[ForecastRow]
    totals: dict[date, Decimal]
    total: Decimal


def month_starts(first: date, count: int) -> list[date]:
    months = []
    year, month = first.year, first.month
    for _ in range(count):
        months.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _by_owner_and_month(
    rows: Any, months: list[date], owners: dict[Any, Any], value_key: str
) -> Forecast:
    cells: dict[Any, dict[date, Decimal]] = defaultdict(lambda: dict.fromkeys(months, ZERO))
    for row in rows:
        month = row["month"]
        month = month.date() if hasattr(month, "date") and callable(month.date) else month
        if month not in months:
            continue
        cells[row["owner_id"]][month] += money(Decimal(row[value_key] or 0))
    result = []
    for owner_id, by_month in cells.items():
        result.append(ForecastRow(owners.get(owner_id), by_month, sum(by_month.values(), ZERO)))
    result.sort(key=lambda row: (row.owner is None, str(row.owner or "")))
    totals = {month: sum((row.cells[month] for row in result), ZERO) for month in months}
    return Forecast(months, result, totals, sum(totals.values(), ZERO))


def weighted_pipeline(viewer: Any, months: list[date], owners: dict[Any, Any]) -> Forecast:
    """Open deals' amount x stage probability, by expected close month and owner."""
    rows = (
        deals(viewer)
        .filter(
            status=DealStatus.OPEN,
            expected_close__gte=months[0],
            expected_close__lt=month_starts(months[-1], 2)[1],
        )
        .order_by()
        .annotate(month=TruncMonth("expected_close"))
        .values("owner_id", "month")
        .annotate(value=Sum(_weighted()))
    )
    return _by_owner_and_month(rows, months, owners, "value")


@dataclass
class TargetRow:
    owner: Any
    cells: dict[date, tuple[Decimal, Decimal | None]]  # won, target


def won_against_target(viewer: Any, months: list[date], owners: dict[Any, Any]) -> list[TargetRow]:
    """What each person won per month (by close day) next to their target."""
    end = month_starts(months[-1], 2)[1]
    won = (
        deals(viewer)
        .filter(status=DealStatus.WON, closed_on__gte=months[0], closed_on__lt=end)
        .order_by()
        .annotate(month=TruncMonth("closed_on"))
        .values("owner_id", "month")
        .annotate(value=Sum("amount_base"))
    )
    won_by = _by_owner_and_month(won, months, owners, "value")
    targets: dict[Any, dict[date, Decimal]] = defaultdict(dict)
    for target in restrict(SalesTarget.objects.all(), viewer).filter(
        month__gte=months[0], month__lt=end
    ):
        targets[target.owner_id][target.month] = target.amount
    owner_ids = {row.owner.pk if row.owner else None for row in won_by.rows} | set(targets)
    rows = []
    won_cells = {row.owner.pk if row.owner else None: row.cells for row in won_by.rows}
    for owner_id in owner_ids:
        cells = {
            month: (
                won_cells.get(owner_id, {}).get(month, ZERO),
                targets.get(owner_id, {}).get(month),
            )
            for month in months
        }
        rows.append(TargetRow(owners.get(owner_id), cells))
    rows.sort(key=lambda row: (row.owner is None, str(row.owner or "")))
    return rows


def stage_of(viewer: Any, pk: Any) -> Stage | None:
    if not str(pk).isdigit():
        return None
    return stages(viewer).filter(pk=pk).first()


def open_total_of(viewer: Any, record: Contact | Company) -> Decimal:
    total = (
        deals_of(viewer, record)
        .filter(status=DealStatus.OPEN)
        .order_by()
        .aggregate(total=Sum("amount_base"))["total"]
    )
    return money(Decimal(total)) if total is not None else ZERO
