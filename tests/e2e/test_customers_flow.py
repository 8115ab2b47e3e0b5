"""The main customer flow in a real browser: company, contact, global search, lifecycle, history."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from rapport.customers.models import Company, Contact
from rapport.search import index
from rapport.users.models import User
from tests.e2e.conftest import PHONE, BrowserLog
from tests.e2e.test_smoke import log_in

COMPANY = "Quokka Roasters"
FIRST, LAST = "Octavia", "Brightwater"
FULL_NAME = f"{FIRST} {LAST}"
COMPANY_FIELD = re.compile(r"^Company:?$")  # not "Role at the company"


def search_result(page: Page, text: str) -> None:
    """Type into the top bar's search box as a person types, from an empty box.

    Waits until the results of an earlier search are gone, so that what shows next
    answers ``text`` and not the previous query.
    """
    search = page.get_by_role("searchbox", name="Search Rapport")
    if search.input_value():
        search.fill("")
        expect(page.locator("#global-search-results").get_by_role("link")).to_have_count(0)
    search.press_sequentially(text)


def test_admin_adds_a_company_and_a_contact_finds_them_and_moves_the_stage(
    page: Page,
    new_page: Callable[..., Page],
    admin: User,
    password: str,
    browser_log: BrowserLog,
    screenshot: Callable[[Page, str], Path],
) -> None:
    log_in(page, admin.email, password)
    navigation = page.get_by_role("navigation", name="Main")

    # A company, from the Companies list.
    navigation.get_by_role("link", name="Companies").click()
    expect(page.get_by_role("heading", name="Companies", exact=True)).to_be_visible()
    page.get_by_role("link", name="New company").click()
    expect(page.get_by_role("heading", name="New company")).to_be_visible()
    page.get_by_label("Name").fill(COMPANY)
    page.get_by_label("Domain").fill("quokka-roasters.example")
    page.get_by_label("Industry").fill("Coffee")
    page.get_by_role("button", name="Add company").click()
    expect(page.get_by_role("heading", name=COMPANY)).to_be_visible()
    expect(page.get_by_text(f"{COMPANY} is added.")).to_be_visible()
    company = Company.objects.get(name=COMPANY)
    expect(page).to_have_url(f"/companies/{company.pk}/")

    # A contact linked to it, from the contact list; the company picker suggests the name.
    navigation.get_by_role("link", name="Customers").click()
    page.get_by_role("link", name="New contact").click()
    expect(page.get_by_role("heading", name="New contact")).to_be_visible()
    page.get_by_label("First name").fill(FIRST)
    page.get_by_label("Last name").fill(LAST)
    page.get_by_label("E-mail").fill("octavia@quokka-roasters.example")
    page.get_by_label(COMPANY_FIELD).press_sequentially("Quok")
    expect(page.locator(f'#company-suggestions option[value="{COMPANY}"]')).to_have_count(1)
    page.get_by_label(COMPANY_FIELD).fill(COMPANY)
    page.get_by_label("Role at the company").fill("Head roaster")
    expect(page.get_by_label("Stage")).to_have_value("lead")
    page.get_by_role("button", name="Add contact").click()
    expect(page.get_by_role("heading", name=FULL_NAME)).to_be_visible()
    expect(page.get_by_text(f"{FULL_NAME} is added.")).to_be_visible()
    contact = Contact.objects.get(first_name=FIRST, last_name=LAST)
    assert list(contact.memberships.values_list("company__name", "role")) == [
        (COMPANY, "Head roaster")
    ]
    companies_card = page.locator(".card").filter(
        has=page.get_by_role("heading", name="Companies", exact=True)
    )
    expect(companies_card.get_by_role("link", name=COMPANY)).to_be_visible()

    # Global search from another page: a prefix, then a misspelt name.
    navigation.get_by_role("link", name="Companies").click()
    dropdown = page.locator("#global-search-results")
    search_result(page, LAST[:5])
    expect(dropdown.get_by_role("link", name=FULL_NAME)).to_be_visible()
    # The live server keeps the typo dictionary for a minute; start from what is saved now.
    index.forget_dictionary()
    search_result(page, "Octavai Brigthwater")
    expect(dropdown.get_by_role("link", name=FULL_NAME)).to_be_visible()
    screenshot(page, "search")
    dropdown.get_by_role("link", name=FULL_NAME).click()
    expect(page).to_have_url(f"/contacts/{contact.pk}/")
    expect(page.get_by_role("heading", name=FULL_NAME)).to_be_visible()

    # The lifecycle stage changes on the contact page and shows in the history.
    lifecycle = page.locator(".card").filter(has=page.get_by_role("heading", name="Lifecycle"))
    lifecycle.get_by_label("Stage").select_option(label="Customer")
    lifecycle.get_by_role("button", name="Change stage").click()
    expect(page.get_by_text("Stage is now Customer.")).to_be_visible()
    expect(page.locator(".record-head .badge").first).to_have_text("Customer")
    expect(lifecycle.get_by_role("listitem").first).to_contain_text("Lead → Customer")
    history = page.locator("#history")
    expect(history.get_by_role("heading", name="History")).to_be_visible()
    expect(history).to_contain_text(re.compile(r"lifecycle stage: lead → customer", re.I))
    contact.refresh_from_db()
    assert contact.lifecycle_stage == "customer"
    screenshot(page, "contact-desktop")

    # The contact list shows the new contact with its stage.
    navigation.get_by_role("link", name="Customers").click()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=FULL_NAME))
    expect(row).to_contain_text("Customer")
    expect(page.get_by_text("1 match", exact=True)).to_be_visible()
    screenshot(page, "list-desktop")

    # The same pages on a phone.
    phone = new_page(PHONE)
    log_in(phone, admin.email, password)
    phone.goto(f"/contacts/{contact.pk}/")
    expect(phone.get_by_role("heading", name=FULL_NAME)).to_be_visible()
    assert_fits_the_screen(phone)
    screenshot(phone, "contact-phone")
    phone.goto("/contacts/")
    expect(phone.get_by_role("link", name=FULL_NAME)).to_be_visible()
    assert_fits_the_screen(phone)
    screenshot(phone, "list-phone")
    # On a phone the search results use the screen's width, not the narrow search box's.
    search_result(phone, LAST[:5])
    phone_results = phone.locator("#global-search-results")
    expect(phone_results.get_by_role("link", name=FULL_NAME)).to_be_visible()
    box = phone_results.bounding_box()
    assert box is not None
    assert box["width"] >= PHONE["width"] - 32
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= PHONE["width"]
    screenshot(phone, "search-phone")

    assert browser_log.problems() == []


def assert_fits_the_screen(page: Page) -> None:
    """Nothing makes the whole page scroll sideways (wide tables scroll inside their box)."""
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page is {overflow}px wider than the screen"
