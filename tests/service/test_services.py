"""Tickets through their life: SLA due times, statuses, replies by e-mail, breach alerts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from rapport.interactions.choices import InteractionKind
from rapport.interactions.models import Interaction
from rapport.service import services
from rapport.service.choices import AlertKind, Delivery, Priority, TicketStatus
from rapport.service.models import TicketAlert
from rapport.users.models import User
from tests.conftest import SmtpServer
from tests.service.conftest import MONDAY_10, Desk
from tests.service.factories import make_ticket

pytestmark = pytest.mark.django_db


def support_entries(contact: Any) -> list[str]:
    return list(
        Interaction.objects.filter(contact=contact, kind=InteractionKind.SUPPORT)
        .order_by("id")
        .values_list("subject", flat=True)
    )


def test_a_new_ticket_gets_due_times_from_its_policy_in_business_hours(
    desk: Desk, admin: User
) -> None:
    friday_1630 = dt.datetime(2025, 12, 5, 15, 30, tzinfo=dt.UTC)  # 16:30 in Berlin
    ticket = make_ticket(
        admin, contact=desk.world.contacts["sales"], priority=Priority.NORMAL, now=friday_1630
    )
    assert ticket.sla_policy == desk.policies[Priority.NORMAL]
    # 60 business minutes: 30 on Friday, 30 on Monday from 09:00 Berlin (08:00 UTC).
    assert ticket.first_response_due == dt.datetime(2025, 12, 8, 8, 30, tzinfo=dt.UTC)
    # 8 hours: Friday 30 min + Monday 7.5 h → Monday 16:30 Berlin.
    assert ticket.resolution_due == dt.datetime(2025, 12, 8, 15, 30, tzinfo=dt.UTC)
    assert ticket.reference == f"T-{ticket.pk}"
    assert (
        support_entries(ticket.contact)[-1] == f"Ticket {ticket.reference} opened: {ticket.subject}"
    )


def test_without_a_policy_there_are_no_due_times(desk: Desk, admin: User) -> None:
    ticket = make_ticket(admin, contact=desk.world.contacts["sales"], priority=Priority.URGENT)
    assert ticket.sla_policy is None
    assert ticket.first_response_due is None
    assert ticket.resolution_due is None


def test_changing_the_priority_takes_the_new_policy(desk: Desk, admin: User) -> None:
    services.update_sla_policy(admin, desk.policies[Priority.HIGH], {"first_response_minutes": 15})
    ticket = make_ticket(admin, contact=desk.world.contacts["sales"], now=MONDAY_10)
    services.update_ticket(admin, ticket, {"priority": Priority.HIGH})
    assert ticket.first_response_due == MONDAY_10 + dt.timedelta(minutes=15)


def test_bad_input_names_the_field(desk: Desk, admin: User) -> None:
    with pytest.raises(ValidationError) as error:
        make_ticket(admin, subject="  ", contact=desk.world.contacts["sales"])
    assert "subject" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        make_ticket(admin, contact=desk.world.contacts["sales"], priority="whenever")
    assert "priority" in error.value.message_dict


def test_status_moves_only_along_allowed_transitions(desk: Desk, admin: User) -> None:
    ticket = desk.north
    services.change_status(admin, ticket, TicketStatus.RESOLVED)
    assert ticket.status == TicketStatus.RESOLVED
    assert ticket.resolved_at is not None
    services.change_status(admin, ticket, TicketStatus.CLOSED)
    with pytest.raises(ValidationError, match="final"):
        services.change_status(admin, ticket, TicketStatus.OPEN)
    assert support_entries(ticket.contact)[-2:] == [
        f"Ticket {ticket.reference} resolved: North boiler",
        f"Ticket {ticket.reference} closed: North boiler",
    ]


def test_reopening_clears_resolved_at(desk: Desk, admin: User) -> None:
    services.change_status(admin, desk.north, TicketStatus.RESOLVED)
    services.change_status(admin, desk.north, TicketStatus.OPEN)
    assert desk.north.resolved_at is None
    assert support_entries(desk.north.contact)[-1].startswith(
        f"Ticket {desk.north.reference} reopened"
    )


def test_pending_customer_pauses_the_resolution_clock(desk: Desk, admin: User) -> None:
    ticket = make_ticket(admin, contact=desk.world.contacts["sales"], now=MONDAY_10)
    # 8 business hours: Monday 10:00-17:00 and Tuesday 09:00-10:00 Berlin.
    assert ticket.resolution_due == dt.datetime(2025, 12, 2, 9, 0, tzinfo=dt.UTC)
    monday_11 = MONDAY_10 + dt.timedelta(hours=1)
    services.change_status(admin, ticket, TicketStatus.PENDING_CUSTOMER, now=monday_11)
    assert ticket.resolution_due is None
    # The customer answers on Tuesday at 10:00 Berlin: 7 business hours passed while waiting.
    tuesday_10 = MONDAY_10 + dt.timedelta(days=1)
    services.change_status(admin, ticket, TicketStatus.OPEN, now=tuesday_10)
    assert ticket.paused_minutes == 7 * 60
    # 7 hours were left when it paused: from Tuesday 10:00 → Tuesday 17:00 Berlin.
    assert ticket.resolution_due == dt.datetime(2025, 12, 2, 16, 0, tzinfo=dt.UTC)


def test_sales_work_only_their_teams_tickets(desk: Desk, sales: User) -> None:
    services.add_note(sales, desk.north, "Called them back")
    services.add_note(sales, desk.untaken, "Looked at it")
    with pytest.raises(PermissionDenied):
        services.add_note(sales, desk.south, "Not mine")
    with pytest.raises(PermissionDenied):
        services.update_ticket(sales, desk.north, {"team": desk.south.team})


def test_read_only_and_marketing_cannot_work_tickets(
    desk: Desk, read_only: User, marketing: User
) -> None:
    for user in (read_only, marketing):
        with pytest.raises(PermissionDenied):
            services.change_status(user, desk.untaken, TicketStatus.OPEN)


def test_a_note_is_not_on_the_timeline_and_not_emailed(desk: Desk, service_user: User) -> None:
    before = support_entries(desk.north.contact)
    services.add_note(service_user, desk.north, "Internal: check warranty")
    assert support_entries(desk.north.contact) == before
    assert mail.outbox == []


def test_a_reply_is_emailed_after_commit_with_reference_and_threading_headers(
    desk: Desk, service_user: User, smtp_server: SmtpServer, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = desk.north
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = services.reply(service_user, ticket, "We will send a technician.")
    assert smtp_server.messages == []  # nothing leaves before the commit
    for callback in callbacks:
        callback()
    message.refresh_from_db()
    assert message.delivery == Delivery.SENT
    [sent] = smtp_server.messages
    assert sent["Subject"] == f"[#{ticket.reference}] North boiler"
    assert sent["Message-ID"] == message.message_id
    assert ticket.contact is not None
    assert sent["To"] == ticket.contact.email
    assert "We will send a technician." in smtp_server.bodies()[0]
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    assert ticket.first_response_at == message.created_at
    assert support_entries(ticket.contact)[-1] == f"Reply on {ticket.reference}: North boiler"


def test_a_refused_reply_is_shown_failed_and_retried(
    desk: Desk, service_user: User, smtp_server: SmtpServer, django_capture_on_commit_callbacks: Any
) -> None:
    smtp_server.refuse = True
    with django_capture_on_commit_callbacks(execute=True):
        message = services.reply(service_user, desk.north, "Hello")
    message.refresh_from_db()
    assert message.delivery == Delivery.FAILED
    assert "451" in message.send_error
    assert "try again later" in message.send_error
    smtp_server.refuse = False
    assert services.retry_failed_replies() == 1
    message.refresh_from_db()
    assert message.delivery == Delivery.SENT
    assert message.send_attempts == 2
    assert len(smtp_server.messages) == 1
    assert services.retry_failed_replies() == 0  # a sent reply is never sent again


def test_breach_job_flags_and_emails_the_assignee_once(
    desk: Desk, admin: User, service_user: User, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = make_ticket(
        admin, contact=desk.world.contacts["sales"], assignee=service_user, now=MONDAY_10
    )
    due = ticket.first_response_due
    assert due is not None
    with django_capture_on_commit_callbacks(execute=True):
        soon = services.check_sla(now=due - dt.timedelta(minutes=10))
    assert [a.kind for a in soon if a.ticket == ticket] == [AlertKind.FIRST_RESPONSE_SOON]
    with django_capture_on_commit_callbacks(execute=True):
        breached = services.check_sla(now=due + dt.timedelta(minutes=1))
        again = services.check_sla(now=due + dt.timedelta(minutes=2))
    assert [a.kind for a in breached if a.ticket == ticket] == [AlertKind.FIRST_RESPONSE_BREACHED]
    assert [a for a in again if a.ticket == ticket] == []
    mine = [m for m in mail.outbox if m.to == [service_user.email]]
    assert [m.subject for m in mine] == [
        f"[#{ticket.reference}] First response due soon: {ticket.subject}",
        f"[#{ticket.reference}] First response overdue: {ticket.subject}",
    ]
    assert TicketAlert.objects.filter(ticket=ticket, user=service_user).count() == 2


def test_an_answered_or_paused_ticket_does_not_breach(desk: Desk, admin: User) -> None:
    ticket = make_ticket(admin, contact=desk.world.contacts["sales"], now=MONDAY_10)
    services.reply(admin, ticket, "On it", status=TicketStatus.PENDING_CUSTOMER, now=MONDAY_10)
    later = MONDAY_10 + dt.timedelta(days=5)
    assert [a for a in services.check_sla(now=later) if a.ticket == ticket] == []


def test_calendar_and_policy_validation(admin: User) -> None:
    with pytest.raises(ValidationError) as error:
        services.create_calendar(
            admin, name="Bad", time_zone="Nowhere/City", working_days=[0],
            day_start=dt.time(9), day_end=dt.time(17),
        )  # fmt: skip
    assert "time_zone" in error.value.message_dict
    calendar = services.create_calendar(
        admin,
        name="Ok",
        time_zone="UTC",
        working_days=[0],
        day_start=dt.time(9),
        day_end=dt.time(17),
    )
    with pytest.raises(ValidationError) as error:
        services.create_sla_policy(
            admin, name="Backwards", priority=Priority.LOW, calendar=calendar,
            first_response_minutes=120, resolution_minutes=60,
        )  # fmt: skip
    assert "resolution_minutes" in error.value.message_dict


def test_only_admins_configure_sla(sales: User, service_user: User) -> None:
    for user in (sales, service_user):
        with pytest.raises(PermissionDenied):
            services.create_calendar(
                user, name="Mine", time_zone="UTC", working_days=[0],
                day_start=dt.time(9), day_end=dt.time(17),
            )  # fmt: skip


def test_a_unit_of_the_installed_base_brings_its_owner(desk: Desk, admin: User) -> None:
    from datetime import date

    from tests.catalog.factories import make_product
    from tests.trading.factories import make_asset

    product = make_product(admin, sku="B-1", name="Boiler", service_interval_days=365)
    owner = desk.world.contacts["sales"]
    unit = make_asset(admin, product=product, contact=owner, bought_on=date(2025, 1, 1))
    ticket = make_ticket(admin, subject="Unit leaks", asset=unit)
    assert ticket.contact == owner
    with pytest.raises(ValidationError) as error:
        make_ticket(admin, asset=unit, contact=desk.world.contacts["south"])
    assert error.value.message_dict["asset"] == ["This unit belongs to another customer."]


def test_an_assignee_must_work_tickets(desk: Desk, admin: User, marketing: User) -> None:
    with pytest.raises(ValidationError) as error:
        services.assign(admin, desk.north, marketing)
    assert "assignee" in error.value.message_dict
