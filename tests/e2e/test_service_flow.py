"""The service desk in a real browser: open a ticket from the contact page, reply, resolve."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from rapport.service.choices import Delivery, TicketStatus
from rapport.service.models import Ticket
from rapport.users.models import User
from tests.conftest import SmtpServer
from tests.customers.factories import make_contact
from tests.e2e.conftest import BrowserLog
from tests.e2e.test_smoke import log_in
from tests.service.factories import make_calendar, make_policy


def test_service_opens_a_ticket_replies_and_resolves_it(
    page: Page,
    admin: User,
    service_user: User,
    password: str,
    smtp_server: SmtpServer,
    browser_log: BrowserLog,
    screenshot: Callable[[Page, str], Path],
) -> None:
    make_policy(admin, calendar=make_calendar(admin))
    contact = make_contact(
        admin, first_name="Hanna", last_name="Heater", emails=["hanna@example.org"]
    )
    log_in(page, service_user.email, password)

    page.goto(f"/contacts/{contact.pk}/")
    panel = page.locator("#tickets-panel")
    expect(panel.get_by_text("No tickets.")).to_be_visible()
    panel.get_by_role("link", name="New ticket").click()
    expect(page.get_by_role("heading", name="New ticket")).to_be_visible()
    page.get_by_label("Subject").fill("Radiator stays cold")
    page.get_by_label("Description").fill("Since the last service visit.")
    page.get_by_role("button", name="Open ticket").click()

    ticket = Ticket.objects.get()
    expect(
        page.get_by_role("heading", name=f"{ticket.reference} Radiator stays cold")
    ).to_be_visible()
    expect(page.locator("#sla")).to_contain_text("First response")
    expect(page.locator("#ticket-status")).to_have_text("New")

    page.get_by_label("Message").fill("A technician comes tomorrow at 9.")
    page.get_by_role("button", name="Send").click()
    conversation = page.locator("#conversation")
    expect(conversation).to_contain_text("A technician comes tomorrow at 9.")
    expect(conversation).to_contain_text("e-mailed to hanna@example.org")
    assert [m["Subject"] for m in smtp_server.messages] == [
        f"[#{ticket.reference}] Radiator stays cold"
    ]
    assert ticket.messages.get().delivery == Delivery.SENT

    page.reload()
    page.get_by_role("button", name="Resolve").click()
    expect(page.get_by_text(f"Ticket {ticket.reference} is resolved.")).to_be_visible()
    expect(page.locator("#ticket-status")).to_have_text("Resolved")
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.RESOLVED
    assert ticket.resolved_at is not None

    page.goto(f"/contacts/{contact.pk}/")
    expect(page.locator("#tickets-panel")).to_contain_text(ticket.reference)
    screenshot(page, "service-contact-with-ticket")
    assert browser_log.problems() == []
