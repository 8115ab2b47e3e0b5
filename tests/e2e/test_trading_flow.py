"""The main trading flow in a real browser: order from the contact page, deliver, service."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

from playwright.sync_api import Page, expect

from rapport.trading.models import Asset, Order
from rapport.users.models import User
from tests.catalog.factories import make_product
from tests.customers.factories import make_contact
from tests.e2e.conftest import BrowserLog
from tests.e2e.test_smoke import log_in


def test_sales_orders_from_the_contact_page_delivers_and_services_the_unit(
    page: Page,
    admin: User,
    password: str,
    browser_log: BrowserLog,
    screenshot: Callable[[Page, str], Path],
) -> None:
    boiler = make_product(
        admin, sku="BOIL-E2E", name="Eco boiler", unit_price="2500.00", service_interval_days=365
    )
    contact = make_contact(admin, first_name="Petra", last_name="Pump", owner=admin)
    log_in(page, admin.email, password)
    navigation = page.get_by_role("navigation", name="Main")
    navigation.get_by_role("link", name="Products").click()
    expect(page.get_by_role("link", name="Eco boiler")).to_be_visible()
    navigation.get_by_role("link", name="Orders").click()
    expect(page.get_by_role("heading", name="Orders", exact=True)).to_be_visible()

    page.goto(f"/contacts/{contact.pk}/")
    panel = page.locator("#orders-panel")
    expect(panel.get_by_text("No orders yet.")).to_be_visible()
    panel.get_by_role("link", name="New order").click()
    expect(page.get_by_role("heading", name="New order")).to_be_visible()
    page.locator('select[name="lines-0-product"]').select_option(str(boiler.pk))
    page.locator('input[name="lines-0-quantity"]').fill("1")
    page.locator('input[name="lines-0-discount_percent"]').fill("10")
    page.get_by_role("button", name="Save order").click()
    order = Order.objects.get()
    expect(page.get_by_role("heading", name=f"Order {order.number}")).to_be_visible()
    expect(page.get_by_text("2250.00 EUR", exact=True)).to_be_visible()

    page.get_by_role("button", name="Delivered").click()
    expect(page.get_by_text("The order is delivered.")).to_be_visible()
    asset = Asset.objects.get()
    page.get_by_role("link", name=re.compile("Eco boiler")).first.click()
    expect(page).to_have_url(f"/assets/{asset.pk}/")
    page.get_by_label("Notes").last.fill("Checked the burner")
    page.get_by_role("button", name="Record service").click()
    expect(page.get_by_text("Service recorded.")).to_be_visible()

    page.goto(f"/contacts/{contact.pk}/")
    expect(page.locator("#orders-panel")).to_contain_text("Total spent: 2250.00 EUR")
    expect(page.locator("#assets-panel")).to_contain_text("service due")
    expect(page.get_by_text("Customer", exact=True).first).to_be_visible()
    screenshot(page, "trading-contact-with-orders")
    assert browser_log.problems() == []


def test_the_timeline_is_styled_and_opens_each_source(
    page: Page,
    admin: User,
    password: str,
    browser_log: BrowserLog,
    screenshot: Callable[[Page, str], Path],
) -> None:
    from rapport.trading import services

    boiler = make_product(admin, name="Timeline boiler", service_interval_days=365)
    contact = make_contact(admin, first_name="Tim", last_name="Line", owner=admin)
    order = services.create_order(
        admin,
        services.OrderInput(
            contact=contact, lines=[services.LineInput(boiler, Decimal(1))], currency="EUR"
        ),
    )
    log_in(page, admin.email, password)
    page.goto(f"/contacts/{contact.pk}/")

    entry = page.locator(".timeline-entry.kind-order").first
    expect(entry).to_be_visible()
    dot = entry.locator("svg").first
    # The stylesheet is loaded: the kind's icon is a round dot on the line.
    assert dot.evaluate("el => getComputedStyle(el).borderRadius") == "50%"
    assert dot.evaluate("el => getComputedStyle(el).position") == "absolute"
    page.locator(".timeline-composer > summary").click()
    when = page.locator('#timeline-composer input[type="datetime-local"]')
    assert when.evaluate("el => getComputedStyle(el).borderTopStyle") == "solid"
    screenshot(page, "timeline-contact")

    entry.get_by_role("link", name=re.compile("^Open")).click()
    expect(page).to_have_url(f"/orders/{order.pk}/")
    assert browser_log.problems() == []


def test_an_admin_restores_a_trashed_order(
    page: Page, admin: User, password: str, browser_log: BrowserLog
) -> None:
    from rapport.trading import services

    contact = make_contact(admin, first_name="Rita", last_name="Restore", owner=admin)
    order = services.create_order(
        admin,
        services.OrderInput(
            contact=contact,
            lines=[services.LineInput(make_product(admin, name="Kettle"), Decimal(1))],
            currency="EUR",
        ),
    )
    log_in(page, admin.email, password)
    page.goto(f"/orders/{order.pk}/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Move to trash").click()
    expect(page.get_by_text(f"{order} is in the trash.")).to_be_visible()

    page.get_by_role("link", name="Trash").click()
    row = page.locator(f"#trash-{order.pk}")
    expect(row).to_contain_text(order.number)
    row.get_by_role("button", name="Restore").click()
    expect(page.get_by_text(f"{order} is restored.")).to_be_visible()
    order.refresh_from_db()
    assert order.deleted_at is None
    assert browser_log.problems() == []
