"""The main path through Rapport in a real browser: sign in, look around, search, sign out."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from playwright.sync_api import Page, expect

from rapport.users.models import User
from rapport.web import navigation
from tests.e2e.conftest import PHONE, BrowserLog


def sections_for(user: User) -> list[str]:
    """The navigation labels the user should see: the sections whose apps exist."""
    labels = [item.label for item in navigation.items_for(user)]
    assert {"Customers", "Companies", "Settings"} <= set(labels)
    return labels


def log_in(page: Page, email: str, password: str) -> None:
    page.goto("/")
    expect(page).to_have_url("/login?next=/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_label("User menu")).to_be_visible()  # the shell, at any width


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

    sidebar = page.get_by_role("navigation", name="Main")
    expect(sidebar.get_by_role("link")).to_have_text(sections_for(admin))
    # The navigation shows only what exists: every link opens a page.
    for link in sidebar.get_by_role("link").all():
        href = link.get_attribute("href") or ""
        assert page.request.get(href).status == 200, href

    sidebar.get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", name="Settings")).to_be_visible()
    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Users").click()
    expect(page).to_have_url("/settings/users/")
    for unset_filter in ("Role", "Team", "Active"):  # "Any", not Django's "---------"
        expect(page.get_by_label(unset_filter).locator("option:checked")).to_have_text("Any")
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
    expect(sidebar).to_be_hidden()
    screenshot(phone, "phone")
    phone.get_by_role("button", name="Menu").click()
    expect(sidebar).to_be_in_viewport(ratio=1)  # slid in all the way
    expect(sidebar.get_by_role("link")).to_have_text(sections_for(admin))
    screenshot(phone, "phone-navigation")

    assert browser_log.problems() == []
