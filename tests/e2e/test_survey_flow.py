"""Satisfaction surveys in a real browser: answer from the e-mailed link, see it on the contact."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from rapport.customers.choices import LifecycleStage
from rapport.satisfaction import services
from rapport.satisfaction.models import Response
from rapport.users.models import User
from tests.conftest import SmtpServer
from tests.e2e.conftest import BrowserLog
from tests.e2e.test_smoke import log_in
from tests.satisfaction.factories import make_survey, surveyable_contact


def test_a_customer_answers_from_the_link_and_staff_see_it_on_the_contact(
    new_page: Callable[..., Page],
    admin: User,
    password: str,
    smtp_server: SmtpServer,
    browser_log: BrowserLog,
    screenshot: Callable[[Page, str], Path],
) -> None:
    survey = make_survey(admin, name="Would you recommend us?")
    contact = surveyable_contact(
        admin, first_name="Petra", last_name="Pump", lifecycle_stage=LifecycleStage.CUSTOMER
    )
    services.invite(admin, survey, [contact])  # sent at once: the test database commits
    link = re.search(r"http://\S+/survey/\S+/", smtp_server.bodies()[0])
    assert link is not None
    path = "/" + link.group(0).split("/", 3)[3]

    customer = new_page()
    customer.goto(path)
    expect(customer.get_by_role("heading", name="Would you recommend us?")).to_be_visible()
    expect(customer.get_by_text("Hello Petra,")).to_be_visible()
    expect(customer.get_by_text("Pump")).to_have_count(0)
    screenshot(customer, "survey-form")
    customer.get_by_label("9", exact=True).check()
    customer.get_by_label("What is the main reason for your score?").fill("Quick and friendly")
    customer.get_by_role("button", name="Send my answer").click()
    expect(customer.get_by_role("heading", name="Thank you!")).to_be_visible()
    screenshot(customer, "survey-answered")
    customer.goto(path)
    expect(customer.get_by_text("This survey was already answered.")).to_be_visible()
    assert Response.objects.get().score == 9

    staff = new_page()
    log_in(staff, admin.email, password)
    staff.get_by_role("navigation", name="Main").get_by_role("link", name="Surveys").click()
    expect(staff.get_by_role("heading", name="Surveys", exact=True)).to_be_visible()
    staff.goto(f"/contacts/{contact.pk}/")
    panel = staff.locator("#satisfaction-panel")
    expect(panel).to_contain_text("Promoter")
    expect(panel).to_contain_text("9 of 10")
    expect(panel).to_contain_text("Quick and friendly")
    expect(staff.get_by_text("Would you recommend us?: Promoter (9 of 10)")).to_be_visible()
    panel.get_by_role("button", name="Mark as evangelist").click()
    expect(staff.get_by_text("Petra Pump is now an evangelist.")).to_be_visible()
    screenshot(staff, "survey-on-contact")

    staff.goto(f"/surveys/{survey.pk}/")
    expect(staff.get_by_role("heading", name="NPS: 100")).to_be_visible()
    expect(staff.locator("#survey-values .main-svg").first).to_be_visible()
    screenshot(staff, "survey-report")
    assert browser_log.problems() == []
