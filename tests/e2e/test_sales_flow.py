"""The sales flow in a real browser: drag a deal to Won, the order and the customer follow."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.utils import timezone
from playwright.sync_api import Page, expect

from rapport.customers.choices import LifecycleStage
from rapport.sales import services
from rapport.trading.models import Order
from rapport.users.models import User
from tests.catalog.factories import make_product
from tests.customers.factories import make_contact
from tests.e2e.conftest import BrowserLog
from tests.e2e.test_smoke import log_in


def test_dragging_a_deal_to_won_places_the_order_and_makes_a_customer(
    page: Page,
    admin: User,
    password: str,
    browser_log: BrowserLog,
    screenshot: Callable[[Page, str], Path],
) -> None:
    boiler = make_product(admin, sku="BOIL-DEAL", name="Eco boiler", unit_price="2500.00")
    contact = make_contact(admin, first_name="Petra", last_name="Pump", owner=admin)
    assert contact.lifecycle_stage != LifecycleStage.CUSTOMER
    deal = services.create_deal(
        admin,
        services.DealInput(
            name="Petra's new boiler",
            expected_close=timezone.localdate() + timedelta(days=10),
            contact=contact,
            lines=[services.LineInput(boiler, Decimal(2))],
        ),
    )
    log_in(page, admin.email, password)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Deals").click()
    expect(page.get_by_role("heading", name="Deal board")).to_be_visible()
    card = page.locator(f"#deal-{deal.pk}")
    qualification = page.locator('section[data-name="Qualification"]')
    won = page.locator('section[data-name="Won"]')
    expect(qualification.locator(f"#deal-{deal.pk}")).to_be_visible()
    expect(qualification.locator(".column-totals")).to_contain_text("5000.00")
    expect(qualification.locator(".column-totals")).to_contain_text("500.00 weighted")

    card.drag_to(won)

    expect(won.locator(f"#deal-{deal.pk}")).to_be_visible()
    expect(page.get_by_text(f"{deal} is now in Won.")).to_be_visible()
    order = Order.objects.get(contact=contact)
    expect(page.get_by_text(f"{order} was placed.")).to_be_visible()
    screenshot(page, "sales-board-won")

    page.goto(f"/orders/{order.pk}/")
    expect(page.get_by_role("heading", name=f"Order {order.number}")).to_be_visible()
    expect(page.get_by_role("row", name="Total 5000.00 EUR", exact=True)).to_be_visible()
    page.goto(f"/contacts/{contact.pk}/")
    expect(page.locator("#deals-panel")).to_contain_text("Petra's new boiler")
    expect(page.get_by_text("Customer", exact=True).first).to_be_visible()
    contact.refresh_from_db()
    assert contact.lifecycle_stage == LifecycleStage.CUSTOMER
    assert browser_log.problems() == []


def test_the_stage_select_moves_a_deal_from_the_keyboard(
    page: Page, admin: User, password: str, browser_log: BrowserLog
) -> None:
    contact = make_contact(admin, first_name="Kai", last_name="Keys", owner=admin)
    deal = services.create_deal(
        admin,
        services.DealInput(
            name="Keyboard deal",
            expected_close=timezone.localdate() + timedelta(days=10),
            contact=contact,
            amount=Decimal("100.00"),
        ),
    )
    log_in(page, admin.email, password)
    page.goto("/deals/board/")
    page.get_by_label("Stage of Keyboard deal").select_option(label="Proposal")
    page.get_by_label("Stage of Keyboard deal").press("Tab")
    page.locator(f"#deal-{deal.pk}").get_by_role("button", name="Move").press("Enter")
    expect(
        page.locator('section[data-name="Proposal"]').locator(f"#deal-{deal.pk}")
    ).to_be_visible()
    assert browser_log.problems() == []
