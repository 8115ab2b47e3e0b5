"""The only write path for orders, deliveries and the installed base.

Every status change that a customer would notice writes its timeline entry
through ``interactions.services.record_interaction`` in the same transaction,
with a ``dedupe_key`` so that a retried request or job never writes it twice.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Max, Min, Sum
from django.db.models.functions import Round
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from rapport.catalog import rates
from rapport.catalog.choices import ProductKind
from rapport.catalog.models import Product
from rapport.catalog.services import clean_currency
from rapport.core.permissions import Action, authorise_restore, can
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
from rapport.trading.choices import (
    BOUGHT_STATUSES,
    EDITABLE_STATUSES,
    TRANSITIONS,
    DeliveryStatus,
    OrderStatus,
)
from rapport.trading.models import Asset, Delivery, Order, OrderLine, TradingSummary
from rapport.trading.permissions import authorise_on
from rapport.users.models import User

HUNDRED = Decimal(100)
NUMBER_ATTEMPTS = 5
ORDER_FIELDS = frozenset({"contact", "company", "order_date", "currency", "notes", "owner"})
# Fields that change what was sold: only while the order is a quote or just placed.
SALE_FIELDS = frozenset({"contact", "company", "order_date", "currency"})
ASSET_FIELDS = frozenset(
    {"serial", "bought_on", "installed_on", "warranty_end", "renewal_on", "last_serviced_on",
     "notes", "next_service_due"}
)  # fmt: skip


@dataclass
class LineInput:
    """One order line as given; ``unit_price`` None takes the product's price."""

    product: Product
    quantity: Decimal
    unit_price: Decimal | None = None
    discount_percent: Decimal = Decimal(0)
    description: str = ""


@dataclass
class OrderInput:
    contact: Contact | None = None
    company: Company | None = None
    lines: Sequence[LineInput] = ()
    order_date: date | None = None
    currency: str = ""
    status: str = OrderStatus.PLACED
    owner: User | None = None
    notes: str = ""


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    discount: Decimal
    total: Decimal
    exchange_rate: Decimal
    total_base: Decimal


# --- money ---------------------------------------------------------------------------


def line_amounts(
    quantity: Decimal, unit_price: Decimal, discount_percent: Decimal
) -> tuple[Decimal, Decimal]:
    """(gross, net) of a line in cents: gross = quantity x price; net after the discount.

    Each is rounded once, half up, from the exact product, so the discount
    shown is exactly gross - net.
    """
    exact = quantity * unit_price
    gross = rates.money(exact)
    net = rates.money(exact * (HUNDRED - discount_percent) / HUNDRED)
    return gross, net


def order_totals(
    lines: Sequence[tuple[Decimal, Decimal, Decimal]], currency: str, on: date
) -> Totals:
    """Totals of (quantity, unit price, discount %) lines, and the total in base currency."""
    subtotal = net_total = Decimal("0.00")
    for quantity, unit_price, discount_percent in lines:
        gross, net = line_amounts(quantity, unit_price, discount_percent)
        subtotal += gross
        net_total += net
    rate = rates.rate_on(currency, on)
    return Totals(
        subtotal=subtotal,
        discount=subtotal - net_total,
        total=net_total,
        exchange_rate=rate,
        total_base=rates.money(net_total * rate),
    )


# --- orders --------------------------------------------------------------------------


def create_order(actor: User | None, data: OrderInput, *, reason: str = "Created") -> Order:
    """Create a quote or a placed order with its lines and stored totals."""
    if data.status not in (OrderStatus.QUOTE, OrderStatus.PLACED):
        raise ValidationError({"status": ["A new order is a quote or placed."]})
    order_date = data.order_date or timezone.localdate()
    currency = clean_currency(data.currency, required=True)
    order = Order(
        contact=data.contact,
        company=data.company,
        status=data.status,
        order_date=order_date,
        currency=currency,
        owner=data.owner if data.owner is not None else _default_owner(actor, data),
        notes=data.notes,
        status_changed_at=timezone.now(),
    )
    _check_customer(actor, order)
    authorise_on(actor, Action.ADD, order)
    lines = _clean_lines(actor, data.lines, currency, order_date)
    _apply_totals(order, lines)
    with transaction.atomic():
        _insert_with_number(order, actor=actor, reason=reason)
        _insert_lines(actor, order, lines, reason=reason)
        if order.status == OrderStatus.PLACED:
            _record_order_event(actor, order, "placed")
        else:
            _record_order_event(actor, order, "quoted")
        refresh_trading_summary([order.contact_id])
    return order


def update_order(
    actor: User | None,
    order: Order,
    changes: Mapping[str, Any],
    *,
    lines: Sequence[LineInput] | None = None,
    expected_version: int | None = None,
) -> Order:
    """Change an order's fields and (while it is a quote or placed) replace its lines."""
    authorise_on(actor, Action.CHANGE, order)
    unknown = set(changes) - ORDER_FIELDS
    if unknown:
        raise ValidationError({name: ["This field cannot be changed here."] for name in unknown})
    values = dict(changes)
    changes_sale = lines is not None or any(
        name in SALE_FIELDS and values[name] != getattr(order, name) for name in values
    )
    if changes_sale and order.status not in EDITABLE_STATUSES:
        raise ValidationError(
            {
                "status": [
                    f"A {order.get_status_display().lower()} order cannot be changed; "
                    "only quotes and placed orders can."
                ]
            }
        )
    if "currency" in values:
        values["currency"] = clean_currency(values["currency"], required=True)
        if values["currency"] != order.currency and lines is None:
            raise ValidationError(
                {"currency": ["Give the lines again with prices in the new currency."]}
            )
    if "notes" in values:
        values["notes"] = values["notes"] or ""
    candidate = Order(
        contact=values.get("contact", order.contact),
        company=values.get("company", order.company),
    )
    if "contact" in values or "company" in values:
        _check_customer(actor, candidate)
        authorise_on(actor, Action.CHANGE, candidate)
    currency = values.get("currency", order.currency)
    order_date = values.get("order_date", order.order_date)
    contacts_before = order.contact_id
    with transaction.atomic():
        if lines is not None:
            cleaned = _clean_lines(actor, lines, currency, order_date)
            for old in list(order.lines.all()):
                attribute_change(old, actor, "Lines replaced")
                old.delete()
            probe = Order(currency=currency, order_date=order_date)
            _apply_totals(probe, cleaned)
            _insert_lines(actor, order, cleaned, reason="Lines replaced")
        else:
            existing = [(line.quantity, line.unit_price, line.discount_percent)
                        for line in order.lines.all()]  # fmt: skip
            probe = Order(currency=currency, order_date=order_date)
            totals = order_totals(existing, currency, order_date)
            _set_totals(probe, totals)
        for name in ("subtotal", "discount", "total", "exchange_rate", "total_base"):
            if getattr(probe, name) != getattr(order, name):
                values[name] = getattr(probe, name)
        save_changes(order, values, actor=actor, expected_version=expected_version)
        refresh_trading_summary([contacts_before, order.contact_id])
    return order


def change_status(
    actor: User | None,
    order: Order,
    status: str,
    *,
    on: date | None = None,
    reason: str = "",
    expected_version: int | None = None,
) -> Order:
    """Move an order along its life: placed, paid, delivered (→ assets), cancelled, returned.

    ``on`` is the day it happened (delivery day: when the assets were installed).
    """
    authorise_on(actor, Action.CHANGE, order)
    if status not in OrderStatus.values:
        raise ValidationError({"status": [f"Use one of {', '.join(OrderStatus.values)}."]})
    if status == order.status:
        return order
    if status not in TRANSITIONS[order.status]:
        allowed = ", ".join(sorted(TRANSITIONS[order.status])) or "nothing (it is final)"
        raise ValidationError(
            {
                "status": [
                    f"A {order.get_status_display().lower()} order cannot become {status}; "
                    f"it can become {allowed}."
                ]
            }
        )
    day = on or timezone.localdate()
    if day > timezone.localdate():
        raise ValidationError({"on": ["That day is still to come."]})
    if status == OrderStatus.DELIVERED and not order.lines.exists():
        raise ValidationError({"status": ["An order without lines cannot be delivered."]})
    label = OrderStatus(status).label
    with transaction.atomic():
        save_changes(
            order,
            {"status": status, "status_changed_at": timezone.now()},
            actor=actor,
            expected_version=expected_version,
            reason=reason.strip() or label,
        )
        if status == OrderStatus.PLACED:
            _record_order_event(actor, order, "placed")
        elif status == OrderStatus.CANCELLED:
            _record_order_event(actor, order, "cancelled", body=reason)
        elif status == OrderStatus.DELIVERED:
            _delivered(actor, order, day)
        elif status == OrderStatus.RETURNED:
            _returned(actor, order, reason)
        refresh_trading_summary([order.contact_id])
    return order


def trash_order(actor: User | None, order: Order, *, expected_version: int | None = None) -> Order:
    """Quotes and cancelled or undelivered orders can go; delivered ones are history."""
    authorise_on(actor, Action.DELETE, order)
    if order.status in (OrderStatus.DELIVERED, OrderStatus.RETURNED):
        raise ValidationError(
            {"status": ["Delivered orders are trading history; mark it returned instead."]}
        )
    with transaction.atomic():
        trashed = move_to_trash(order, actor=actor, expected_version=expected_version)
        refresh_trading_summary([trashed.contact_id])
    return trashed


def restore_order(actor: User | None, order: Order) -> Order:
    authorise_restore(actor)
    authorise_on(actor, Action.VIEW, order)
    with transaction.atomic():
        restored = restore(order, actor=actor)
        refresh_trading_summary([restored.contact_id])
    return restored


def refresh_trading_summary(contacts: Iterable[int | None] | None = None) -> None:
    """Recompute the trading summary of these contacts (ids; None: of every contact).

    Called by every write of orders, in its transaction, with the contacts
    whose orders it changed (both, when an order moves to another contact or
    contacts are merged). The rows are recomputed from the orders, never
    incremented, so a retried or repeated call cannot drift. Bulk loaders call
    it once without contacts after loading: one DELETE and one INSERT … SELECT.
    """
    ids = None if contacts is None else sorted({pk for pk in contacts if pk is not None})
    if ids == []:
        return
    orders = Order.objects.filter(
        contact__isnull=False, status__in=BOUGHT_STATUSES, deleted_at__isnull=True
    )
    rows = TradingSummary.objects.all()
    if ids is not None:
        orders = orders.filter(contact_id__in=ids)
        rows = rows.filter(contact_id__in=ids)
    select = (
        orders.order_by()
        .values("contact_id")
        .annotate(
            order_count=Count("pk"),
            # Rounded: SQLite sums decimals as floats, and 4999.999… is not 5000.
            spend=Round(Sum("total_base"), 2),
            first_order_date=Min("order_date"),
            last_order_date=Max("order_date"),
        )
        .values_list("contact_id", "order_count", "spend", "first_order_date", "last_order_date")
    )
    sql, params = select.query.sql_with_params()
    quote = connection.ops.quote_name
    columns = ("contact_id", "order_count", "spend", "first_order_date", "last_order_date")
    insert = (
        f"INSERT INTO {quote(TradingSummary._meta.db_table)} "
        f"({', '.join(quote(name) for name in columns)}) {sql}"
    )
    with transaction.atomic():
        if ids is not None:
            # Two transactions adding orders of one contact would each count only
            # their own: the contact's row lock makes the second wait, and its
            # recount (a new snapshot under READ COMMITTED) sees the first's order.
            list(
                Contact._base_manager.select_for_update()
                .filter(pk__in=ids)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
        rows._raw_delete(rows.db)
        with connection.cursor() as cursor:
            cursor.execute(insert, params)


# --- deliveries ----------------------------------------------------------------------


def ship_order(
    actor: User | None,
    order: Order,
    *,
    carrier: str = "",
    tracking: str = "",
    shipped_at: datetime | None = None,
    notes: str = "",
) -> Delivery:
    """Record a shipment of a placed or paid order."""
    authorise_on(actor, Action.CHANGE, order)
    if order.status not in (OrderStatus.PLACED, OrderStatus.PAID):
        raise ValidationError(
            {"status": [f"A {order.get_status_display().lower()} order is not shipped."]}
        )
    delivery = Delivery(
        order=order,
        status=DeliveryStatus.SHIPPED,
        shipped_at=shipped_at or timezone.now(),
        carrier=carrier.strip(),
        tracking=tracking.strip(),
        notes=notes,
    )
    if delivery.shipped_at > timezone.now() + timedelta(minutes=5):
        raise ValidationError({"shipped_at": ["That time is still to come."]})
    with transaction.atomic():
        create_record(delivery, actor=actor, reason="Shipped")
        via = f" with {delivery.carrier}" if delivery.carrier else ""
        tracking_note = f" (tracking {delivery.tracking})" if delivery.tracking else ""
        _record(
            actor,
            order,
            kind=InteractionKind.DELIVERY,
            subject=f"Order {order.number} shipped{via}{tracking_note}",
            key=f"delivery:{delivery.pk}:shipped",
            occurred_at=delivery.shipped_at,
            source=delivery,
            direction=Direction.OUTBOUND,
        )
    return delivery


def confirm_delivery(
    actor: User | None,
    delivery: Delivery,
    *,
    delivered_at: datetime | None = None,
    expected_version: int | None = None,
) -> Delivery:
    """The shipment arrived: the order is delivered (creating the installed base)."""
    order = delivery.order
    authorise_on(actor, Action.CHANGE, delivery)
    if delivery.status != DeliveryStatus.SHIPPED:
        raise ValidationError(
            {"status": [f"This delivery is already {delivery.get_status_display().lower()}."]}
        )
    when = delivered_at or timezone.now()
    if when < delivery.shipped_at:
        raise ValidationError({"delivered_at": ["A delivery arrives after it was shipped."]})
    with transaction.atomic():
        save_changes(
            delivery,
            {"status": DeliveryStatus.DELIVERED, "delivered_at": when},
            actor=actor,
            expected_version=expected_version,
            reason="Delivered",
        )
        if order.status in (OrderStatus.PLACED, OrderStatus.PAID):
            change_status(actor, order, OrderStatus.DELIVERED, on=timezone.localdate(when))
        else:  # a later part-delivery of an order delivered already
            _record(
                actor,
                order,
                kind=InteractionKind.DELIVERY,
                subject=f"Delivery of order {order.number} arrived",
                key=f"delivery:{delivery.pk}:delivered",
                occurred_at=when,
                source=delivery,
                direction=Direction.OUTBOUND,
            )
    return delivery


def fail_delivery(
    actor: User | None, delivery: Delivery, *, notes: str = "", expected_version: int | None = None
) -> Delivery:
    """The shipment did not arrive (lost, refused): the order stays open to ship again."""
    authorise_on(actor, Action.CHANGE, delivery)
    if delivery.status != DeliveryStatus.SHIPPED:
        raise ValidationError(
            {"status": [f"This delivery is already {delivery.get_status_display().lower()}."]}
        )
    with transaction.atomic():
        changes: dict[str, Any] = {"status": DeliveryStatus.FAILED}
        if notes.strip():
            changes["notes"] = "\n".join(part for part in (delivery.notes, notes.strip()) if part)
        save_changes(
            delivery, changes, actor=actor, expected_version=expected_version, reason="Failed"
        )
        _record(
            actor,
            delivery.order,
            kind=InteractionKind.DELIVERY,
            subject=f"Delivery of order {delivery.order.number} failed",
            body=notes,
            key=f"delivery:{delivery.pk}:failed",
            occurred_at=timezone.now(),
            source=delivery,
            direction=Direction.OUTBOUND,
        )
    return delivery


# --- installed base ------------------------------------------------------------------


@dataclass
class AssetInput:
    product: Product
    bought_on: date
    contact: Contact | None = None
    company: Company | None = None
    serial: str = ""
    installed_on: date | None = None
    warranty_end: date | None = None
    renewal_on: date | None = None
    last_serviced_on: date | None = None
    notes: str = ""


def next_service_due(
    product: Product,
    *,
    bought_on: date,
    installed_on: date | None = None,
    last_serviced_on: date | None = None,
) -> date | None:
    """Last service (or installation, or purchase) plus the product's interval; None without one."""
    if not product.service_interval_days:
        return None
    base = last_serviced_on or installed_on or bought_on
    return base + timedelta(days=product.service_interval_days)


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it is shorter)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def warranty_end(product: Product, start: date) -> date | None:
    return add_months(start, product.warranty_months) if product.warranty_months else None


def renewal_on(product: Product, start: date) -> date | None:
    """The first renewal of a unit's contract: one product term after ``start``."""
    return add_months(start, product.renewal_months) if product.renewal_months else None


def create_asset(actor: User | None, data: AssetInput, *, reason: str = "Created") -> Asset:
    """Add a unit a customer owns that Rapport did not deliver (bought before, elsewhere)."""
    if data.product.kind != ProductKind.PRODUCT:
        raise ValidationError({"product": [f"{data.product.name} is a service, not a unit."]})
    asset = Asset(
        contact=data.contact,
        company=data.company,
        product=data.product,
        serial=data.serial.strip(),
        bought_on=data.bought_on,
        installed_on=data.installed_on,
        warranty_end=data.warranty_end or warranty_end(data.product, data.bought_on),
        renewal_on=data.renewal_on or renewal_on(data.product, data.bought_on),
        last_serviced_on=data.last_serviced_on,
        notes=data.notes,
    )
    _check_customer(actor, asset)
    authorise_on(actor, Action.ADD, asset)
    _check_asset_dates(asset)
    asset.next_service_due = next_service_due(
        asset.product,
        bought_on=asset.bought_on,
        installed_on=asset.installed_on,
        last_serviced_on=asset.last_serviced_on,
    )
    with transaction.atomic():
        create_record(asset, actor=actor, reason=reason)
    return asset


def update_asset(
    actor: User | None,
    asset: Asset,
    changes: Mapping[str, Any],
    *,
    expected_version: int | None = None,
) -> Asset:
    """Correct an asset. Its next service is recomputed unless given explicitly (postponed)."""
    authorise_on(actor, Action.CHANGE, asset)
    unknown = set(changes) - ASSET_FIELDS
    if unknown:
        raise ValidationError({name: ["This field cannot be changed here."] for name in unknown})
    values = {
        key: value.strip() if isinstance(value, str) and key != "notes" else value
        for key, value in changes.items()
    }
    if values.get("bought_on", asset.bought_on) is None:
        raise ValidationError({"bought_on": ["Say when it was bought."]})
    probe = Asset(
        product=asset.product,
        **{name: values.get(name, getattr(asset, name)) for name in ASSET_FIELDS},
    )
    _check_asset_dates(probe)
    if "next_service_due" not in values and asset.replaced_by_id is None:
        due = next_service_due(
            asset.product,
            bought_on=probe.bought_on,
            installed_on=probe.installed_on,
            last_serviced_on=probe.last_serviced_on,
        )
        if due != asset.next_service_due:
            values["next_service_due"] = due
    with transaction.atomic():
        save_changes(asset, values, actor=actor, expected_version=expected_version)
    return asset


def record_service(actor: User | None, asset: Asset, on: date, notes: str = "") -> Asset:
    """A maintenance visit on ``on``: last/next service move, and the timeline says so.

    Recording the same visit again (a retried request) changes nothing more.
    """
    authorise_on(actor, Action.CHANGE, asset)
    today = timezone.localdate()
    if on > today:
        raise ValidationError({"on": ["Record a service once it is done; plan it as a task."]})
    if on < asset.bought_on:
        raise ValidationError({"on": [f"The unit was bought on {asset.bought_on}."]})
    key = f"asset:{asset.pk}:service:{on.isoformat()}"
    with transaction.atomic():
        # Recording an older visit afterwards keeps the latest one as "last".
        last = max(on, asset.last_serviced_on) if asset.last_serviced_on else on
        changes: dict[str, Any] = {"last_serviced_on": last}
        if asset.replaced_by_id is None:
            changes["next_service_due"] = next_service_due(
                asset.product,
                bought_on=asset.bought_on,
                installed_on=asset.installed_on,
                last_serviced_on=last,
            )
        if any(getattr(asset, name) != value for name, value in changes.items()):
            save_changes(asset, changes, actor=actor, reason=f"Serviced on {on.isoformat()}")
        _record(
            actor,
            asset,
            kind=InteractionKind.MAINTENANCE,
            subject=f"Service of {asset}",
            body=notes,
            key=key,
            occurred_at=_moment(on),
            source=asset,
            direction=Direction.OUTBOUND,
        )
    return asset


def trash_asset(actor: User | None, asset: Asset, *, expected_version: int | None = None) -> Asset:
    authorise_on(actor, Action.DELETE, asset)
    return move_to_trash(asset, actor=actor, expected_version=expected_version)


def restore_asset(actor: User | None, asset: Asset) -> Asset:
    authorise_restore(actor)
    authorise_on(actor, Action.VIEW, asset)
    return restore(asset, actor=actor)


def reschedule_service_for_product(actor: User | None, product: Product) -> int:
    """After a product's interval changed: every live, unreplaced unit gets its new date."""
    assets = list(
        Asset.objects.live()
        .filter(product=product, replaced_by__isnull=True)
        .select_related("product")
    )
    changed = []
    for asset in assets:
        asset.product = product
        due = next_service_due(
            product,
            bought_on=asset.bought_on,
            installed_on=asset.installed_on,
            last_serviced_on=asset.last_serviced_on,
        )
        if due != asset.next_service_due:
            asset.next_service_due = due
            changed.append(asset)
    if changed:
        bulk_update_with_history(
            changed,
            Asset,
            ["next_service_due"],
            batch_size=500,
            default_user=actor,
            default_change_reason="Service interval of the product changed",
        )
    return len(changed)


# --- helpers -------------------------------------------------------------------------


def _default_owner(actor: User | None, data: OrderInput) -> User | None:
    """Who took the order: the person entering it, else the account's owner."""
    if actor is not None:
        return actor
    record = data.contact or data.company
    return record.owner if record is not None else None


def _check_customer(actor: User | None, record: Order | Asset) -> None:
    if record.contact is None and record.company is None:
        raise ValidationError({"contact": ["Say which contact or company this is for."]})
    for name in ("contact", "company"):
        customer: Contact | Company | None = getattr(record, name)
        if customer is None:
            continue
        if actor is not None and not can(actor, Action.VIEW, customer):
            # Worded like a record that does not exist: the caller learns nothing.
            raise ValidationError({name: [f"No {name} with id {customer.pk}."]})
        if customer.deleted_at is not None:
            raise ValidationError({name: [f"{customer} is in the trash."]})


def _clean_lines(
    actor: User | None, lines: Sequence[LineInput], currency: str, on: date
) -> list[LineInput]:
    if not lines:
        raise ValidationError({"lines": ["An order needs at least one line."]})
    cleaned = []
    for number, line in enumerate(lines, start=1):
        where = f"Line {number}"
        product = line.product
        if product.deleted_at is not None or not product.active:
            raise ValidationError({"lines": [f"{where}: {product} is not for sale any more."]})
        if actor is not None and not can(actor, Action.VIEW, product):
            raise ValidationError({"lines": [f"{where}: no product with id {product.pk}."]})
        quantity = _amount(line.quantity, where, "quantity")
        if quantity <= 0:
            raise ValidationError({"lines": [f"{where}: the quantity is more than 0."]})
        if quantity != quantity.quantize(Decimal("0.001")):
            raise ValidationError({"lines": [f"{where}: at most 3 decimals in a quantity."]})
        discount = _amount(line.discount_percent, where, "discount")
        if not 0 <= discount <= HUNDRED:
            raise ValidationError({"lines": [f"{where}: a discount is 0 to 100 %."]})
        if line.unit_price is None:
            price = rates.convert(product.unit_price, product.currency, currency, on)
        else:
            price = _amount(line.unit_price, where, "unit price")
            if price < 0 or price != price.quantize(rates.CENT):
                raise ValidationError(
                    {"lines": [f"{where}: a price is 0 or more, in whole cents."]}
                )
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


def _amount(value: Any, where: str, what: str) -> Decimal:
    if not isinstance(value, Decimal | int) or isinstance(value, bool):
        raise ValidationError({"lines": [f"{where}: the {what} must be a Decimal, not {value!r}."]})
    amount = Decimal(value)
    if not amount.is_finite():
        raise ValidationError({"lines": [f"{where}: the {what} is not a number."]})
    return amount


def _apply_totals(order: Order, lines: Sequence[LineInput]) -> None:
    totals = order_totals(
        [(line.quantity, line.unit_price or Decimal(0), line.discount_percent) for line in lines],
        order.currency,
        order.order_date,
    )
    _set_totals(order, totals)


def _set_totals(order: Order, totals: Totals) -> None:
    order.subtotal = totals.subtotal
    order.discount = totals.discount
    order.total = totals.total
    order.exchange_rate = totals.exchange_rate
    order.total_base = totals.total_base


def _insert_with_number(order: Order, *, actor: User | None, reason: str) -> None:
    """Give the order the next number of its year; retry when another writer took it."""
    for attempt in range(NUMBER_ATTEMPTS):
        order.number = _next_number(order.order_date.year)
        try:
            with transaction.atomic():
                create_record(order, actor=actor, reason=reason)
            return
        except IntegrityError:
            if attempt == NUMBER_ATTEMPTS - 1:
                raise
            order.pk = None


def _next_number(year: int) -> str:
    prefix = f"{year}-"
    last = (
        Order._base_manager.filter(number__startswith=prefix)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    sequence = int(last.removeprefix(prefix)) + 1 if last else 1
    return f"{prefix}{sequence:06d}"


def _insert_lines(
    actor: User | None, order: Order, lines: Sequence[LineInput], *, reason: str
) -> None:
    rows = []
    for position, line in enumerate(lines, start=1):
        price = line.unit_price if line.unit_price is not None else Decimal(0)
        _, net = line_amounts(line.quantity, price, line.discount_percent)
        rows.append(
            OrderLine(
                order=order,
                position=position,
                product=line.product,
                description=line.description,
                quantity=line.quantity,
                unit_price=price,
                discount_percent=line.discount_percent,
                line_total=net,
            )
        )
    bulk_create_with_history(rows, OrderLine, default_user=actor, default_change_reason=reason)


def _moment(day: date) -> datetime:
    """When something that happened on ``day`` goes on the timeline: now if today, else noon."""
    if day == timezone.localdate():
        return timezone.now()
    return timezone.make_aware(datetime.combine(day, time(12)))


def _record(
    actor: User | None,
    about: Order | Asset,
    *,
    kind: str,
    subject: str,
    key: str,
    occurred_at: datetime,
    source: Any,
    body: str = "",
    direction: str = "",
) -> None:
    record_interaction(
        actor,
        kind=kind,
        subject=subject,
        contact=about.contact,
        company=about.company,
        occurred_at=occurred_at,
        body=body,
        channel=Channel.SYSTEM,
        direction=direction,
        source=source,
        dedupe_key=key,
    )


ORDER_EVENTS = {
    "quoted": (InteractionKind.ORDER, Direction.OUTBOUND, "Quote {number} sent"),
    "placed": (InteractionKind.ORDER, Direction.INBOUND, "Order {number} placed"),
    "cancelled": (InteractionKind.ORDER, Direction.INBOUND, "Order {number} cancelled"),
    "delivered": (InteractionKind.DELIVERY, Direction.OUTBOUND, "Order {number} delivered"),
    "returned": (InteractionKind.ORDER, Direction.INBOUND, "Order {number} returned"),
}


def _record_order_event(
    actor: User | None, order: Order, event: str, *, body: str = "", on: date | None = None
) -> None:
    kind, direction, subject = ORDER_EVENTS[event]
    amount = f": {order.total} {order.currency}" if event in ("quoted", "placed") else ""
    _record(
        actor,
        order,
        kind=kind,
        subject=subject.format(number=order.number) + amount,
        key=f"order:{order.pk}:{event}",
        occurred_at=_moment(on) if on else timezone.now(),
        source=order,
        body=body,
        direction=direction,
    )


def _delivered(actor: User | None, order: Order, on: date) -> None:
    """Delivered: the installed base grows, upgrades are noted, the buyer becomes a customer."""
    _record_order_event(actor, order, "delivered", on=on)
    created = _create_assets(actor, order, on)
    _note_upgrades(actor, order, created)
    for record in (order.contact, order.company):
        if record is None:
            continue
        lookup = {"contact": record} if isinstance(record, Contact) else {"company": record}
        earlier = (
            Order.objects.filter(status__in=(OrderStatus.DELIVERED, OrderStatus.RETURNED), **lookup)
            .exclude(pk=order.pk)
            .exists()
        )
        reason = f"{'Order' if earlier else 'First order'} {order.number} delivered"
        # The stage follows from the delivery; who delivered may not edit the
        # account itself (another team's company), so then Rapport makes the change.
        who = actor if actor is None or can(actor, Action.CHANGE, record) else None
        mark_customer(who, record, reason=reason)


def _create_assets(actor: User | None, order: Order, on: date) -> list[Asset]:
    """One asset per whole unit of each product line (services leave none); never twice."""
    lines = list(order.lines.select_related("product"))
    taken = set(
        Asset._base_manager.filter(order_line__in=lines).values_list("order_line_id", "unit")
    )
    assets = []
    for line in lines:
        product = line.product
        if product.kind != ProductKind.PRODUCT:
            continue
        for unit in range(1, int(line.quantity) + 1):
            if (line.pk, unit) in taken:
                continue
            assets.append(
                Asset(
                    contact=order.contact,
                    company=order.company,
                    product=product,
                    order=order,
                    order_line=line,
                    unit=unit,
                    bought_on=order.order_date,
                    installed_on=on,
                    warranty_end=warranty_end(product, on),
                    renewal_on=renewal_on(product, on),
                    next_service_due=next_service_due(
                        product, bought_on=order.order_date, installed_on=on
                    ),
                    created_by=actor,
                    updated_by=actor,
                )
            )
    if not assets:
        return []
    return list(
        bulk_create_with_history(
            assets,
            Asset,
            default_user=actor,
            default_change_reason=f"Order {order.number} delivered",
        )
    )


def _note_upgrades(actor: User | None, order: Order, created: Sequence[Asset]) -> None:
    """A unit that upgrades one the customer had: the old one is replaced, no longer serviced."""
    lookup: dict[str, Any] = (
        {"contact": order.contact} if order.contact is not None else {"company": order.company}
    )
    for asset in created:
        old = (
            Asset.objects.live()
            .filter(product__upgrade_to=asset.product, replaced_by__isnull=True, **lookup)
            .exclude(order=order)
            .select_related("product")
            .order_by("bought_on", "id")
            .first()
        )
        if old is None:
            continue
        save_changes(
            old,
            {"replaced_by": asset, "next_service_due": None},
            actor=actor,
            reason=f"Replaced by {asset.product.name} (order {order.number})",
        )
        _record(
            actor,
            old,
            kind=InteractionKind.UPGRADE,
            subject=f"Upgraded {old.product.name} to {asset.product.name}",
            key=f"asset:{old.pk}:upgraded",
            occurred_at=timezone.now(),
            source=asset,
        )


def _returned(actor: User | None, order: Order, reason: str) -> None:
    """Returned goods leave the installed base (to the trash, so it can be undone)."""
    _record_order_event(actor, order, "returned", body=reason)
    for asset in Asset.objects.live().filter(order=order):
        move_to_trash(asset, actor=actor, reason=f"Order {order.number} returned")


def _check_asset_dates(asset: Asset) -> None:
    errors: dict[str, list[str]] = {}
    today = timezone.localdate()
    if asset.bought_on > today:
        errors["bought_on"] = ["That day is still to come."]
    if asset.installed_on and asset.installed_on < asset.bought_on:
        errors["installed_on"] = ["A unit is installed after it was bought."]
    if asset.last_serviced_on and asset.last_serviced_on > today:
        errors["last_serviced_on"] = ["Record a service once it is done."]
    if errors:
        raise ValidationError(errors)
