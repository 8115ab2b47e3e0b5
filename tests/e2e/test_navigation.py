"""The navigation on a phone: a real button that opens and closes the sidebar it controls."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from rapport.users.models import User
from tests.e2e.conftest import PHONE, BrowserLog
from tests.e2e.test_smoke import log_in, sections_for


def test_the_menu_button_opens_and_closes_the_navigation_on_a_phone(
    new_page: Callable[..., Page],
    admin: User,
    password: str,
    browser_log: BrowserLog,
) -> None:
    phone = new_page(PHONE)
    log_in(phone, admin.email, password)
    menu = phone.get_by_role("button", name="Menu")
    sidebar = phone.get_by_role("navigation", name="Main")
    expect(menu).to_be_visible()
    expect(menu).to_have_attribute("aria-controls", "sidebar")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(phone.locator("#sidebar")).to_have_attribute("aria-label", "Main")
    expect(sidebar).to_be_hidden()

    # Click: opens; the links are in the tab order right after the button.
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(sidebar).to_be_in_viewport(ratio=1)
    expect(sidebar.get_by_role("link")).to_have_text(sections_for(admin))
    # Escape: closes, and the focus goes back to the button.
    phone.keyboard.press("Escape")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(sidebar).to_be_hidden()
    expect(menu).to_be_focused()

    # The keyboard works as on any button: Enter opens, Space closes.
    phone.keyboard.press("Enter")
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(sidebar).to_be_in_viewport(ratio=1)
    phone.keyboard.press("Space")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(sidebar).to_be_hidden()

    # A tap on the page beside the open navigation closes it.
    menu.click()
    expect(sidebar).to_be_in_viewport(ratio=1)
    phone.mouse.click(PHONE["width"] - 20, PHONE["height"] - 20)
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(sidebar).to_be_hidden()

    # Following a link: the next page starts with the navigation closed.
    menu.click()
    sidebar.get_by_role("link", name="Companies").click()
    expect(phone).to_have_url("/companies/")
    expect(phone.get_by_role("heading", name="Companies", exact=True)).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(sidebar).to_be_hidden()

    assert browser_log.problems() == []


def test_on_a_desktop_the_navigation_is_always_there(
    page: Page, admin: User, password: str, browser_log: BrowserLog
) -> None:
    log_in(page, admin.email, password)
    expect(page.get_by_role("navigation", name="Main")).to_be_in_viewport(ratio=1)
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    assert browser_log.problems() == []
