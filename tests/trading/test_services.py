"""Orders, deliveries and the installed base: totals, transitions, assets, timeline, lifecycle."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from rapport.catalog import rates
from rapport.catalog import services as catalog_services
from rapport.catalog.models import Product
from rapport.customers.choices import LifecycleStage
from rapport.customers.models import Company, Contact, LifecycleChange
from rapport.interactions.models import Interaction
from rapport.trading import services
from rapport.trading.choices import DeliveryStatus, OrderStatus
from rapport.trading.models import Asset, Order, OrderLine
from rapport.users.models import User
from tests.catalog.factories import make_product, make_rate
from tests.customers.factories import make_company, make_contact
from tests.trading.factories import delivered_order, make_asset, make_order

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate  # the day as the services see it (TIME_ZONE)


@pytest.fixture
def boiler(admin: User) -> Product:
    return make_product(
        admin, sku="BOIL", name="Boiler", unit_price="2000.00", service_interval_days=365,
        warranty_months=24,
    )  # fmt: skip


@pytest.fixture
def filter_(admin: User) -> Product:
    return make_product(
        admin, sku="FLT", name="Filter", unit_price="19.99", service_interval_days=180
    )


@pytest.fixture
def installation(admin: User) -> Product:
    return make_product(admin, sku="INST", name="Installation", unit_price="350.00", kind="service")


@pytest.fixture
def buyer(sales: User) -> Contact:
    return make_contact(sales, first_name="Bea", last_name="Buyer", owner=sales)


def interactions(key_prefix: str) -> list[Interaction]:
    return list(Interaction.objects.filter(dedupe_key__startswith=key_prefix).order_by("id"))


# --- totals ---------------------------------------------------------------------------------


def test_line_amounts_round_half_up_once() -> None:
    assert services.line_amounts(Decimal(3), Decimal("0.335"), Decimal(0)) == (
        Decimal("1.01"),
        Decimal("1.01"),
    )
    gross, net = services.line_amounts(Decimal("1.5"), Decimal("19.99"), Decimal("12.5"))
    assert gross == Decimal("29.99")  # 29.985 half up
    assert net == Decimal("26.24")  # 26.236875
    assert isinstance(net, Decimal)


def test_order_totals_are_stored_in_order_and_base_currency(
    sales: User, buyer: Contact, boiler: Product, filter_: Product
) -> None:
    order = services.create_order(
        sales,
        services.OrderInput(
            contact=buyer,
            lines=[
                services.LineInput(boiler, Decimal(1), discount_percent=Decimal(10)),
                services.LineInput(filter_, Decimal(3), unit_price=Decimal("18.33")),
            ],
        ),
    )
    order.refresh_from_db()
    assert order.subtotal == Decimal("2054.99")  # 2000 + 54.99
    assert order.discount == Decimal("200.00")
    assert order.total == Decimal("1854.99")
    assert order.exchange_rate == Decimal(1)
    assert order.total_base == order.total
    lines = list(order.lines.all())
    assert [line.line_total for line in lines] == [Decimal("1800.00"), Decimal("54.99")]
    assert lines[0].description == "Boiler"
    assert order.owner == sales
    assert order.history.count() == 1
    assert OrderLine.history.filter(order_id=order.pk).count() == 2


def test_a_foreign_currency_order_uses_the_rate_of_its_order_date(
    sales: User, buyer: Contact, boiler: Product
) -> None:
    make_rate("USD", "0.90", date(2025, 1, 1))
    make_rate("USD", "0.80", date(2025, 6, 1))
    order = make_order(
        sales, contact=buyer, lines=[(boiler, 1)], currency="USD", order_date=date(2025, 5, 31)
    )
    # The EUR list price is converted into the order's currency at that day's rate.
    assert order.lines.get().unit_price == Decimal("2222.22")
    assert order.total == Decimal("2222.22")
    assert order.exchange_rate == Decimal("0.90")
    assert order.total_base == Decimal("2000.00")

    services.update_order(sales, order, {"order_date": date(2025, 6, 1)})
    order.refresh_from_db()
    assert order.exchange_rate == Decimal("0.80")
    assert order.total_base == Decimal("1777.78")


def test_an_order_without_a_rate_for_its_currency_is_refused(
    sales: User, buyer: Contact, boiler: Product
) -> None:
    with pytest.raises(rates.NoExchangeRate) as caught:
        make_order(sales, contact=buyer, lines=[(boiler, 1)], currency="CHF")
    assert "No exchange rate for CHF" in caught.value.message_dict["currency"][0]
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("quantity", "price", "discount", "message"),
    [
        (Decimal(0), None, Decimal(0), "more than 0"),
        (Decimal("1.0001"), None, Decimal(0), "3 decimals"),
        (Decimal(1), Decimal("-1"), Decimal(0), "0 or more"),
        (Decimal(1), Decimal("1.001"), Decimal(0), "whole cents"),
        (Decimal(1), None, Decimal(101), "0 to 100"),
        (1.5, None, Decimal(0), "Decimal"),
    ],
)
def test_invalid_lines_are_refused(
    sales: User,
    buyer: Contact,
    boiler: Product,
    quantity: Decimal,
    price: Decimal | None,
    discount: Decimal,
    message: str,
) -> None:
    line = services.LineInput(boiler, quantity, unit_price=price, discount_percent=discount)
    with pytest.raises(ValidationError) as caught:
        services.create_order(sales, services.OrderInput(contact=buyer, lines=[line]))
    assert message in caught.value.message_dict["lines"][0]


def test_an_order_needs_a_customer_lines_and_a_sellable_product(
    sales: User, buyer: Contact, boiler: Product, admin: User
) -> None:
    with pytest.raises(ValidationError, match="contact or company"):
        make_order(sales, lines=[(boiler, 1)])
    with pytest.raises(ValidationError, match="at least one line"):
        make_order(sales, contact=buyer)
    catalog_services.update_product(admin, boiler, {"active": False})
    with pytest.raises(ValidationError, match="not for sale"):
        make_order(sales, contact=buyer, lines=[(boiler, 1)])


def test_order_numbers_count_up_per_year(sales: User, buyer: Contact, boiler: Product) -> None:
    first = make_order(sales, contact=buyer, lines=[(boiler, 1)], order_date=date(2025, 3, 1))
    second = make_order(sales, contact=buyer, lines=[(boiler, 1)], order_date=date(2025, 4, 1))
    other_year = make_order(sales, contact=buyer, lines=[(boiler, 1)], order_date=date(2024, 4, 1))
    assert (first.number, second.number, other_year.number) == (
        "2025-000001",
        "2025-000002",
        "2024-000001",
    )


def test_lines_are_replaced_while_placed_and_locked_after_payment(
    sales: User, buyer: Contact, boiler: Product, filter_: Product
) -> None:
    order = make_order(sales, contact=buyer, lines=[(boiler, 1)])
    services.update_order(
        sales, order, {"notes": "Call first"}, lines=[services.LineInput(filter_, Decimal(2))]
    )
    order.refresh_from_db()
    assert order.total == Decimal("39.98")
    assert [line.product for line in order.lines.all()] == [filter_]

    services.change_status(sales, order, OrderStatus.PAID)
    with pytest.raises(ValidationError, match="paid order cannot be changed"):
        services.update_order(sales, order, {}, lines=[services.LineInput(boiler, Decimal(1))])
    services.update_order(sales, order, {"notes": "Paid by card"})  # notes stay editable


def test_a_stale_version_is_refused(sales: User, buyer: Contact, boiler: Product) -> None:
    from rapport.core.services import ConflictError

    order = make_order(sales, contact=buyer, lines=[(boiler, 1)])
    services.update_order(sales, order, {"notes": "one"}, expected_version=1)
    with pytest.raises(ConflictError):
        services.update_order(sales, order, {"notes": "two"}, expected_version=1)


# --- transitions ----------------------------------------------------------------------------

ALLOWED = [
    ("quote", "placed"),
    ("quote", "cancelled"),
    ("placed", "paid"),
    ("placed", "delivered"),
    ("placed", "cancelled"),
    ("paid", "delivered"),
    ("paid", "cancelled"),
    ("delivered", "returned"),
]
PATHS = {
    "quote": [],
    "placed": ["placed"],
    "paid": ["placed", "paid"],
    "delivered": ["placed", "delivered"],
    "cancelled": ["cancelled"],
    "returned": ["placed", "delivered", "returned"],
}


@pytest.mark.parametrize("start", list(PATHS))
@pytest.mark.parametrize("target", list(PATHS))
def test_only_allowed_transitions_happen(
    sales: User, buyer: Contact, boiler: Product, start: str, target: str
) -> None:
    order = make_order(sales, contact=buyer, lines=[(boiler, 1)], status="quote")
    for step in PATHS[start]:
        services.change_status(sales, order, step)
    if target == start:
        services.change_status(sales, order, target)  # no-op
    elif (start, target) in ALLOWED:
        services.change_status(sales, order, target)
    else:
        with pytest.raises(ValidationError):
            services.change_status(sales, order, target)
    order.refresh_from_db()
    expected = target if (start, target) in ALLOWED else start
    assert order.status == expected


def test_quote_placed_and_cancelled_are_on_the_timeline_once(
    sales: User, buyer: Contact, boiler: Product
) -> None:
    order = make_order(sales, contact=buyer, lines=[(boiler, 1)], status="quote")
    services.change_status(sales, order, "placed")
    services.change_status(sales, order, "cancelled", reason="Changed their mind")
    # A retried job writing the same event again finds the first row.
    services._record_order_event(sales, order, "placed")

    rows = interactions(f"order:{order.pk}:")
    assert [row.dedupe_key for row in rows] == [
        f"order:{order.pk}:quoted",
        f"order:{order.pk}:placed",
        f"order:{order.pk}:cancelled",
    ]
    assert rows[1].kind == "order"
    assert rows[1].subject == f"Order {order.number} placed: 2000.00 EUR"
    assert rows[1].contact == buyer
    assert rows[1].source == order
    assert rows[2].body == "Changed their mind"
    assert order.history.first().history_change_reason == "Changed their mind"


def test_a_delivery_day_in_the_future_is_refused(
    sales: User, buyer: Contact, boiler: Product
) -> None:
    order = make_order(sales, contact=buyer, lines=[(boiler, 1)])
    with pytest.raises(ValidationError):
        services.change_status(sales, order, "delivered", on=TODAY() + timedelta(days=1))


# --- delivered: assets, lifecycle -------------------------------------------------------------


def test_delivery_creates_one_asset_per_unit_of_products_only(
    sales: User, buyer: Contact, boiler: Product, filter_: Product, installation: Product
) -> None:
    bought = TODAY() - timedelta(days=10)
    installed = TODAY() - timedelta(days=3)
    order = delivered_order(
        sales,
        contact=buyer,
        lines=[(boiler, 2), (filter_, "1.5"), (installation, 1)],
        order_date=bought,
        on=installed,
    )
    assets = list(Asset.objects.filter(order=order).order_by("product__sku", "unit"))
    assert [(a.product.sku, a.unit) for a in assets] == [("BOIL", 1), ("BOIL", 2), ("FLT", 1)]
    first = assets[0]
    assert first.contact == buyer
    assert first.bought_on == bought
    assert first.installed_on == installed
    assert first.warranty_end == services.add_months(installed, 24)
    assert first.next_service_due == installed + timedelta(days=365)
    assert assets[2].next_service_due == installed + timedelta(days=180)
    assert assets[2].warranty_end is None
    assert first.history.get().history_change_reason == f"Order {order.number} delivered"

    # Running the asset step again (a retried job) adds nothing.
    assert services._create_assets(sales, order, installed) == []
    assert Asset.objects.filter(order=order).count() == 3


def test_the_first_delivered_order_makes_a_customer_with_the_reason(
    sales: User, buyer: Contact, boiler: Product
) -> None:
    company = make_company(sales, name="Buyer GmbH", owner=sales)
    order = delivered_order(sales, contact=buyer, company=company, lines=[(boiler, 1)])

    for record in (buyer, company):
        record.refresh_from_db()
        assert record.lifecycle_stage == LifecycleStage.CUSTOMER
        change = LifecycleChange.objects.filter(
            **{"contact" if isinstance(record, Contact) else "company": record}
        ).first()
        assert change is not None
        assert change.to_stage == LifecycleStage.CUSTOMER
        assert change.reason == f"First order {order.number} delivered"
        assert change.changed_by == sales

    second = delivered_order(sales, contact=buyer, lines=[(boiler, 1)])
    assert LifecycleChange.objects.filter(contact=buyer, to_stage="customer").count() == 1
    assert second.status == "delivered"
    assert interactions(f"order:{order.pk}:delivered")[0].kind == "delivery"


def test_a_placed_order_does_not_make_a_customer(
    sales: User, buyer: Contact, boiler: Product
) -> None:
    make_order(sales, contact=buyer, lines=[(boiler, 1)])
    buyer.refresh_from_db()
    assert buyer.lifecycle_stage == LifecycleStage.LEAD


def test_delivering_for_another_teams_company_marks_it_as_rapport(
    admin: User, service_user: User, sales_south: User, buyer: Contact, boiler: Product
) -> None:
    """Service (North) delivers; the South company it may not edit still becomes a customer."""
    south_company = make_company(sales_south, name="South AG", owner=sales_south)
    order = make_order(admin, contact=buyer, company=south_company, lines=[(boiler, 1)])
    services.change_status(service_user, order, "delivered")
    south_company.refresh_from_db()
    buyer.refresh_from_db()
    assert south_company.lifecycle_stage == LifecycleStage.CUSTOMER
    assert buyer.lifecycle_stage == LifecycleStage.CUSTOMER
    assert LifecycleChange.objects.filter(company=south_company).first().changed_by is None
    assert LifecycleChange.objects.filter(contact=buyer).first().changed_by == service_user


def test_returning_an_order_takes_its_units_out_of_the_installed_base(
    sales: User, buyer: Contact, boiler: Product
) -> None:
    order = delivered_order(sales, contact=buyer, lines=[(boiler, 2)])
    services.change_status(sales, order, "returned", reason="Wrong size")
    assert Asset.objects.live().filter(order=order).count() == 0
    assert Asset.objects.trashed().filter(order=order).count() == 2
    assert interactions(f"order:{order.pk}:returned")[0].body == "Wrong size"
    with pytest.raises(ValidationError):
        services.trash_order(sales, order)


def test_buying_the_upgrade_replaces_the_old_unit(
    sales: User, admin: User, buyer: Contact, boiler: Product
) -> None:
    successor = make_product(admin, sku="BOIL2", name="Boiler 2", service_interval_days=730)
    catalog_services.update_product(admin, boiler, {"upgrade_to": successor})
    delivered_order(sales, contact=buyer, lines=[(boiler, 1)], order_date=TODAY() - timedelta(400))
    old = Asset.objects.get(product=boiler)

    delivered_order(sales, contact=buyer, lines=[(successor, 1)])

    old.refresh_from_db()
    new = Asset.objects.get(product=successor)
    assert old.replaced_by == new
    assert old.next_service_due is None  # no more reminders for the replaced unit
    upgrade = interactions(f"asset:{old.pk}:upgraded")
    assert [row.kind for row in upgrade] == ["upgrade"]
    assert upgrade[0].subject == "Upgraded Boiler to Boiler 2"


# --- deliveries --------------------------------------------------------------------------------


def test_ship_and_confirm_a_delivery(sales: User, buyer: Contact, boiler: Product) -> None:
    order = make_order(sales, contact=buyer, lines=[(boiler, 1)])
    delivery = services.ship_order(sales, order, carrier="DHL", tracking="JD0001")
    assert delivery.status == DeliveryStatus.SHIPPED
    shipped = interactions(f"delivery:{delivery.pk}:shipped")
    assert shipped[0].subject == f"Order {order.number} shipped with DHL (tracking JD0001)"

    services.confirm_delivery(sales, delivery)
    order.refresh_from_db()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert delivery.delivered_at is not None
    assert order.status == OrderStatus.DELIVERED
    assert Asset.objects.filter(order=order).count() == 1
    with pytest.raises(ValidationError):
        services.confirm_delivery(sales, delivery)
    with pytest.raises(ValidationError):
        services.ship_order(sales, order)


def test_a_failed_delivery_leaves_the_order_open(
    sales: User, buyer: Contact, boiler: Product
) -> None:
    order = make_order(sales, contact=buyer, lines=[(boiler, 1)])
    delivery = services.ship_order(sales, order)
    services.fail_delivery(sales, delivery, notes="Nobody home")
    order.refresh_from_db()
    assert order.status == OrderStatus.PLACED
    assert delivery.notes == "Nobody home"
    assert interactions(f"delivery:{delivery.pk}:failed")[0].body == "Nobody home"
    services.ship_order(sales, order)  # ship again


# --- installed base -----------------------------------------------------------------------------


def test_next_service_is_computed_from_the_latest_known_date(boiler: Product) -> None:
    bought = date(2025, 1, 10)
    assert services.next_service_due(boiler, bought_on=bought) == date(2026, 1, 10)
    assert services.next_service_due(
        boiler, bought_on=bought, installed_on=date(2025, 2, 1)
    ) == date(2026, 2, 1)
    assert services.next_service_due(
        boiler, bought_on=bought, installed_on=date(2025, 2, 1), last_serviced_on=date(2025, 9, 1)
    ) == date(2026, 9, 1)


def test_a_product_without_interval_has_no_next_service(admin: User) -> None:
    lamp = make_product(admin, name="Lamp")
    assert services.next_service_due(lamp, bought_on=date(2025, 1, 1)) is None


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (date(2025, 1, 31), 1, date(2025, 2, 28)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2025, 11, 15), 3, date(2026, 2, 15)),
        (date(2025, 5, 1), 24, date(2027, 5, 1)),
    ],
)
def test_add_months(start: date, months: int, end: date) -> None:
    assert services.add_months(start, months) == end


def test_record_service_moves_last_and_next_and_is_idempotent(
    service_user: User, buyer: Contact, boiler: Product
) -> None:
    bought = TODAY() - timedelta(days=500)
    asset = make_asset(service_user, product=boiler, contact=buyer, bought_on=bought)
    assert asset.next_service_due == bought + timedelta(days=365)

    visit = TODAY() - timedelta(days=2)
    services.record_service(service_user, asset, visit, "Replaced the gasket")
    services.record_service(service_user, asset, visit, "Replaced the gasket")  # retried

    asset.refresh_from_db()
    assert asset.last_serviced_on == visit
    assert asset.next_service_due == visit + timedelta(days=365)
    rows = interactions(f"asset:{asset.pk}:service:")
    assert len(rows) == 1
    assert rows[0].kind == "maintenance"
    assert rows[0].body == "Replaced the gasket"
    assert rows[0].contact == buyer

    # An older visit recorded afterwards keeps the latest one as "last".
    services.record_service(service_user, asset, visit - timedelta(days=100))
    asset.refresh_from_db()
    assert asset.last_serviced_on == visit
    assert len(interactions(f"asset:{asset.pk}:service:")) == 2
    with pytest.raises(ValidationError):
        services.record_service(service_user, asset, TODAY() + timedelta(days=1))


def test_update_asset_recomputes_unless_postponed(
    service_user: User, buyer: Contact, boiler: Product
) -> None:
    asset = make_asset(service_user, product=boiler, contact=buyer, bought_on=date(2025, 1, 1))
    services.update_asset(service_user, asset, {"installed_on": date(2025, 3, 1), "serial": " S1 "})
    asset.refresh_from_db()
    assert asset.serial == "S1"
    assert asset.next_service_due == date(2026, 3, 1)
    services.update_asset(service_user, asset, {"next_service_due": date(2026, 6, 1)})
    asset.refresh_from_db()
    assert asset.next_service_due == date(2026, 6, 1)
    with pytest.raises(ValidationError):
        services.update_asset(service_user, asset, {"installed_on": date(2024, 1, 1)})
    with pytest.raises(ValidationError):
        services.update_asset(service_user, asset, {"product": boiler})


def test_a_new_service_interval_reschedules_the_installed_base(
    admin: User, buyer: Contact, boiler: Product
) -> None:
    asset = make_asset(admin, product=boiler, contact=buyer, bought_on=date(2025, 1, 1))
    catalog_services.update_product(admin, boiler, {"service_interval_days": 180})
    asset.refresh_from_db()
    assert asset.next_service_due == date(2025, 6, 30)
    assert asset.history.first().history_change_reason == "Service interval of the product changed"


def test_services_are_not_assets(admin: User, buyer: Contact, installation: Product) -> None:
    with pytest.raises(ValidationError):
        make_asset(admin, product=installation, contact=buyer, bought_on=date(2025, 1, 1))


# --- permissions in services --------------------------------------------------------------------


def test_orders_follow_their_customers_visibility(
    sales: User, sales_south: User, marketing: User, service_user: User, boiler: Product
) -> None:
    south = make_contact(sales_south, owner=sales_south)
    with pytest.raises(ValidationError, match="No contact with id"):
        make_order(sales, contact=south, lines=[(boiler, 1)])
    order = make_order(sales_south, contact=south, lines=[(boiler, 1)])
    with pytest.raises(PermissionDenied):
        services.change_status(sales, order, "paid")
    with pytest.raises(PermissionDenied):
        services.change_status(marketing, order, "paid")  # the role does not change orders
    with pytest.raises(PermissionDenied):
        services.change_status(service_user, order, "paid")  # service: own team's customers


def test_service_records_visits_for_every_customer_it_sees(
    service_user: User, sales_south: User, boiler: Product, read_only: User
) -> None:
    south = make_contact(sales_south, owner=sales_south)
    asset = make_asset(sales_south, product=boiler, contact=south, bought_on=date(2025, 1, 1))
    services.record_service(service_user, asset, TODAY())
    with pytest.raises(PermissionDenied):
        services.record_service(read_only, asset, TODAY())


def test_company_only_orders_follow_the_company(
    sales: User, sales_south: User, boiler: Product
) -> None:
    south_company: Company = make_company(sales_south, name="South only", owner=sales_south)
    order = make_order(sales_south, company=south_company, lines=[(boiler, 1)])
    with pytest.raises(PermissionDenied):
        services.update_order(sales, order, {"notes": "x"})
    services.update_order(sales_south, order, {"notes": "mine"})
    assert timezone.now()


@pytest.mark.django_db(transaction=True)
def test_concurrent_orders_get_distinct_numbers(admin: User) -> None:
    """Four connections placing orders at once: every one gets its own next number."""
    import threading

    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so there is no race to lose")
    product = make_product(admin, sku="RACE", name="Race")
    contact = make_contact(admin, first_name="Racer")
    start = threading.Barrier(4)
    numbers: list[str] = []
    failures: list[BaseException] = []

    def place() -> None:
        try:
            start.wait()
            numbers.append(make_order(None, contact=contact, lines=[(product, 1)]).number)
        except BaseException as error:  # reported below, with the thread's own error
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=place) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    year = TODAY().year
    assert sorted(numbers) == [f"{year}-{n:06d}" for n in range(1, 5)]
