"""Demo orders over three years, deliveries, the installed base and their timeline entries.

Buyers behave as BG/NBD assumes (the insights app fits such models to this
data): while "alive", each customer buys at a personal rate λ drawn from a
gamma distribution, and after every purchase drops out for good with a
personal probability p drawn from a beta distribution. So some buy often,
most rarely, and many stop. First orders bring a main unit with its filter
and installation; later ones are maintenance visits (which service the
units), consumables, accessories and now and then the upgrade.

Rows are bulk inserted with exactly the values the services would write,
including the interactions' dedupe keys. Orders and units get their history
rows; lines, deliveries and timeline entries do not (like the contacts' parts
in customers/demo.py): a third of the rows, so 20,000 contacts stay quick.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from rapport.catalog.choices import ProductKind
from rapport.catalog.models import ExchangeRate, Product
from rapport.catalog.rates import money
from rapport.core.demo import DemoContext, register
from rapport.customers.choices import LifecycleStage
from rapport.customers.models import Contact, Membership
from rapport.interactions.choices import Channel, Direction, InteractionKind
from rapport.interactions.models import Interaction
from rapport.trading.choices import DeliveryStatus, OrderStatus
from rapport.trading.models import Asset, Delivery, Order, OrderLine
from rapport.trading.services import (
    add_months,
    line_amounts,
    next_service_due,
    refresh_trading_summary,
)

BATCH = 2000
# Purchase rate per year λ ~ Gamma(shape R, rate ALPHA): mean about 1.2 purchases a year.
R, ALPHA = 1.1, 0.9
# Dropout after each purchase p ~ Beta(A, B): on average a quarter stop after any purchase.
A, B = 1.0, 3.0
MAX_ORDERS = 40
BUYER_STAGES = {LifecycleStage.CUSTOMER, LifecycleStage.EVANGELIST, LifecycleStage.CHURNED}
# The unit a first order brings, how often, and the filter that goes with it.
MAIN_UNITS = [
    ("BOIL-CL-24", 20, "FLT-MAG"),
    ("BOIL-ECO-24", 30, "FLT-MAG"),
    ("BOIL-ECO-35", 10, "FLT-MAG"),
    ("HP-AIR-8", 10, "FLT-AIR"),
    ("SOFT-20", 20, "FLT-WTR"),
    ("TANK-200", 10, ""),
]
FOREIGN = ("USD", "GBP", "CHF")


@dataclass
class PlannedLine:
    product: Product
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal = Decimal(0)
    row: OrderLine | None = None


@dataclass
class PlannedAsset:
    product: Product
    line: PlannedLine
    unit: int
    bought_on: date
    installed_on: date
    last_serviced_on: date | None = None
    replaced_by: PlannedAsset | None = None
    row: Asset | None = None


@dataclass
class PlannedOrder:
    contact_id: int
    company_id: int | None
    owner_id: int | None
    at: datetime
    status: str
    currency: str
    rate: Decimal
    lines: list[PlannedLine]
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    assets: list[PlannedAsset] = field(default_factory=list)
    serviced: list[PlannedAsset] = field(default_factory=list)
    upgraded: list[tuple[PlannedAsset, PlannedAsset]] = field(default_factory=list)
    row: Order | None = None

    @property
    def day(self) -> date:
        return timezone.localdate(self.at)


class Rates:
    """The demo's exchange rates in memory: the latest on or before a day, like rates.rate_on."""

    def __init__(self) -> None:
        self.days: dict[str, list[date]] = {}
        self.values: dict[str, list[Decimal]] = {}
        for currency, day, rate in ExchangeRate.objects.order_by(
            "currency", "valid_from"
        ).values_list("currency", "valid_from", "rate"):
            self.days.setdefault(currency, []).append(day)
            self.values.setdefault(currency, []).append(rate)

    def on(self, currency: str, day: date) -> Decimal:
        if currency not in self.days:
            return Decimal(1)
        index = max(bisect.bisect_right(self.days[currency], day) - 1, 0)
        return self.values[currency][index]


@register(35, "orders and installed base")
def load(context: DemoContext) -> None:
    products: dict[str, Product] = {p.sku: p for p in Product.objects.all()}
    if not products or "SVC-INST" not in products:
        context.say("  no demo catalog: no orders")
        return
    rates = Rates()
    company_of = dict(
        Membership.objects.filter(is_primary=True).values_list("contact_id", "company_id")
    )
    # Read first, then write: no cursor stays open across the inserts.
    contacts = list(
        Contact.objects.order_by("id").values_list(
            "id", "owner_id", "created_at", "lifecycle_stage"
        )
    )
    plans: list[PlannedOrder] = []
    for contact_id, owner_id, created_at, stage in contacts:
        company_id = company_of.get(contact_id) if context.rng.random() < 0.5 else None
        if stage in BUYER_STAGES:
            plans += _buyer(
                context, products, rates, contact_id, company_id, owner_id, created_at, stage
            )
        elif stage == LifecycleStage.PROSPECT and context.rng.random() < 0.25:
            plans.append(_quote(context, products, contact_id, company_id, owner_id))
    plans.sort(key=lambda plan: (plan.at, plan.contact_id))
    _insert(context, plans)
    # Written in bulk, past the services: the summary segment rules read, in one go.
    refresh_trading_summary()
    assets = sum(len(plan.assets) for plan in plans)
    context.say(f"  {len(plans)} orders, {assets} units of installed base")


# --- planning ---------------------------------------------------------------------------------


def _purchase_times(context: DemoContext, start: datetime, stage: str) -> list[datetime]:
    rng = context.rng
    rate = rng.gammavariate(R, 1 / ALPHA)  # purchases a year while alive
    dropout = rng.betavariate(A, B)
    if stage == LifecycleStage.CHURNED:
        dropout = max(dropout, 0.7)  # churned customers stopped buying, mostly early
    times = [start]
    while len(times) < MAX_ORDERS and rng.random() >= dropout:
        left = (context.now - times[-1]).total_seconds() / 86400
        wait = rng.expovariate(rate) * 365 if rate > 0 else left  # days to the next purchase
        if wait >= left:
            break
        times.append(times[-1] + timedelta(days=wait))
    return times


def _status(context: DemoContext, at: datetime, *, first: bool) -> str:
    age = (context.now - at).days
    roll = context.rng.random()
    if age > 10:
        if not first and roll < 0.03:
            return OrderStatus.CANCELLED
        if not first and roll < 0.05:
            return OrderStatus.RETURNED
        return OrderStatus.DELIVERED
    if age > 3:
        return OrderStatus.PAID if roll < 0.5 else OrderStatus.PLACED
    return OrderStatus.PLACED


def _line(
    products: dict[str, Product],
    sku: str,
    quantity: int,
    currency: str,
    rate: Decimal,
    discount: Decimal = Decimal(0),
) -> PlannedLine:
    product = products[sku]
    price = product.unit_price if currency == "EUR" else money(product.unit_price / rate)
    return PlannedLine(product, Decimal(quantity), price, discount)


def _buyer(
    context: DemoContext,
    products: dict[str, Product],
    rates: Rates,
    contact_id: int,
    company_id: int | None,
    owner_id: int | None,
    created_at: datetime,
    stage: str,
) -> list[PlannedOrder]:
    rng = context.rng
    start = created_at + timedelta(days=rng.uniform(0, 60))
    if start >= context.now - timedelta(days=1):
        return []
    currency = rng.choice(FOREIGN) if rng.random() < 0.08 else "EUR"
    owned: list[PlannedAsset] = []
    main: PlannedAsset | None = None
    plans = []
    for index, at in enumerate(_purchase_times(context, start, stage)):
        day = timezone.localdate(at)
        rate = rates.on(currency, day)
        kind = "first" if index == 0 else _repeat_kind(context, main)
        lines = _lines_for(context, products, kind, main, owned, currency, rate)
        plan = PlannedOrder(
            contact_id=contact_id,
            company_id=company_id,
            owner_id=owner_id,
            at=at,
            status=_status(context, at, first=index == 0),
            currency=currency,
            rate=rate,
            lines=lines,
        )
        plans.append(plan)
        if plan.status in (OrderStatus.DELIVERED, OrderStatus.RETURNED, OrderStatus.PAID):
            plan.shipped_at = min(at + timedelta(hours=rng.randint(20, 72)), context.now)
        if plan.status not in (OrderStatus.DELIVERED, OrderStatus.RETURNED):
            continue
        assert plan.shipped_at is not None
        plan.delivered_at = min(plan.shipped_at + timedelta(hours=rng.randint(20, 96)), context.now)
        if plan.status == OrderStatus.RETURNED:
            continue  # returned goods leave the installed base
        delivered_on = timezone.localdate(plan.delivered_at)
        for line in lines:
            if line.product.kind != ProductKind.PRODUCT:
                continue
            for unit in range(1, int(line.quantity) + 1):
                plan.assets.append(PlannedAsset(line.product, line, unit, day, delivered_on))
        if kind == "first" and plan.assets:
            main = plan.assets[0]
        if kind == "upgrade" and main is not None and plan.assets:
            new = plan.assets[0]
            main.replaced_by = new
            plan.upgraded.append((main, new))
            main = new
        if kind == "maintenance":
            for asset in owned:
                if asset.replaced_by is None and asset.product.service_interval_days:
                    asset.last_serviced_on = delivered_on
                    plan.serviced.append(asset)
        owned += plan.assets
    return plans


def _repeat_kind(context: DemoContext, main: PlannedAsset | None) -> str:
    roll = context.rng.random()
    if main is not None and main.product.upgrade_to_id and roll < 0.05:
        return "upgrade"
    if roll < 0.55:
        return "maintenance"
    if roll < 0.75:
        return "consumables"
    if roll < 0.9:
        return "accessory"
    return "repair"


def _lines_for(
    context: DemoContext,
    products: dict[str, Product],
    kind: str,
    main: PlannedAsset | None,
    owned: Sequence[PlannedAsset],
    currency: str,
    rate: Decimal,
) -> list[PlannedLine]:
    rng = context.rng
    if kind == "first":
        skus = [sku for sku, _, _ in MAIN_UNITS]
        weights = [weight for _, weight, _ in MAIN_UNITS]
        sku = rng.choices(skus, weights)[0]
        discount = Decimal(rng.choice([5, 10, 15])) if rng.random() < 0.15 else Decimal(0)
        lines = [_line(products, sku, 2 if rng.random() < 0.05 else 1, currency, rate, discount)]
        filter_sku = next(f for s, _, f in MAIN_UNITS if s == sku)
        if filter_sku:
            lines.append(_line(products, filter_sku, 1, currency, rate))
        lines.append(_line(products, "SVC-INST", 1, currency, rate))
        return lines
    if kind == "upgrade" and main is not None:
        upgrade = next(p for p in products.values() if p.pk == main.product.upgrade_to_id)
        return [
            _line(products, upgrade.sku, 1, currency, rate, Decimal(10)),
            _line(products, "SVC-INST", 1, currency, rate),
        ]
    if kind == "maintenance":
        lines = [_line(products, "SVC-MAINT", 1, currency, rate)]
        if rng.random() < 0.1:
            lines.append(_line(products, "SVC-FLUSH", 1, currency, rate))
        return lines
    if kind == "consumables":
        has_softener = any(a.product.sku.startswith("SOFT") for a in owned)
        sku = "SALT-25" if has_softener else "THERM-RAD"
        return [_line(products, sku, rng.randint(2, 6), currency, rate)]
    if kind == "accessory":
        return [_line(products, "THERM-SM", 1, currency, rate)]
    return [_line(products, "SVC-REPAIR", 1, currency, rate)]


def _quote(
    context: DemoContext,
    products: dict[str, Product],
    contact_id: int,
    company_id: int | None,
    owner_id: int | None,
) -> PlannedOrder:
    sku = context.rng.choice([sku for sku, _, _ in MAIN_UNITS])
    lines = [
        _line(products, sku, 1, "EUR", Decimal(1)),
        _line(products, "SVC-INST", 1, "EUR", Decimal(1)),
    ]
    at = context.now - timedelta(days=context.rng.uniform(1, 120))
    return PlannedOrder(
        contact_id, company_id, owner_id, at, OrderStatus.QUOTE, "EUR", Decimal(1), lines
    )


# --- writing ----------------------------------------------------------------------------------


def _insert(context: DemoContext, plans: list[PlannedOrder]) -> None:
    sequence: dict[int, int] = {}
    orders = []
    for plan in plans:
        year = plan.day.year
        sequence[year] = sequence.get(year, 0) + 1
        subtotal = total = Decimal("0.00")
        for line in plan.lines:
            gross, net = line_amounts(line.quantity, line.unit_price, line.discount_percent)
            subtotal += gross
            total += net
        changed = plan.delivered_at or plan.shipped_at or plan.at
        plan.row = Order(
            number=f"{year}-{sequence[year]:06d}",
            contact_id=plan.contact_id,
            company_id=plan.company_id,
            owner_id=plan.owner_id,
            status=plan.status,
            order_date=plan.day,
            currency=plan.currency,
            subtotal=subtotal,
            discount=subtotal - total,
            total=total,
            exchange_rate=plan.rate,
            total_base=money(total * plan.rate),
            status_changed_at=changed,
            created_at=plan.at,
            updated_at=changed,
            created_by_id=plan.owner_id,
            updated_by_id=plan.owner_id,
        )
        orders.append(plan.row)
    _bulk(orders, Order)

    lines = []
    for plan in plans:
        for position, line in enumerate(plan.lines, start=1):
            _, net = line_amounts(line.quantity, line.unit_price, line.discount_percent)
            line.row = OrderLine(
                order=plan.row,
                position=position,
                product=line.product,
                description=line.product.name,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount_percent=line.discount_percent,
                line_total=net,
            )
            lines.append(line.row)
    _bulk(lines, OrderLine, history=False)

    deliveries = [
        Delivery(
            order=plan.row,
            status=DeliveryStatus.DELIVERED if plan.delivered_at else DeliveryStatus.SHIPPED,
            shipped_at=plan.shipped_at,
            delivered_at=plan.delivered_at,
            carrier=context.rng.choice(["DHL", "UPS", "DPD", "Own van"]),
            tracking=f"TRK{context.rng.randrange(10**9):09d}",
            created_at=plan.shipped_at,
            updated_at=plan.delivered_at or plan.shipped_at,
        )
        for plan in plans
        if plan.shipped_at is not None
    ]
    _bulk(deliveries, Delivery, history=False)
    delivery_of = {delivery.order_id: delivery for delivery in deliveries}

    assets = []
    for plan in plans:
        installed_at = plan.delivered_at or plan.at
        for planned in plan.assets:
            product = planned.product
            assert planned.line.row is not None
            planned.row = Asset(
                contact_id=plan.contact_id,
                company_id=plan.company_id,
                product=product,
                order=plan.row,
                order_line=planned.line.row,
                unit=planned.unit,
                serial=f"{product.sku[:4]}-{context.rng.randrange(10**8):08d}",
                bought_on=planned.bought_on,
                installed_on=planned.installed_on,
                warranty_end=add_months(planned.installed_on, product.warranty_months)
                if product.warranty_months
                else None,
                renewal_on=_next_renewal(product, planned.installed_on, context.now.date()),
                last_serviced_on=planned.last_serviced_on,
                next_service_due=None
                if planned.replaced_by is not None
                else next_service_due(
                    product,
                    bought_on=planned.bought_on,
                    installed_on=planned.installed_on,
                    last_serviced_on=planned.last_serviced_on,
                ),
                created_at=installed_at,
                updated_at=installed_at,
            )
            assets.append(planned.row)
    _bulk(assets, Asset)
    replaced = []
    for plan in plans:
        for old, new in plan.upgraded:
            assert old.row is not None
            old.row.replaced_by = new.row
            replaced.append(old.row)
    if replaced:
        bulk_update_with_history(
            replaced, Asset, ["replaced_by"], batch_size=BATCH, default_change_reason="Demo data"
        )

    _interactions(plans, delivery_of)


def _interactions(plans: list[PlannedOrder], delivery_of: dict[int, Delivery]) -> None:
    """The timeline entries the services would have written, with their dedupe keys."""
    order_type = ContentType.objects.get_for_model(Order)
    delivery_type = ContentType.objects.get_for_model(Delivery)
    asset_type = ContentType.objects.get_for_model(Asset)
    rows: list[Interaction] = []
    # Two visits on one day write one entry, as record_interaction's dedupe key makes it.
    seen: set[str] = set()

    def add(
        plan: PlannedOrder,
        kind: str,
        subject: str,
        key: str,
        when: datetime,
        source_type: Any,
        source_id: int,
        direction: str,
        contact_id: int | None = None,
        company_id: int | None = None,
    ) -> None:
        if key in seen:
            return
        seen.add(key)
        rows.append(
            Interaction(
                kind=kind,
                channel=Channel.SYSTEM,
                direction=direction,
                occurred_at=when,
                contact_id=plan.contact_id if contact_id is None else contact_id,
                company_id=plan.company_id if company_id is None else company_id,
                subject=subject,
                source_type=source_type,
                source_id=source_id,
                dedupe_key=key,
                created_at=when,
                updated_at=when,
            )
        )

    for plan in plans:
        order = plan.row
        assert order is not None
        amount = f": {order.total} {order.currency}"
        if plan.status == OrderStatus.QUOTE:
            add(
                plan,
                InteractionKind.ORDER,
                f"Quote {order.number} sent{amount}",
                f"order:{order.pk}:quoted",
                plan.at,
                order_type,
                order.pk,
                Direction.OUTBOUND,
            )
            continue
        add(
            plan,
            InteractionKind.ORDER,
            f"Order {order.number} placed{amount}",
            f"order:{order.pk}:placed",
            plan.at,
            order_type,
            order.pk,
            Direction.INBOUND,
        )
        delivery = delivery_of.get(order.pk)
        if delivery is not None and plan.shipped_at is not None:
            add(
                plan,
                InteractionKind.DELIVERY,
                f"Order {order.number} shipped with {delivery.carrier}"
                f" (tracking {delivery.tracking})",
                f"delivery:{delivery.pk}:shipped",
                plan.shipped_at,
                delivery_type,
                delivery.pk,
                Direction.OUTBOUND,
            )
        if plan.delivered_at is not None:
            add(
                plan,
                InteractionKind.DELIVERY,
                f"Order {order.number} delivered",
                f"order:{order.pk}:delivered",
                plan.delivered_at,
                order_type,
                order.pk,
                Direction.OUTBOUND,
            )
        if plan.status in (OrderStatus.CANCELLED, OrderStatus.RETURNED):
            changed = plan.delivered_at or plan.at + timedelta(days=1)
            add(
                plan,
                InteractionKind.ORDER,
                f"Order {order.number} {plan.status}",
                f"order:{order.pk}:{plan.status}",
                changed,
                order_type,
                order.pk,
                Direction.INBOUND,
            )
        for asset in plan.serviced:
            assert asset.row is not None
            assert plan.delivered_at is not None
            day = timezone.localdate(plan.delivered_at)
            add(
                plan,
                InteractionKind.MAINTENANCE,
                f"Service of {asset.row}",
                f"asset:{asset.row.pk}:service:{day.isoformat()}",
                plan.delivered_at,
                asset_type,
                asset.row.pk,
                Direction.OUTBOUND,
                asset.row.contact_id,
                asset.row.company_id,
            )
        for old, new in plan.upgraded:
            assert old.row is not None
            assert new.row is not None
            assert plan.delivered_at is not None
            add(
                plan,
                InteractionKind.UPGRADE,
                f"Upgraded {old.product.name} to {new.product.name}",
                f"asset:{old.row.pk}:upgraded",
                plan.delivered_at,
                asset_type,
                new.row.pk,
                Direction.INTERNAL,
            )
    _bulk(rows, Interaction, history=False)
    # "Last activity" is the latest live touchpoint, as the services keep it.
    latest = (
        Interaction.objects.filter(contact=OuterRef("pk"), deleted_at__isnull=True)
        .order_by("-occurred_at", "-id")
        .values("occurred_at")[:1]
    )
    buyers = Order.objects.values("contact_id")
    Contact.objects.filter(pk__in=buyers).update(last_activity_at=Subquery(latest))


def _bulk(rows: list[Any], model: Any, *, history: bool = True) -> None:
    for offset in range(0, len(rows), BATCH):
        batch = rows[offset : offset + BATCH]
        if history:
            bulk_create_with_history(
                batch, model, batch_size=BATCH, default_change_reason="Demo data"
            )
        else:
            model.objects.bulk_create(batch, batch_size=BATCH)


def _next_renewal(product: Product, installed_on: date, today: date) -> date | None:
    """The coming renewal of a unit whose contract was renewed every term so far."""
    if not product.renewal_months:
        return None
    terms = 1
    while (renews := add_months(installed_on, product.renewal_months * terms)) < today:
        terms += 1
    return renews
