"""The marketing flow in a browser: build a segment, send to it, unsubscribe from the e-mail."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from rapport.customers.services import may_contact
from rapport.marketing.models import Campaign, Segment
from rapport.users.models import User
from tests.conftest import SmtpServer
from tests.customers.factories import make_contact
from tests.e2e.conftest import BrowserLog
from tests.e2e.test_smoke import log_in
from tests.marketing.factories import consent


def settled(page: Page) -> None:
    """Wait until htmx has swapped and wired the new editor (new inputs are live ~20 ms later)."""
    expect(page.locator(".htmx-request, .htmx-swapping, .htmx-settling")).to_have_count(0)


def test_marketing_builds_a_segment_sends_and_the_reader_unsubscribes(
    page: Page,
    new_page: Callable[..., Page],
    admin: User,
    marketing: User,
    password: str,
    smtp_server: SmtpServer,
    settings: Any,
    live_server: Any,
    browser_log: BrowserLog,
    screenshot: Callable[[Page, str], Path],
) -> None:
    settings.SITE_URL = live_server.url  # links in the e-mail lead to this server
    reader = make_contact(
        admin,
        first_name="Rita",
        emails=["rita@example.org"],
        lifecycle_stage="customer",
        tags=["vip"],
    )
    consent(reader)
    make_contact(admin, first_name="Vic", lifecycle_stage="customer")
    make_contact(admin, first_name="Lou", lifecycle_stage="lead", tags=["vip"])
    # In the segment, but never agreed to marketing e-mail: gets nothing.
    make_contact(admin, first_name="Nina", lifecycle_stage="customer", tags=["vip"])
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(page, marketing.email, password)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Segments").click()
    page.get_by_role("link", name="New segment").click()
    page.get_by_label("Name").fill("VIP customers")
    editor = page.locator("#rule-editor")
    # The first rule is "Lifecycle stage is Customer": three of four match.
    expect(editor.locator("[data-count]")).to_have_text("3")
    editor.get_by_role("button", name="Add rule").first.click()
    settled(page)
    new_rule = editor.locator('[data-path="r.1"]')
    new_rule.get_by_label("Rule kind").select_option("tag")
    expect(editor.locator('[data-path="r.1"]').get_by_label("Tag", exact=True)).to_be_visible()
    editor.locator('[data-path="r.1"]').get_by_label("Tag", exact=True).select_option("vip")
    settled(page)
    expect(editor.locator("[data-count]")).to_have_text("2")  # customer and vip
    editor.get_by_label("Match all or any (r)").select_option("or")
    settled(page)
    expect(editor.locator("[data-count]")).to_have_text("4")  # customer or vip
    editor.get_by_label("Match all or any (r)").select_option("and")
    settled(page)
    expect(editor.locator("[data-count]")).to_have_text("2")
    screenshot(page, "marketing-segment-editor")
    page.get_by_role("button", name="Save segment").click()
    segment = Segment.objects.get()
    expect(page.get_by_role("heading", name="VIP customers")).to_be_visible()
    expect(page.locator("#member-count")).to_have_text("2 contacts")

    page.get_by_role("link", name="New campaign to this segment").click()
    page.get_by_label("Name").fill("Spring news")
    page.get_by_label("Subject").fill("Spring news for {{ contact.first_name }}")
    page.locator('textarea[name="text_body"]').fill(
        "Hello {{ contact.first_name }}, spring is here."
    )
    page.get_by_role("button", name="Save campaign").click()
    campaign = Campaign.objects.get()
    assert campaign.segment == segment
    expect(page.locator("#will-receive")).to_have_text("1 with consent will receive it")
    expect(page.locator("#preview-subject")).to_have_text("Spring news for Nina")
    page.get_by_role("button", name="Send now").click()
    expect(page.get_by_text("Sending started.")).to_be_visible()
    page.reload()
    expect(page.locator("#campaign-status")).to_have_text("Sent")
    expect(page.locator('[data-figure="delivered"]')).to_have_text("1")

    assert [str(message["To"]) for message in smtp_server.messages] == ["rita@example.org"]
    link = re.search(r"Unsubscribe: (\S+)", smtp_server.bodies()[0])
    assert link is not None
    reader_page = new_page()  # the reader's own browser, not signed in
    reader_page.goto(link.group(1))
    expect(reader_page.get_by_text("Stop marketing e-mail to rita@example.org?")).to_be_visible()
    reader_page.get_by_role("button", name="Unsubscribe").click()
    expect(reader_page.get_by_role("heading", name="You are unsubscribed")).to_be_visible()
    assert not may_contact(reader, channel="email", purpose="marketing")

    page.reload()
    expect(page.locator('[data-figure="unsubscribed"]')).to_have_text("1")
    page.goto(f"/contacts/{reader.pk}/")
    expect(page.get_by_text("Unsubscribed from marketing e-mail (Spring news)")).to_be_visible()
    assert browser_log.problems() == []
