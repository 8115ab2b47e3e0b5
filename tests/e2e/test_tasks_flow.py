"""The main task flow in a real browser: quick add, complete in place, the customer panel."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from django.utils import timezone
from playwright.sync_api import Page, expect

from rapport.reminders.models import Task
from rapport.users.models import User
from tests.customers.factories import make_contact
from tests.e2e.conftest import BrowserLog
from tests.e2e.test_smoke import log_in


def test_sales_adds_a_task_completes_it_in_place_and_adds_one_on_a_contact(
    page: Page,
    sales: User,
    password: str,
    browser_log: BrowserLog,
    screenshot: Callable[[Page, str], Path],
) -> None:
    contact = make_contact(sales, first_name="Greta", last_name="Garbo", owner=sales)
    log_in(page, sales.email, password)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Tasks").click()
    expect(page.get_by_role("heading", name="My day")).to_be_visible()

    # Quick add: the day is swapped in by htmx, the new task under "Today".
    page.get_by_label("Title").fill("Call the supplier")
    page.get_by_label("Due date").fill(timezone.localdate().isoformat())
    page.get_by_role("button", name="Add task").click()
    today = page.locator("#tasks-today")
    expect(today.get_by_role("link", name="Call the supplier")).to_be_visible()
    expect(page.get_by_label("Title")).to_have_value("")
    task = Task.objects.get(title="Call the supplier")

    # Done in place: the row turns into a done row with "Reopen", no page load.
    page.evaluate("window.noReload = true")
    today.get_by_role("button", name="Mark “Call the supplier” done").click()
    expect(today.get_by_role("button", name="Reopen “Call the supplier”")).to_be_visible()
    assert page.evaluate("window.noReload") is True
    task.refresh_from_db()
    assert task.done_by == sales
    screenshot(page, "my-day")

    # The contact's Tasks panel: quick add there links the task to the contact.
    page.goto(f"/contacts/{contact.pk}/")
    panel = page.locator("#tasks-panel")
    panel.get_by_label("New task").fill("Send Greta the brochure")
    panel.get_by_label("Due").fill("2027-01-05")
    panel.get_by_role("button", name="Add").click()
    expect(panel.get_by_role("link", name="Send Greta the brochure")).to_be_visible()
    assert Task.objects.get(title="Send Greta the brochure").contact == contact
    screenshot(page, "contact-panel")
    assert browser_log.problems() == []
