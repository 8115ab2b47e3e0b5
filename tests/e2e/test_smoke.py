"""The main path through Rapport in a real browser: sign in, look around, search, sign out."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from playwright.sync_api import Page, expect

from rapport.users.models import User
from tests.e2e.conftest import PHONE, BrowserLog

BUILT_SECTIONS = ["Customers", "Companies", "Settings"]
UNBUILT_SECTIONS = ["Deals", "Tickets", "Tasks", "Insights", "Campaigns"]


def log_in(page: Page, email: str, password: str) -> None:
    page.goto("/")
    expect(page).to_have_url("/login?next=/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()


def test_admin_signs_in_finds_a_colleague_and_signs_out(
    page: Page,
    new_page: Callable[..., Page],
    admin: User,
    sales: User,
    password: str,
    browser_log: BrowserLog,
    screenshot: Callable[[Page, str], Path],
) -> None:
    page.goto("/login")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    screenshot(page, "login")

    log_in(page, admin.email.upper(), password)
    # The Secure session cookie was accepted over http://localhost (a secure context).
    session = [c for c in page.context.cookies() if c["name"] == settings.SESSION_COOKIE_NAME]
    assert len(session) == 1
    assert session[0]["secure"]
    assert session[0]["httpOnly"]
    assert session[0]["sameSite"] == "Lax"

    navigation = page.get_by_role("navigation", name="Main")
    expect(navigation.get_by_role("link")).to_have_text(BUILT_SECTIONS)
    for section in UNBUILT_SECTIONS:
        expect(navigation.get_by_role("link", name=section)).to_have_count(0)

    navigation.get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", name="Settings")).to_be_visible()
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Users").click()
    expect(page).to_have_url("/settings/users/")
    me = page.get_by_role("row").filter(has_text=admin.email)
    expect(me).to_contain_text(admin.full_name)
    expect(me).to_contain_text("Admin")

    search = page.get_by_role("searchbox", name="Search Rapport")
    search.press_sequentially(sales.full_name[:3])
    dropdown = page.locator("#global-search-results")
    colleague = dropdown.get_by_role("link", name=sales.full_name)
    expect(colleague).to_be_visible()
    screenshot(page, "desktop")
    colleague.click()
    expect(page.get_by_role("heading", name=sales.full_name)).to_be_visible()

    page.get_by_label("User menu").click()
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url("/login")
    page.goto("/settings/")
    expect(page).to_have_url("/login?next=/settings/")

    phone = new_page(PHONE)
    log_in(phone, admin.email, password)
    sidebar = phone.get_by_role("navigation", name="Main")
    expect(sidebar).not_to_be_in_viewport()
    screenshot(phone, "phone")
    phone.get_by_label("Open navigation").click()
    expect(sidebar).to_be_in_viewport(ratio=1)  # slid in all the way
    expect(sidebar.get_by_role("link")).to_have_text(BUILT_SECTIONS)
    screenshot(phone, "phone-navigation")

    assert browser_log.problems() == []
