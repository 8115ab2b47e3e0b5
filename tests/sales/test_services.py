"""What the pipeline services do: deals, stage moves, winning, losing, next steps, targets."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from rapport.core.services import ConflictError
from rapport.customers.choices import LifecycleStage
from rapport.interactions.choices import InteractionKind
from rapport.interactions.models import Interaction
from rapport.reminders.models import Task
from rapport.sales import queries, services
from rapport.sales.choices import DealStatus, StageKind
from rapport.sales.models import Deal, Pipeline, SalesTarget, Stage, StageChange
from rapport.trading.choices import OrderStatus
from rapport.trading.models import Order
from rapport.users.models import User
from tests.catalog.factories import make_product, make_rate
from tests.customers.factories import make_company, make_contact
from tests.sales.factories import make_deal, stage

pytestmark = pytest.mark.django_db


def test_the_default_pipeline_exists_with_ordered_stages_and_probabilities() -> None:
    pipeline = services.default_pipeline()
    rows = list(pipeline.stages.order_by("position").values_list("name", "probability", "kind"))
    assert rows == [
        ("Qualification", 10, "open"),
        ("Needs analysis", 25, "open"),
        ("Proposal", 50, "open"),
        ("Negotiation", 75, "open"),
        ("Won", 100, "won"),
        ("Lost", 0, "lost"),
    ]
    assert Pipeline.objects.filter(is_default=True).count() == 1


def test_default_pipeline_is_created_on_first_use_when_missing() -> None:
    Pipeline.objects.all().delete()
    pipeline = services.default_pipeline()
    assert pipeline.is_default
    assert pipeline.stages.filter(kind=StageKind.WON).count() == 1


def test_a_new_deal_starts_in_the_first_stage_with_history_and_a_timeline_entry(
    sales: User,
) -> None:
    contact = make_contact(sales, owner=sales)
    deal = make_deal(sales, name="Heat pump", contact=contact, amount="2500.00")
    assert deal.stage.name == "Qualification"
    assert deal.status == DealStatus.OPEN
    assert deal.owner == sales
    assert deal.amount_base == Decimal("2500.00")
    change = StageChange.objects.get(deal=deal)
    assert (change.from_stage, change.to_stage.name, change.changed_by) == (
        None,
        "Qualification",
        sales,
    )
    entry = Interaction.objects.get(contact=contact, kind=InteractionKind.DEAL)
    assert "Heat pump" in entry.subject
    assert deal.history.count() == 1


def test_a_deal_needs_a_customer_a_name_and_a_close_date(sales: User) -> None:
    contact = make_contact(sales, owner=sales)
    with pytest.raises(ValidationError) as error:
        make_deal(sales, contact=None)
    assert "contact" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        make_deal(sales, contact=contact, name="  ")
    assert "name" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.create_deal(
            sales, services.DealInput(name="X", expected_close=None, contact=contact)
        )
    assert "expected_close" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        make_deal(sales, contact=contact, amount="-5")
    assert "amount" in error.value.message_dict
    assert not Deal.objects.exists()


def test_a_deal_in_another_currency_has_its_base_amount(sales: User) -> None:
    make_rate("USD", "0.90000000", date(2020, 1, 1))
    contact = make_contact(sales, owner=sales)
    deal = make_deal(sales, contact=contact, amount="1000.00", currency="usd")
    assert (deal.currency, deal.amount, deal.amount_base) == (
        "USD",
        Decimal("1000.00"),
        Decimal("900.00"),
    )


def test_lines_make_the_amount(sales: User, admin: User) -> None:
    boiler = make_product(admin, sku="B1", name="Boiler", unit_price="1200.00")
    contact = make_contact(sales, owner=sales)
    deal = make_deal(sales, contact=contact, lines=[(boiler, 2)])
    assert deal.amount == Decimal("2400.00")
    assert [line.line_total for line in deal.lines.all()] == [Decimal("2400.00")]
    services.update_deal(sales, deal, {}, lines=[services.LineInput(boiler, Decimal(1))])
    deal.refresh_from_db()
    assert deal.amount == Decimal("1200.00")


def test_moving_a_deal_records_who_when_from_and_to_and_the_timeline(sales: User) -> None:
    contact = make_contact(sales, owner=sales)
    deal = make_deal(sales, contact=contact)
    proposal = stage(position=2)
    move = services.move_deal(sales, deal, proposal)
    assert move.change is not None
    deal.refresh_from_db()
    assert deal.stage == proposal
    change = StageChange.objects.filter(deal=deal).order_by("-id").first()
    assert change is not None
    assert (change.from_stage.name, change.to_stage.name, change.changed_by) == (  # type: ignore[union-attr]
        "Qualification",
        "Proposal",
        sales,
    )
    subjects = list(
        Interaction.objects.filter(contact=contact, kind=InteractionKind.DEAL).values_list(
            "subject", flat=True
        )
    )
    assert any("Qualification → Proposal" in subject for subject in subjects)
    assert deal.history.first().history_change_reason == "Qualification → Proposal"


def test_losing_needs_a_reason_and_nothing_is_written_without_one(sales: User) -> None:
    deal = make_deal(sales, contact=make_contact(sales, owner=sales))
    lost = stage(StageKind.LOST)
    with pytest.raises(ValidationError) as error:
        services.move_deal(sales, deal, lost, lost_reason="  ")
    assert "lost_reason" in error.value.message_dict
    deal.refresh_from_db()
    assert deal.status == DealStatus.OPEN
    assert StageChange.objects.filter(deal=deal).count() == 1
    services.move_deal(sales, deal, lost, lost_reason="Too expensive")
    deal.refresh_from_db()
    assert (deal.status, deal.lost_reason, deal.closed_on) == (
        DealStatus.LOST,
        "Too expensive",
        timezone.localdate(),
    )


def test_winning_places_the_order_of_the_lines_and_makes_customers(
    sales: User, admin: User
) -> None:
    boiler = make_product(admin, sku="B1", name="Boiler", unit_price="1200.00")
    contact = make_contact(sales, owner=sales)
    company = make_company(sales, owner=sales)
    assert contact.lifecycle_stage == LifecycleStage.LEAD
    deal = make_deal(sales, contact=contact, company=company, lines=[(boiler, 2)])
    move = services.move_deal(sales, deal, stage(StageKind.WON), create_order=True)
    assert move.order is not None
    order = Order.objects.get()
    assert (order.status, order.total, order.contact, order.company) == (
        OrderStatus.PLACED,
        Decimal("2400.00"),
        contact,
        company,
    )
    assert [(line.product, line.quantity) for line in order.lines.all()] == [(boiler, Decimal(2))]
    deal.refresh_from_db()
    assert (deal.status, deal.order, deal.closed_on) == (
        DealStatus.WON,
        order,
        timezone.localdate(),
    )
    contact.refresh_from_db()
    company.refresh_from_db()
    assert contact.lifecycle_stage == LifecycleStage.CUSTOMER
    assert company.lifecycle_stage == LifecycleStage.CUSTOMER


def test_winning_without_order_still_makes_a_customer_and_an_order_needs_lines(
    sales: User,
) -> None:
    contact = make_contact(sales, owner=sales)
    deal = make_deal(sales, contact=contact)
    with pytest.raises(ValidationError) as error:
        services.move_deal(sales, deal, stage(StageKind.WON), create_order=True)
    assert "create_order" in error.value.message_dict
    contact.refresh_from_db()
    assert contact.lifecycle_stage == LifecycleStage.LEAD
    services.move_deal(sales, deal, stage(StageKind.WON))
    contact.refresh_from_db()
    assert contact.lifecycle_stage == LifecycleStage.CUSTOMER
    assert not Order.objects.exists()


def test_reopening_a_lost_deal_clears_the_close(sales: User) -> None:
    deal = make_deal(sales, contact=make_contact(sales, owner=sales))
    services.move_deal(sales, deal, stage(StageKind.LOST), lost_reason="Budget")
    services.move_deal(sales, deal, stage(position=1))
    deal.refresh_from_db()
    assert (deal.status, deal.closed_on, deal.lost_reason) == (DealStatus.OPEN, None, "")


def test_a_stage_of_another_pipeline_is_refused(sales: User, admin: User) -> None:
    deal = make_deal(sales, contact=make_contact(sales, owner=sales))
    other = services.create_pipeline(admin, "Partners")
    foreign = other.stages.order_by("position").first()
    assert foreign is not None
    with pytest.raises(ValidationError) as error:
        services.move_deal(sales, deal, foreign)
    assert "stage" in error.value.message_dict


def test_a_stale_version_is_a_conflict(sales: User) -> None:
    deal = make_deal(sales, contact=make_contact(sales, owner=sales))
    read = deal.version
    services.update_deal(sales, deal, {"name": "Renamed"})
    with pytest.raises(ConflictError):
        services.move_deal(
            sales, Deal.objects.get(pk=deal.pk), stage(position=1), expected_version=read
        )


def test_sales_cannot_change_another_teams_deal(sales: User, sales_south: User) -> None:
    deal = make_deal(sales_south, contact=make_contact(sales_south, owner=sales_south))
    with pytest.raises(PermissionDenied):
        services.move_deal(sales, deal, stage(position=1))
    with pytest.raises(PermissionDenied):
        services.update_deal(sales, deal, {"name": "Mine now"})


def test_a_deal_on_a_customer_the_actor_cannot_see_reads_as_missing(
    sales: User, sales_south: User
) -> None:
    hidden = make_contact(sales_south, owner=sales_south)
    with pytest.raises(ValidationError) as error:
        make_deal(sales, contact=hidden)
    assert error.value.message_dict["contact"] == [f"No contact with id {hidden.pk}."]


def test_next_step_becomes_a_task_linked_to_the_deal(sales: User) -> None:
    contact = make_contact(sales, owner=sales)
    deal = make_deal(sales, contact=contact)
    due = timezone.localdate() + timedelta(days=3)
    task = services.schedule_next_step(sales, deal, title="Send the quote", due_date=due)
    assert task.related_type == ContentType.objects.get_for_model(Deal)
    assert (task.related_id, task.assignee, task.contact, task.due_date) == (
        deal.pk,
        sales,
        contact,
        due,
    )
    deal.refresh_from_db()
    assert (deal.next_step, deal.next_step_due) == ("Send the quote", due)
    with pytest.raises(ValidationError):
        services.schedule_next_step(sales, deal, title=" ", due_date=due)
    assert Task.objects.count() == 1


def test_deals_without_activity_for_the_setting_days_are_stale(
    sales: User, settings: object
) -> None:
    contact = make_contact(sales, owner=sales)
    old = make_deal(sales, name="Old", contact=contact)
    fresh = make_deal(sales, name="Fresh", contact=contact)
    Deal.objects.filter(pk=old.pk).update(last_activity_at=timezone.now() - timedelta(days=20))
    old.refresh_from_db()
    assert old.is_stale(services.stale_days())
    assert not fresh.is_stale(services.stale_days())
    settings.SALES_STALE_DAYS = 30  # type: ignore[attr-defined]
    assert not old.is_stale(services.stale_days())
    services.update_deal(sales, old, {"next_step": "Call again"})
    old.refresh_from_db()
    settings.SALES_STALE_DAYS = 14  # type: ignore[attr-defined]
    assert not old.is_stale(services.stale_days())


def test_targets_are_set_by_managers_per_person_and_month(manager: User, sales: User) -> None:
    target = services.set_target(manager, sales, date(2026, 3, 17), Decimal("5000"))
    assert (target.month, target.amount) == (date(2026, 3, 1), Decimal("5000.00"))
    services.set_target(manager, sales, date(2026, 3, 1), Decimal("6000"))
    assert SalesTarget.objects.get().amount == Decimal("6000.00")
    with pytest.raises(PermissionDenied):
        services.set_target(sales, sales, date(2026, 4, 1), Decimal("1"))
    with pytest.raises(ValidationError):
        services.set_target(manager, sales, date(2026, 4, 1), Decimal("-1"))


def test_weighted_forecast_and_won_against_target(manager: User, sales: User) -> None:
    today = timezone.localdate()
    month = date(today.year, today.month, 1)
    contact = make_contact(sales, owner=sales)
    make_deal(sales, contact=contact, amount="1000.00", expected_close=month + timedelta(days=40))
    proposal = make_deal(
        sales, contact=contact, amount="2000.00", expected_close=month + timedelta(days=40)
    )
    services.move_deal(sales, proposal, stage(position=2))  # 50 %
    won = make_deal(sales, contact=contact, amount="3000.00")
    services.move_deal(sales, won, stage(StageKind.WON))
    services.set_target(manager, sales, month, Decimal("10000"))
    owners = {sales.pk: sales}
    months = queries.month_starts(month, 3)
    forecast = queries.weighted_pipeline(manager, months, owners)
    [row] = forecast.rows
    assert row.owner == sales
    assert row.cells[months[1]] == Decimal("1100.00")  # 10 % of 1000 + 50 % of 2000
    [target_row] = queries.won_against_target(manager, [month], owners)
    assert target_row.cells[month] == (Decimal("3000.00"), Decimal("10000.00"))


def test_admins_shape_pipelines_and_stages(admin: User, sales: User) -> None:
    pipeline = services.default_pipeline()
    with pytest.raises(PermissionDenied):
        services.add_stage(sales, pipeline, "Demo", 40)
    added = services.add_stage(admin, pipeline, "Demo", 40)
    names = list(pipeline.stages.order_by("position").values_list("name", flat=True))
    assert names.index("Demo") == names.index("Negotiation") + 1 < names.index("Won")
    services.update_stage(admin, added, {"probability": 60, "name": "Demo day"})
    added.refresh_from_db()
    assert (added.name, added.probability) == ("Demo day", 60)
    with pytest.raises(ValidationError):
        services.update_stage(admin, stage(StageKind.WON), {"probability": 80})
    with pytest.raises(ValidationError):
        services.remove_stage(admin, stage(StageKind.LOST))
    services.remove_stage(admin, added)
    assert not Stage.objects.filter(pk=added.pk).exists()
    used = stage(position=0)
    make_deal(admin, contact=make_contact(admin))
    with pytest.raises(ValidationError):
        services.remove_stage(admin, used)
    with pytest.raises(ValidationError):
        services.create_pipeline(admin, "Broken", [services.StageInput("Only", 10)])


def test_trash_and_restore(sales: User, admin: User) -> None:
    deal = make_deal(sales, contact=make_contact(sales, owner=sales))
    services.trash_deal(sales, deal)
    assert not queries.deals(sales).filter(pk=deal.pk).exists()
    with pytest.raises(PermissionDenied):
        services.restore_deal(sales, deal)
    services.restore_deal(admin, deal)
    assert queries.deals(sales).filter(pk=deal.pk).exists()


def test_others_involved_are_linked_and_see_the_deal_on_their_page(
    sales: User, sales_south: User
) -> None:
    buyer = make_contact(sales, owner=sales)
    boss = make_contact(sales, owner=sales)
    deal = make_deal(sales, contact=buyer, contacts=[boss, buyer, boss])
    assert list(deal.contacts.all()) == [boss]
    assert list(queries.deals_of(sales, boss)) == [deal]
    hidden = make_contact(sales_south, owner=sales_south)
    with pytest.raises(ValidationError) as error:
        services.update_deal(sales, deal, {"contacts": [hidden]})
    assert error.value.message_dict["contacts"] == [f"No contact with id {hidden.pk}."]
    services.update_deal(sales, deal, {"contacts": []})
    assert not deal.contacts.exists()
