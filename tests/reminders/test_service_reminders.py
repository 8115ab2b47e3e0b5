"""Customer reminders (service due, warranty end, renewal) against a real SMTP server.

Sent exactly once, only with consent to service e-mails, retried with back-off
when the mail server says no, never twice when two runs race, on the timeline
once; the list page and the API per role; the admins' e-mail editor.
"""

from __future__ import annotations

import socket
import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from rapport.catalog.models import Product
from rapport.core.permissions import Role
from rapport.customers import services as customer_services
from rapport.customers.choices import ConsentChannel, ConsentPurpose
from rapport.customers.models import Company, Contact
from rapport.interactions.choices import InteractionKind
from rapport.interactions.models import Interaction
from rapport.reminders import outreach
from rapport.reminders.models import ReminderTemplate, ServiceReminder
from rapport.reminders.outreach_choices import ReminderKind, ReminderStatus
from rapport.trading import services as trading_services
from rapport.trading.models import Asset
from rapport.users.models import User
from tests.catalog.factories import make_product
from tests.conftest import SmtpServer
from tests.customers.factories import make_company, make_contact
from tests.customers.test_query_counts import queries_of
from tests.trading.factories import make_asset

pytestmark = pytest.mark.django_db

DUE_IN = 10  # days: inside the default 30-day window
ALL_ROLES = list(Role)
RETRIERS = {Role.ADMIN, Role.MANAGER}


# --- builders -------------------------------------------------------------------------


def boiler(**extra: Any) -> Product:
    return make_product(
        None, name="Condensing boiler 24 kW", sku=None, service_interval_days=365, **extra
    )


def consenting(owner: User | None = None, *, granted: bool = True, **extra: Any) -> Contact:
    contact = make_contact(None, first_name="Clara", last_name="Customer", owner=owner, **extra)
    customer_services.set_consent(
        None,
        contact,
        channel=ConsentChannel.EMAIL,
        purpose=ConsentPurpose.SERVICE,
        granted=granted,
        source="service contract",
    )
    return contact


def unit_due(
    product: Product,
    *,
    in_days: int = DUE_IN,
    contact: Contact | None = None,
    company: Company | None = None,
    serial: str = "SN-1",
) -> Asset:
    """A unit whose next service is ``in_days`` from today (warranty long over)."""
    today = timezone.localdate()
    bought = today - timedelta(days=365 - in_days)
    asset = make_asset(
        None,
        product=product,
        contact=contact,
        company=company,
        bought_on=bought,
        serial=serial,
        warranty_end=bought + timedelta(days=1),
    )
    assert asset.next_service_due == today + timedelta(days=in_days)
    return asset


def subject_of(message: Any) -> str:
    """The Subject header unfolded (long headers arrive split over lines)."""
    return " ".join(str(message["Subject"]).split())


def only_reminder() -> ServiceReminder:
    return ServiceReminder.objects.get()


def age_retry(reminder: ServiceReminder) -> None:
    """The back-off has passed (the clock moves on; no waiting in tests)."""
    ServiceReminder.objects.filter(pk=reminder.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


@pytest.fixture
def product(db: None) -> Product:
    return boiler()


@pytest.fixture
def customer(db: None) -> Contact:
    return consenting()


# --- sent exactly once ----------------------------------------------------------------


def test_a_due_service_is_emailed_once_with_product_date_and_how_to_book(
    smtp_server: SmtpServer, product: Product, customer: Contact
) -> None:
    asset = unit_due(product, contact=customer, serial="B-778")
    template = outreach.template_for(ReminderKind.SERVICE)
    outreach.update_template(
        None,
        template,
        outreach.TemplateInput(
            subject=template.subject,
            body=template.body,
            booking_url="https://book.example.com/service",
            booking_phone="+49 30 1234567",
        ),
    )

    first = outreach.run_daily()
    second = outreach.run_daily()

    assert (first["sent"], second["sent"]) == (1, 0)
    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    due = asset.next_service_due
    assert due is not None
    assert message["To"] == customer.email
    assert "Condensing boiler 24 kW" in message["Subject"]
    body = smtp_server.bodies()[0]
    assert f"{due:%-d %B %Y}" in body
    assert "B-778" in body
    assert "https://book.example.com/service" in body
    assert "+49 30 1234567" in body
    assert "Hello Clara," in body
    reminder = only_reminder()
    assert (reminder.kind, reminder.due_date, reminder.status) == (
        ReminderKind.SERVICE,
        due,
        ReminderStatus.SENT,
    )
    assert (reminder.attempts, reminder.recipient, reminder.contact) == (
        1,
        customer.email,
        customer,
    )
    assert reminder.message_id == message["Message-ID"]
    assert reminder.claim_token is None


def test_the_timeline_entry_is_written_once(
    smtp_server: SmtpServer, product: Product, customer: Contact
) -> None:
    unit_due(product, contact=customer)
    outreach.run_daily()
    outreach.run_daily()
    reminder = only_reminder()

    entries = Interaction.objects.filter(contact=customer, kind=InteractionKind.REMINDER)
    assert entries.count() == 1
    entry = entries.get()
    assert reminder.interaction_id == entry.pk
    assert entry.channel == "email"
    assert entry.direction == "outbound"
    assert entry.subject == subject_of(smtp_server.messages[0])
    assert entry.dedupe_key == f"service-reminder:{reminder.pk}"


def test_a_warranty_end_in_the_window_is_its_own_reminder(
    smtp_server: SmtpServer, customer: Contact
) -> None:
    no_service = make_product(None, name="Solar panel")
    today = timezone.localdate()
    make_asset(
        None,
        product=no_service,
        contact=customer,
        bought_on=today - timedelta(days=700),
        warranty_end=today + timedelta(days=20),
    )
    outreach.run_daily()
    reminder = only_reminder()
    assert (reminder.kind, reminder.due_date, reminder.status) == (
        ReminderKind.WARRANTY,
        today + timedelta(days=20),
        ReminderStatus.SENT,
    )
    assert "warranty" in subject_of(smtp_server.messages[0]).lower()


def test_only_dates_inside_the_window_are_planned(
    settings: Any, product: Product, customer: Contact
) -> None:
    settings.SERVICE_REMINDER_DAYS_AHEAD = 14
    inside = unit_due(product, contact=customer, in_days=14, serial="in")
    unit_due(product, contact=customer, in_days=15, serial="later")
    unit_due(product, contact=customer, in_days=-1, serial="overdue")
    replaced = unit_due(product, contact=customer, in_days=3, serial="replaced")
    Asset.objects.filter(pk=replaced.pk).update(replaced_by=inside)

    assert outreach.plan_reminders() == 1
    assert outreach.plan_reminders() == 0  # nothing new on a second run
    assert list(ServiceReminder.objects.values_list("asset__serial", flat=True)) == ["in"]


def member_elsewhere(company: Company) -> Contact:
    """A consenting member of ``company`` whose primary company is another one."""
    contact = consenting()
    customer_services.add_membership(None, contact, make_company(None, name="Elsewhere GmbH"))
    customer_services.add_membership(None, contact, company)
    return contact


def test_a_company_unit_goes_to_the_primary_contact(
    smtp_server: SmtpServer, product: Product
) -> None:
    """The company's primary contact: a member for whom it is the primary company."""
    company = make_company(None, name="Hotel Aurora")
    member_elsewhere(company)
    primary = consenting()
    customer_services.add_membership(None, primary, company, primary=True)
    unit_due(product, company=company)

    outreach.run_daily()

    assert [m["To"] for m in smtp_server.messages] == [primary.email]
    entry = Interaction.objects.get(kind=InteractionKind.REMINDER)
    assert (entry.contact, entry.company) == (primary, company)
    assert only_reminder().contact == primary


def test_a_company_without_a_primary_contact_is_skipped(
    smtp_server: SmtpServer, product: Product
) -> None:
    company = make_company(None, name="Nobody Home Ltd")
    member_elsewhere(company)
    unit_due(product, company=company)

    outreach.run_daily()

    reminder = only_reminder()
    assert reminder.status == ReminderStatus.SKIPPED
    assert "no primary contact" in reminder.skip_reason
    assert smtp_server.messages == []


# --- consent --------------------------------------------------------------------------


@pytest.mark.parametrize("consent", ["none", "withdrawn", "marketing only"])
def test_without_service_email_consent_it_is_skipped_not_failed(
    smtp_server: SmtpServer, product: Product, consent: str
) -> None:
    if consent == "withdrawn":
        contact = consenting(granted=False)
    else:
        contact = make_contact(None, first_name="Nora")
        if consent == "marketing only":
            customer_services.set_consent(
                None,
                contact,
                channel=ConsentChannel.EMAIL,
                purpose=ConsentPurpose.MARKETING,
                granted=True,
                source="newsletter form",
            )
    unit_due(product, contact=contact)

    outreach.run_daily()
    outreach.run_daily()

    assert smtp_server.messages == []
    reminder = only_reminder()
    assert reminder.status == ReminderStatus.SKIPPED
    assert "has not agreed to service e-mails" in reminder.skip_reason
    assert (reminder.last_error, reminder.attempts) == ("", 1)
    assert not Interaction.objects.filter(kind=InteractionKind.REMINDER).exists()


def test_consent_is_checked_when_sending_not_when_planning(
    smtp_server: SmtpServer, product: Product, customer: Contact
) -> None:
    unit_due(product, contact=customer)
    outreach.plan_reminders()
    customer_services.set_consent(
        None,
        customer,
        channel=ConsentChannel.EMAIL,
        purpose=ConsentPurpose.SERVICE,
        granted=False,
        source="phone call",
    )
    outreach.deliver_due()
    assert smtp_server.messages == []
    assert only_reminder().status == ReminderStatus.SKIPPED


def test_a_unit_serviced_meanwhile_is_not_reminded_of_the_old_date(
    smtp_server: SmtpServer, product: Product, customer: Contact
) -> None:
    asset = unit_due(product, contact=customer)
    outreach.plan_reminders()
    trading_services.update_asset(None, asset, {"last_serviced_on": timezone.localdate()})
    outreach.deliver_due()
    assert smtp_server.messages == []
    reminder = only_reminder()
    assert reminder.status == ReminderStatus.SKIPPED
    assert reminder.skip_reason.startswith("The date moved")


# --- failures, back-off, retry ---------------------------------------------------------


def test_a_refusing_server_is_retried_with_backoff_then_failed(
    smtp_server: SmtpServer, product: Product, customer: Contact
) -> None:
    unit_due(product, contact=customer)
    smtp_server.refuse = True

    before = timezone.now()
    outreach.run_daily()
    reminder = only_reminder()
    assert (reminder.status, reminder.attempts) == (ReminderStatus.PENDING, 1)
    assert reminder.last_error == (
        "The mail server did not accept the message for now "
        "(451 Requested action aborted: try again later); try again later."
    )
    assert reminder.next_attempt_at is not None
    waited = reminder.next_attempt_at - before
    assert timedelta(minutes=10) <= waited < timedelta(minutes=11)

    # Not before its time: the five-minute sweep leaves it alone.
    assert outreach.deliver_due()["pending"] == 0
    assert only_reminder().attempts == 1

    waits = []
    for attempt in range(2, outreach.MAX_ATTEMPTS + 1):
        age_retry(reminder)
        started = timezone.now()
        outreach.deliver_due()
        reminder = only_reminder()
        assert reminder.attempts == attempt
        if reminder.next_attempt_at is not None:
            waits.append(round((reminder.next_attempt_at - started) / timedelta(minutes=1)))
    assert waits == [20, 40, 80]  # doubling; the last attempt has no next one
    assert reminder.status == ReminderStatus.FAILED
    assert reminder.next_attempt_at is None
    assert "451" in reminder.last_error
    assert smtp_server.messages == []
    assert not Interaction.objects.filter(kind=InteractionKind.REMINDER).exists()
    age_retry(reminder)
    assert outreach.deliver_due()["sent"] == 0  # failed stays failed until someone retries


def test_an_unreachable_server_is_described_for_people(
    smtp_server: SmtpServer, settings: Any, product: Product, customer: Contact
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": closed_port, "timeout": 5},
        }
    }
    unit_due(product, contact=customer)
    outreach.run_daily()
    reminder = only_reminder()
    assert reminder.status == ReminderStatus.PENDING
    assert reminder.last_error.startswith("Could not reach the mail server (")
    assert reminder.last_error.endswith("check EMAIL_URL.")


def test_retry_now_sends_a_failed_reminder_and_is_audited(
    smtp_server: SmtpServer,
    product: Product,
    customer: Contact,
    manager: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    unit_due(product, contact=customer)
    outreach.plan_reminders()
    ServiceReminder.objects.update(
        status=ReminderStatus.FAILED, attempts=5, last_error="old", next_attempt_at=None
    )
    reminder = only_reminder()

    with django_capture_on_commit_callbacks(execute=True):
        outreach.retry_now(manager, reminder)

    reminder = only_reminder()
    assert reminder.status == ReminderStatus.SENT
    assert reminder.attempts == 1
    assert len(smtp_server.messages) == 1
    audit = reminder.history.order_by("-history_date").first()
    assert audit is not None
    assert (audit.history_user, audit.history_change_reason) == (manager, "Retry requested")
    with pytest.raises(ValidationError, match="Only failed reminders can be retried"):
        outreach.retry_now(manager, reminder)


def test_only_admins_and_managers_may_retry(
    product: Product, customer: Contact, service_user: User
) -> None:
    unit_due(product, contact=customer)
    outreach.plan_reminders()
    ServiceReminder.objects.update(status=ReminderStatus.FAILED)
    with pytest.raises(PermissionDenied):
        outreach.retry_now(service_user, only_reminder())
    assert only_reminder().status == ReminderStatus.FAILED


# --- never twice ----------------------------------------------------------------------


def test_the_second_claim_of_a_row_gets_nothing(product: Product, customer: Contact) -> None:
    unit_due(product, contact=customer)
    outreach.plan_reminders()
    reminder = only_reminder()

    first = outreach.claim(reminder.pk)
    second = outreach.claim(reminder.pk)

    assert first is not None
    assert second is None
    stored = only_reminder()
    assert (stored.status, stored.attempts, stored.claim_token) == (
        ReminderStatus.SENDING,
        1,
        first.token,
    )


def test_a_claim_left_by_a_dead_worker_is_taken_over_and_the_old_one_cannot_finish(
    smtp_server: SmtpServer, product: Product, customer: Contact
) -> None:
    unit_due(product, contact=customer)
    outreach.plan_reminders()
    reminder = only_reminder()
    dead = outreach.claim(reminder.pk)
    assert dead is not None

    assert outreach.deliver_due()["sent"] == 0  # a fresh claim is left alone
    ServiceReminder.objects.update(
        claimed_at=timezone.now() - outreach.STALE_CLAIM - timedelta(seconds=1)
    )
    assert outreach.deliver_due()["sent"] == 1
    assert len(smtp_server.messages) == 1
    # The dead worker's late finish changes nothing: its token no longer holds the row.
    assert not outreach._finish(dead, ReminderStatus.FAILED, last_error="late")
    stored = only_reminder()
    assert (stored.status, stored.attempts, stored.last_error) == (ReminderStatus.SENT, 2, "")


def test_a_row_a_worker_dies_on_every_time_ends_failed(
    smtp_server: SmtpServer, product: Product, customer: Contact
) -> None:
    unit_due(product, contact=customer)
    outreach.plan_reminders()
    ServiceReminder.objects.update(
        status=ReminderStatus.SENDING,
        attempts=outreach.MAX_ATTEMPTS,
        claimed_at=timezone.now() - outreach.STALE_CLAIM - timedelta(seconds=1),
    )
    assert outreach.deliver_due()["failed"] == 1
    reminder = only_reminder()
    assert reminder.status == ReminderStatus.FAILED
    assert reminder.last_error.startswith("Sending was interrupted every time")
    assert smtp_server.messages == []


def test_two_runs_of_the_job_send_one_email(
    smtp_server: SmtpServer, product: Product, customer: Contact
) -> None:
    unit_due(product, contact=customer)
    outreach.plan_reminders()
    outreach.plan_reminders()
    runs = [outreach.run_daily(), outreach.run_daily()]
    assert sum(run["sent"] for run in runs) == 1
    assert len(smtp_server.messages) == 1
    assert ServiceReminder.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_the_same_moment_send_one_email(smtp_server: SmtpServer) -> None:
    """Two threads, two database connections: plan and deliver at once, twice over."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers (see the claim test above)")
    product = boiler()
    customers = [consenting() for _ in range(3)]
    for number, customer in enumerate(customers):
        unit_due(product, contact=customer, serial=f"race-{number}")
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            start.wait()
            outreach.run_daily()
        except BaseException as error:  # surfaced below, not lost in the thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(m["To"] for m in smtp_server.messages) == sorted(c.email for c in customers)
    assert ServiceReminder.objects.filter(status=ReminderStatus.SENT).count() == 3
    assert Interaction.objects.filter(kind=InteractionKind.REMINDER).count() == 3


@pytest.mark.django_db(transaction=True)
def test_two_transactions_claiming_one_row_on_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: on SQLite the second claim simply gets nothing (above)")
    unit_due(boiler(), contact=consenting())
    outreach.plan_reminders()
    reminder = only_reminder()
    start = threading.Barrier(2)
    tokens: list[object] = []

    def claimer() -> None:
        try:
            start.wait()
            held = outreach.claim(reminder.pk)
            tokens.append(None if held is None else held.token)
        finally:
            connection.close()

    threads = [threading.Thread(target=claimer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    won = [token for token in tokens if token is not None]
    assert len(tokens) == 2
    assert len(won) == 1
    stored = only_reminder()
    assert (stored.claim_token, stored.attempts) == (won[0], 1)


# --- the e-mail templates ---------------------------------------------------------------


def test_defaults_are_created_on_first_use_once() -> None:
    assert not ReminderTemplate.objects.exists()
    first = outreach.template_for(ReminderKind.SERVICE)
    again = outreach.template_for(ReminderKind.SERVICE)
    assert first.pk == again.pk
    assert "{{ product.name }}" in first.subject
    assert [t.kind for t in outreach.templates_in_use()] == ["service", "warranty", "renewal"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("body", "Hi {{ contact.nick }}", "Unknown name {{ contact.nick }}"),
        ("body", "Hi {{ customer }}", "Unknown name {{ customer }}"),
        ("body", "{% if due_date %}open", "Template error: Unclosed tag"),
        ("body", "{% include 'web/base.html' %}", "cannot include or extend"),
        ("body", "{% load static %}", "Template error"),
        ("subject", "   ", "Write a subject."),
        ("subject", "{{ booking_url }}", "The subject comes out empty."),
        ("body", "", "Write the text of the e-mail."),
        ("booking_url", "javascript:alert(1)", "is not a web address"),
    ],
)
def test_a_template_that_would_not_render_is_refused_with_the_reason(
    admin: User, field: str, value: str, message: str
) -> None:
    template = outreach.template_for(ReminderKind.SERVICE)
    data = {"subject": template.subject, "body": template.body, "booking_url": ""}
    data[field] = value
    with pytest.raises(ValidationError) as caught:
        outreach.update_template(admin, template, outreach.TemplateInput(**data))
    assert message in " ".join(caught.value.message_dict[field])
    assert ReminderTemplate.objects.get(pk=template.pk).version == template.version


def test_an_unknown_name_error_lists_the_context(admin: User) -> None:
    template = outreach.template_for(ReminderKind.SERVICE)
    with pytest.raises(ValidationError) as caught:
        outreach.update_template(
            admin, template, outreach.TemplateInput(subject="Hi", body="{{ asset.colour }}")
        )
    text = caught.value.message_dict["body"][0]
    for name in ("contact (name", "asset (serial", "product (name", "due_date", "booking_url"):
        assert name in text


def test_only_admins_edit_templates(manager: User) -> None:
    template = outreach.template_for(ReminderKind.SERVICE)
    with pytest.raises(PermissionDenied):
        outreach.update_template(manager, template, outreach.TemplateInput("Hi", "Hello"))


def test_the_editor_saves_previews_and_refuses_in_the_form(
    admin: User, client_for: Any, smtp_server: SmtpServer, product: Product, customer: Contact
) -> None:
    browser = client_for(admin)
    page = browser.get("/settings/reminder-emails/")
    assert page.status_code == 200
    assert b"Reminder e-mails" in page.content
    assert b'href="/settings/reminder-emails/service/"' in page.content

    editor = browser.get("/settings/reminder-emails/service/")
    assert editor.status_code == 200
    assert b"Heat pump 9 kW" in editor.content  # the preview with the sample customer
    version = ReminderTemplate.objects.get(kind="service").version

    refused = browser.post(
        "/settings/reminder-emails/service/",
        {"subject": "Service", "body": "Hi {{ contact.nick }}", "version": version},
    )
    assert refused.status_code == 200
    assert b"Unknown name {{ contact.nick }}" in refused.content

    saved = browser.post(
        "/settings/reminder-emails/service/",
        {
            "subject": "Service for {{ product.name }}",
            "body": "Dear {{ contact.name }}, due {{ due_date|date:'Y-m-d' }}. {{ booking_phone }}",
            "booking_phone": "+49 30 999",
            "version": version,
        },
    )
    assert saved.status_code == 302
    asset = unit_due(product, contact=customer)
    outreach.run_daily()
    assert subject_of(smtp_server.messages[0]) == "Service for Condensing boiler 24 kW"
    assert smtp_server.bodies()[0].strip() == (
        f"Dear Clara Customer, due {asset.next_service_due:%Y-%m-%d}. +49 30 999"
    )


@pytest.mark.parametrize("role", ALL_ROLES)
def test_the_editor_is_for_admins(role: str, user_of_role: Any, client_for: Any) -> None:
    browser = client_for(user_of_role(role))
    expected = 200 if role == Role.ADMIN else 403
    assert browser.get("/settings/reminder-emails/").status_code == expected
    assert browser.get("/settings/reminder-emails/warranty/").status_code == expected
    tab = b'href="/settings/reminder-emails/"' in browser.get("/settings/").content
    assert tab is (role == Role.ADMIN)


# --- the list page and the API per role ---------------------------------------------


@pytest.fixture
def failed_reminder(product: Product, customer: Contact) -> ServiceReminder:
    unit_due(product, contact=customer)
    outreach.plan_reminders()
    ServiceReminder.objects.update(
        status=ReminderStatus.FAILED,
        attempts=5,
        last_error="The mail server refused the message (550 no).",
        next_attempt_at=None,
    )
    return only_reminder()


@pytest.mark.parametrize("role", ALL_ROLES)
def test_the_reminder_page_per_role(
    role: str, user_of_role: Any, client_for: Any, failed_reminder: ServiceReminder
) -> None:
    browser = client_for(user_of_role(role))
    page = browser.get("/reminders/")
    assert page.status_code == 200
    assert b"The mail server refused the message (550 no)." in page.content
    assert b"Condensing boiler 24 kW" in page.content
    retry_url = f"/reminders/{failed_reminder.pk}/retry/"
    assert (retry_url.encode() in page.content) is (role in RETRIERS)
    response = browser.post(retry_url)
    if role in RETRIERS:
        assert response.status_code == 302
        assert only_reminder().status == ReminderStatus.PENDING
    else:
        assert response.status_code == 403
        assert only_reminder().status == ReminderStatus.FAILED


@pytest.mark.parametrize("role", ALL_ROLES)
def test_the_api_per_role(
    role: str, user_of_role: Any, api_for: Any, failed_reminder: ServiceReminder
) -> None:
    api = api_for(user_of_role(role))
    listed = api.get("/api/v1/service-reminders")
    assert listed.status_code == 200
    (row,) = listed.json()["results"]
    assert row["id"] == failed_reminder.pk
    assert (row["status"], row["kind"], row["attempts"]) == ("failed", "service", 5)
    assert row["last_error"] == "The mail server refused the message (550 no)."
    retried = api.post(f"/api/v1/service-reminders/{failed_reminder.pk}/retry")
    if role in RETRIERS:
        assert retried.status_code == 200
        assert retried.json()["status"] == "pending"
        again = api.post(f"/api/v1/service-reminders/{failed_reminder.pk}/retry")
        assert again.status_code == 400
    else:
        assert retried.status_code == 403
        assert only_reminder().status == ReminderStatus.FAILED


def test_nobody_writes_reminders_through_the_api(
    admin: User, api_for: Any, failed_reminder: ServiceReminder
) -> None:
    """Read-only: planning is the job's (403 for adding), and there is no edit or delete."""
    api = api_for(admin)
    url = f"/api/v1/service-reminders/{failed_reminder.pk}"
    assert api.post("/api/v1/service-reminders", {"asset": 1}).status_code == 403
    assert api.patch(url, {"status": "sent"}).status_code == 405
    assert api.put(url, {"status": "sent"}).status_code == 405
    assert api.delete(url).status_code == 403
    assert ServiceReminder.objects.get().status == ReminderStatus.FAILED


def test_people_see_only_reminders_of_customers_they_see(
    sales: User,
    sales_south: User,
    client_for: Any,
    api_for: Any,
    product: Product,
) -> None:
    unit_due(product, contact=consenting(owner=sales), serial="north-unit")
    outreach.plan_reminders()
    reminder = only_reminder()
    assert b"north-unit" in client_for(sales).get("/reminders/").content
    assert b"north-unit" not in client_for(sales_south).get("/reminders/").content
    api = api_for(sales_south)
    assert api.get("/api/v1/service-reminders").json()["results"] == []
    assert api.get(f"/api/v1/service-reminders/{reminder.pk}").status_code == 404


def test_filters_by_status_and_kind(
    admin: User, client_for: Any, api_for: Any, smtp_server: SmtpServer, customer: Contact
) -> None:
    product = boiler()
    unit_due(product, contact=customer, serial="sent-one")
    outreach.run_daily()
    unit_due(product, contact=make_contact(None), serial="skipped-one")
    outreach.run_daily()
    browser = client_for(admin)
    sent_page = browser.get("/reminders/?status=sent").content
    assert b"sent-one" in sent_page
    assert b"skipped-one" not in sent_page
    skipped_page = browser.get("/reminders/?status=skipped&kind=service").content
    assert b"skipped-one" in skipped_page
    assert b"sent-one" not in skipped_page
    assert b"sent-one" not in browser.get("/reminders/?kind=warranty").content
    api = api_for(admin)
    rows = api.get("/api/v1/service-reminders?status=skipped").json()["results"]
    assert [row["skip_reason"] for row in rows] == [
        f"{ServiceReminder.objects.get(status='skipped').asset.contact} "
        "has not agreed to service e-mails."
    ]


# --- query counts -------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/reminders/", "/reminders/?status=failed", "/api/v1/service-reminders"]
)
def test_query_count_of_the_list_does_not_grow_with_rows(
    manager: User, client_for: Any, api_for: Any, url: str
) -> None:
    client = api_for(manager) if url.startswith("/api/") else client_for(manager)
    product = boiler()
    company = make_company(None)

    def reminders(count: int, offset: int) -> None:
        for number in range(offset, offset + count):
            if number % 2:
                unit_due(product, company=company, serial=f"c-{number}")
            else:
                unit_due(product, contact=consenting(), serial=f"p-{number}")
        outreach.plan_reminders()
        ServiceReminder.objects.update(status=ReminderStatus.FAILED, last_error="no")

    def request() -> Any:
        return client.get(url)

    reminders(3, 0)
    few, _ = queries_of(request)
    reminders(17, 3)
    many, sql = queries_of(request)
    assert many == few, "\n".join(sql)


def test_the_jobs_run_daily_and_every_five_minutes() -> None:
    from rapport.reminders import tasks

    # Huey's crontab compares naive wall-clock times.
    at = [datetime(2030, 1, 1, hour, minute) for hour, minute in ((6, 0), (7, 0), (6, 5), (6, 7))]  # noqa: DTZ001
    daily = tasks.send_service_reminders.task_class()
    sweep = tasks.retry_service_reminders.task_class()
    assert [daily.validate_datetime(moment) for moment in at] == [True, False, False, False]
    assert [sweep.validate_datetime(moment) for moment in at] == [True, True, True, False]
