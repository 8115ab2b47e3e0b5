"""In a real browser: an admin starts a rule from a shipped example and saves it."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from rapport.marketing.models import AutomationRule
from rapport.users.models import User
from tests.e2e.conftest import BrowserLog
from tests.e2e.test_smoke import log_in

pytestmark = pytest.mark.browser


def test_admin_starts_from_the_promoter_example(
    page: Page,
    admin: User,
    password: str,
    browser_log: BrowserLog,
) -> None:
    log_in(page, admin.email, password)
    page.goto("/automation/")
    examples = page.locator("#automation-examples")
    examples.get_by_role("link", name="Promoters become evangelists").click()
    expect(page.get_by_label("Name")).to_have_value("Promoters become evangelists")
    expect(page.get_by_label("Answered as")).to_have_value("promoter")
    page.get_by_role("button", name="Save rule").click()
    saved = page.get_by_role("table").first.get_by_role("link", name="Promoters become evangelists")
    expect(saved).to_be_visible()
    rule_ = AutomationRule.objects.get()
    assert rule_.trigger_params == {"answer_class": "promoter"}
    assert [action["type"] for action in rule_.actions] == ["change_stage", "create_task"]
    assert browser_log.problems() == []
