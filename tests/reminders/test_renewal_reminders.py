"""Renewal reminders, and what a unit's page says about its reminders.

Renewals go through the same mechanism as service and warranty reminders
(planned once per date, consent checked when sending, retried, on the
timeline), so these tests prove the renewal date reaches it, not the
mechanism again (tests/reminders/test_service_reminders.py does).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone

from rapport.catalog.models import Product
from rapport.core.permissions import Role
from rapport.customers.models import Contact
from rapport.interactions.choices import InteractionKind
from rapport.interactions.models import Interaction
from rapport.reminders import outreach
from rapport.reminders.models import ServiceReminder
from rapport.reminders.outreach_choices import ReminderKind, ReminderStatus
from rapport.trading import services as trading_services
from rapport.trading.models import Asset
from rapport.users.models import User
from tests.catalog.factories import make_product
from tests.conftest import SmtpServer
from tests.reminders.test_service_reminders import (
    RETRIERS,
    age_retry,
    consenting,
    only_reminder,
    subject_of,
)
from tests.trading.factories import delivered_order, make_asset

pytestmark = pytest.mark.django_db

ALL_ROLES = list(Role)


def monitoring(**extra: Any) -> Product:
    """A unit sold with a yearly contract and no service interval."""
    return make_product(None, name="Remote monitoring hub", renewal_months=12, **extra)


def renewing_in(days: int, product: Product, contact: Contact) -> Asset:
    today = timezone.localdate()
    return make_asset(
        None,
        product=product,
        contact=contact,
        bought_on=today - timedelta(days=300),
        renewal_on=today + timedelta(days=days),
    )


# --- the date ----------------------------------------------------------------------------


def test_a_delivered_unit_renews_one_product_term_after_installation() -> None:
    customer = consenting()
    product = monitoring()
    order = delivered_order(
        None, contact=customer, lines=[(product, 1)], on=date(2025, 1, 31)
    )  # a month's last day: the term ends on the last day of a shorter month too
    (asset,) = Asset.objects.filter(order=order)
    assert asset.renewal_on == date(2026, 1, 31)
    assert trading_services.renewal_on(make_product(None, renewal_months=1), date(2025, 1, 31)) == (
        date(2025, 2, 28)
    )


def test_a_unit_added_by_hand_renews_a_term_after_purchase_unless_given() -> None:
    customer = consenting()
    product = monitoring()
    bought = timezone.localdate() - timedelta(days=30)
    computed = make_asset(None, product=product, contact=customer, bought_on=bought)
    given = make_asset(
        None, product=product, contact=customer, bought_on=bought, renewal_on=date(2030, 6, 1)
    )
    without = make_asset(None, product=make_product(None), contact=customer, bought_on=bought)

    assert computed.renewal_on == trading_services.add_months(bought, 12)
    assert given.renewal_on == date(2030, 6, 1)
    assert without.renewal_on is None


def test_the_product_term_is_validated_and_shown(admin: User, client_for: Any) -> None:
    from django.core.exceptions import ValidationError

    from rapport.catalog import services as catalog_services

    product = monitoring()
    with pytest.raises(ValidationError) as refused:
        catalog_services.update_product(admin, product, {"renewal_months": 0})
    assert "renewal_months" in refused.value.message_dict
    page = client_for(admin).get(f"/products/{product.pk}/")
    assert b'name="renewal_months"' in page.content
    assert b'value="12"' in page.content


def test_a_service_has_no_renewal_term() -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        make_product(None, kind="service", renewal_months=12)
    assert "renewal_months" in refused.value.message_dict


def test_units_are_found_by_renewal_date(admin: User, api_for: Any, client_for: Any) -> None:
    customer = consenting()
    soon = renewing_in(20, monitoring(), customer)
    later = renewing_in(200, monitoring(), customer)
    by = (timezone.localdate() + timedelta(days=30)).isoformat()
    found = api_for(admin).get(f"/api/v1/assets?renews_before={by}").json()["results"]
    assert [row["id"] for row in found] == [soon.pk]
    page = client_for(admin).get(f"/assets/?renews_before={by}").content.decode()
    assert f"/assets/{soon.pk}/" in page
    assert f"/assets/{later.pk}/" not in page
    for sort in ("renewal_on", "-renewal_on"):
        listed = client_for(admin).get(f"/assets/?sort={sort}")
        html = listed.content.decode()
        assert listed.status_code == 200
        first, second = html.index(f"/assets/{soon.pk}/"), html.index(f"/assets/{later.pk}/")
        assert (first < second) is (sort == "renewal_on")


def test_the_renewal_date_is_edited_on_the_unit(admin: User, client_for: Any) -> None:
    asset = renewing_in(100, monitoring(), consenting())
    browser = client_for(admin)
    page = browser.get(f"/assets/{asset.pk}/")
    assert b'name="renewal_on"' in page.content
    data = {
        "serial": asset.serial,
        "bought_on": asset.bought_on.isoformat(),
        "renewal_on": "2031-03-01",
        "notes": "",
        "version": asset.version,
    }
    browser.post(f"/assets/{asset.pk}/edit/", data)
    asset.refresh_from_db()
    assert asset.renewal_on == date(2031, 3, 1)


def test_the_api_reads_and_writes_the_renewal_date(admin: User, api_for: Any) -> None:
    asset = renewing_in(100, monitoring(), consenting())
    api = api_for(admin)
    read = api.get(f"/api/v1/assets/{asset.pk}")
    assert read.json()["renewal_on"] == asset.renewal_on.isoformat()  # type: ignore[union-attr]
    changed = api.patch(
        f"/api/v1/assets/{asset.pk}",
        {"renewal_on": "2031-03-01"},
        format="json",
        HTTP_IF_MATCH=read["ETag"],
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["renewal_on"] == "2031-03-01"


# --- the e-mail --------------------------------------------------------------------------


def test_a_renewal_in_the_window_is_emailed_once_and_logged(smtp_server: SmtpServer) -> None:
    customer = consenting()
    asset = renewing_in(12, monitoring(), customer)

    first = outreach.run_daily()
    second = outreach.run_daily()

    assert (first["sent"], second["sent"]) == (1, 0)
    (message,) = smtp_server.messages
    assert message["To"] == customer.email
    assert "renewal" in subject_of(message).lower()
    assert "Remote monitoring hub" in subject_of(message)
    assert f"{asset.renewal_on:%-d %B %Y}" in smtp_server.bodies()[0]
    reminder = only_reminder()
    assert (reminder.kind, reminder.due_date, reminder.status) == (
        ReminderKind.RENEWAL,
        asset.renewal_on,
        ReminderStatus.SENT,
    )
    entry = Interaction.objects.get(contact=customer, kind=InteractionKind.REMINDER)
    assert entry.subject == subject_of(message)


def test_no_renewal_email_without_service_consent(smtp_server: SmtpServer) -> None:
    renewing_in(12, monitoring(), consenting(granted=False))
    outreach.run_daily()
    assert smtp_server.messages == []
    assert only_reminder().status == ReminderStatus.SKIPPED


def test_a_refused_renewal_is_retried(smtp_server: SmtpServer) -> None:
    renewing_in(12, monitoring(), consenting())
    smtp_server.refuse = True
    outreach.run_daily()
    reminder = only_reminder()
    assert (reminder.status, reminder.attempts) == (ReminderStatus.PENDING, 1)
    assert reminder.last_error

    smtp_server.refuse = False
    age_retry(reminder)
    outreach.deliver_due()
    assert only_reminder().status == ReminderStatus.SENT
    assert len(smtp_server.messages) == 1


def test_a_renewal_moved_meanwhile_is_not_sent_for_the_old_date(smtp_server: SmtpServer) -> None:
    asset = renewing_in(12, monitoring(), consenting())
    outreach.plan_reminders()
    trading_services.update_asset(None, asset, {"renewal_on": date(2040, 1, 1)})
    outreach.deliver_due()
    assert smtp_server.messages == []
    assert "date moved" in only_reminder().skip_reason


def test_the_renewal_email_is_edited_like_the_others(
    admin: User, client_for: Any, smtp_server: SmtpServer
) -> None:
    kinds = [template.kind for template in outreach.templates_in_use()]
    assert ReminderKind.RENEWAL in kinds
    browser = client_for(admin)
    assert (
        b"/settings/reminder-emails/renewal/" in browser.get("/settings/reminder-emails/").content
    )
    form = browser.get("/settings/reminder-emails/renewal/")
    assert form.status_code == 200
    assert b"no date to send this kind" not in form.content
    template = outreach.template_for(ReminderKind.RENEWAL)
    saved = browser.post(
        "/settings/reminder-emails/renewal/",
        {
            "subject": "Time to renew {{ product.name }} ({{ asset.renewal_on|date:'Y-m-d' }})",
            "body": "Hello {{ contact.first_name }}, it renews on {{ due_date }}.",
            "booking_url": "",
            "booking_phone": "",
            "version": template.version,
        },
    )
    assert saved.status_code == 302
    asset = renewing_in(12, monitoring(), consenting())
    outreach.run_daily()
    assert subject_of(smtp_server.messages[0]) == (
        f"Time to renew Remote monitoring hub ({asset.renewal_on:%Y-%m-%d})"
    )


# --- the unit's page ---------------------------------------------------------------------


@pytest.mark.parametrize("role", ALL_ROLES)
def test_the_unit_page_shows_each_reminder_state(
    role: str, user_of_role: Any, client_for: Any, settings: Any
) -> None:
    settings.SERVICE_REMINDER_DAYS_AHEAD = 30
    today = timezone.localdate()
    customer = consenting()
    product = make_product(None, name="Heat pump", service_interval_days=365, renewal_months=12)
    asset = make_asset(
        None,
        product=product,
        contact=customer,
        bought_on=today - timedelta(days=355),  # service due in 10 days: planned
        renewal_on=today + timedelta(days=90),  # not in the window yet
        warranty_end=today - timedelta(days=1),  # over: nothing to remind of
    )
    outreach.plan_reminders()
    ServiceReminder.objects.update(
        status=ReminderStatus.FAILED, attempts=5, last_error="550 mailbox unavailable"
    )
    failed = only_reminder()

    page = client_for(user_of_role(role)).get(f"/assets/{asset.pk}/")

    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="reminders"' in html
    assert f"Service due {asset.next_service_due:%Y-%m-%d}" in html
    assert "Failed" in html
    assert html.count("Last error: 550 mailbox unavailable") == 1  # not again under "Earlier"
    assert f"Renewal {asset.renewal_on:%Y-%m-%d}" in html
    planned_from = asset.renewal_on - timedelta(days=30)  # type: ignore[operator]
    assert f"E-mail planned from {planned_from:%Y-%m-%d}" in html
    assert "Warranty ends" not in html
    retry = f"/reminders/{failed.pk}/retry/"
    assert (retry in html) is (role in RETRIERS)


def test_the_unit_page_says_when_a_reminder_is_being_retried(
    admin: User, client_for: Any, smtp_server: SmtpServer
) -> None:
    asset = renewing_in(12, monitoring(), consenting())
    smtp_server.refuse = True
    outreach.run_daily()
    reminder = only_reminder()

    html = client_for(admin).get(f"/assets/{asset.pk}/").content.decode()

    assert "Retrying" in html
    assert f"next try {timezone.localtime(reminder.next_attempt_at):%Y-%m-%d %H:%M}" in html
    assert "Last error:" in html


def test_a_sent_reminder_links_from_the_timeline_to_its_unit(
    admin: User, client_for: Any, smtp_server: SmtpServer
) -> None:
    customer = consenting()
    asset = renewing_in(12, monitoring(), customer)
    outreach.run_daily()
    html = client_for(admin).get(f"/contacts/{customer.pk}/").content.decode()
    assert f'href="/assets/{asset.pk}/#reminders"' in html
    sent = client_for(admin).get(f"/assets/{asset.pk}/").content.decode()
    assert f"to {customer.email}" in sent


def test_the_customer_reminders_page_is_in_the_navigation(
    admin: User, read_only: User, client_for: Any
) -> None:
    for user in (admin, read_only):
        page = client_for(user).get("/reminders/")
        assert b'href="/reminders/"' in page.content
        assert b"Customer reminders" in page.content


def test_people_without_reminders_see_no_reminder_card(
    client_for: Any, admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rapport.reminders import outreach_queries

    asset = renewing_in(12, monitoring(), consenting())
    monkeypatch.setattr(outreach_queries, "can", lambda *args: False)
    page = client_for(admin).get(f"/assets/{asset.pk}/")
    assert page.status_code == 200
    assert b'id="reminders"' not in page.content


def test_the_unit_page_costs_the_same_with_a_long_reminder_past(
    admin: User, client_for: Any
) -> None:
    from tests.customers.test_query_counts import queries_of

    asset = renewing_in(12, monitoring(), consenting())
    browser = client_for(admin)

    def past(count: int, offset: int) -> None:
        for number in range(count):
            ServiceReminder.objects.create(
                asset=asset,
                kind=ReminderKind.SERVICE,
                due_date=date(2020, 1, 1) + timedelta(days=offset + number),
                status=ReminderStatus.SENT,
            )

    def page() -> Any:
        return browser.get(f"/assets/{asset.pk}/")

    past(1, 0)
    few, _ = queries_of(page)
    past(20, 100)
    many, _ = queries_of(page)
    assert many == few
    assert "All reminders of this unit" in page().content.decode()
