"""The Insights page in a real browser: the charts are drawn, not just present."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from django.utils import timezone
from playwright.sync_api import Page, expect

from rapport.insights import services
from rapport.insights.models import CustomerScore
from rapport.users.models import User
from tests.catalog.factories import make_product
from tests.customers.factories import make_contact
from tests.e2e.conftest import BrowserLog
from tests.e2e.test_smoke import log_in
from tests.trading.factories import make_order


def test_insights_page_draws_its_charts_and_opens_a_customer(
    page: Page,
    admin: User,
    password: str,
    browser_log: BrowserLog,
    screenshot: Callable[[Page, str], Path],
) -> None:
    rng = random.Random(3)
    product = make_product(admin, name="Filter", unit_price="40.00")
    today = timezone.localdate()
    for i in range(30):
        person = make_contact(admin, first_name=f"Buyer{i}", owner=admin)
        day = today - timedelta(days=rng.randint(150, 400))
        while day < today:
            make_order(admin, contact=person, lines=[(product, rng.randint(1, 4))], order_date=day)
            day += timedelta(days=rng.randint(20, 120 + i * 5))
    services.refresh_scores()
    log_in(page, admin.email, password)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Insights").click()
    expect(page.get_by_role("heading", name="Customers by recency and value (RFM)")).to_be_visible()
    for chart in ("#value-chart", "#alive-chart", "#holdout-chart"):
        drawn = page.locator(f"{chart} svg.main-svg").first
        expect(drawn).to_be_visible()
        box = drawn.bounding_box()
        assert box is not None
        # The site's icon rule (svg 20x20) once shrank every chart to nothing.
        assert box["width"] > 200, chart
        assert box["height"] > 200, chart
    bars = page.locator("#value-chart g.point path")
    assert bars.count() > 0
    screenshot(page, "insights")
    scored = CustomerScore.objects.order_by("-lifetime_value").first()
    assert scored is not None
    page.goto(f"/contacts/{scored.contact_id}/")
    expect(page.locator("#insights")).to_contain_text("Lifetime value")
    assert browser_log.problems() == []
