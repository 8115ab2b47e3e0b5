"""The periodic trigger job: surveys N days after a delivery or a resolved ticket, once each."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from rapport.customers.models import Contact
from rapport.satisfaction import services
from rapport.satisfaction.choices import InvitationStatus, SourceKind, SurveyKind
from rapport.satisfaction.models import SurveyInvitation
from rapport.service import services as desk
from rapport.service.choices import TicketStatus
from rapport.trading import services as trading
from rapport.trading.models import Delivery
from rapport.users.models import User
from tests.catalog.factories import make_product
from tests.conftest import SmtpServer
from tests.customers.factories import make_contact
from tests.satisfaction.factories import make_survey, surveyable_contact
from tests.trading.factories import make_order

pytestmark = pytest.mark.django_db
Run = Callable[..., Any]


def _delivered(admin: User, contact: Contact, at: datetime) -> Delivery:
    product = make_product(admin)
    order = make_order(admin, contact=contact, lines=[(product, 1)])
    delivery = trading.ship_order(admin, order, shipped_at=at - timedelta(days=1))
    return trading.confirm_delivery(admin, delivery, delivered_at=at)


def _resolved(admin: User, contact: Contact | None, at: datetime) -> Any:
    ticket = desk.open_ticket(
        admin,
        desk.TicketInput(subject="Boiler noisy", contact=contact),
        now=at - timedelta(hours=3),
    )
    return desk.change_status(admin, ticket, TicketStatus.RESOLVED, now=at)


def test_a_delivery_gets_its_survey_n_days_later_and_only_once(
    smtp_server: SmtpServer, admin: User, on_commit: Run
) -> None:
    now = timezone.now()
    make_survey(admin, kind=SurveyKind.CSAT, after_delivery_days=3)
    recent = _delivered(admin, surveyable_contact(admin), now - timedelta(days=1))
    due = _delivered(admin, surveyable_contact(admin), now - timedelta(days=4))
    _delivered(admin, surveyable_contact(admin), now - timedelta(days=30))  # before the window

    run = on_commit(services.run_triggers, now=now)

    assert run.invited == 1
    invitation = SurveyInvitation.objects.get()
    assert (invitation.source_kind, invitation.source_id) == (SourceKind.DELIVERY, due.pk)
    assert invitation.contact == due.order.contact
    assert invitation.status == InvitationStatus.SENT
    assert len(smtp_server.messages) == 1

    assert on_commit(services.run_triggers, now=now).invited == 0
    # Two days on, the recent delivery is due as well; the first is not sent again.
    assert on_commit(services.run_triggers, now=now + timedelta(days=2)).invited == 1
    assert SurveyInvitation.objects.filter(source_id=recent.pk).exists()
    assert len(smtp_server.messages) == 2


def test_a_delivery_to_a_contact_without_consent_gets_no_survey(admin: User) -> None:
    now = timezone.now()
    make_survey(admin, after_delivery_days=0)
    _delivered(admin, make_contact(admin), now - timedelta(hours=1))
    run = services.run_triggers(now=now)
    assert (run.invited, run.skipped) == (0, 1)
    assert not SurveyInvitation.objects.exists()


def test_surveys_without_the_trigger_or_inactive_ones_send_nothing(admin: User) -> None:
    now = timezone.now()
    make_survey(admin, after_delivery_days=None, after_ticket_days=None)
    make_survey(admin, after_delivery_days=0, is_active=False)
    _delivered(admin, surveyable_contact(admin), now - timedelta(hours=1))
    assert services.run_triggers(now=now).invited == 0


def test_the_same_source_can_be_invited_only_once_per_survey(admin: User) -> None:
    survey = make_survey(admin, after_delivery_days=0)
    contact = surveyable_contact(admin)
    first = services.invite(None, survey, [contact], source_kind="delivery", source_id=7)
    SurveyInvitation.objects.filter(pk=first.invited[0].pk).update(status="answered")
    again = services.invite(None, survey, [contact], source_kind="delivery", source_id=7)
    assert again.invited == []
    assert SurveyInvitation.objects.count() == 1


def test_a_resolved_ticket_gets_its_survey_once(
    smtp_server: SmtpServer, admin: User, on_commit: Run
) -> None:
    now = timezone.now()
    survey = make_survey(admin, kind=SurveyKind.NPS, after_ticket_days=1)
    ticket = _resolved(admin, surveyable_contact(admin), now - timedelta(days=2))
    _resolved(admin, None, now - timedelta(days=2))  # nobody to ask
    _resolved(admin, surveyable_contact(admin), now - timedelta(hours=2))  # not due yet

    assert on_commit(services.run_triggers, now=now).invited == 1
    invitation = SurveyInvitation.objects.get()
    assert (invitation.survey, invitation.source_kind) == (survey, SourceKind.TICKET)
    assert (invitation.source_id, invitation.contact_id) == (ticket.pk, ticket.contact_id)
    assert on_commit(services.run_triggers, now=now).invited == 0
    assert len(smtp_server.messages) == 1


def test_a_reopened_ticket_is_not_surveyed(admin: User) -> None:
    now = timezone.now()
    make_survey(admin, after_ticket_days=0)
    ticket = _resolved(admin, surveyable_contact(admin), now - timedelta(hours=5))
    desk.change_status(admin, ticket, TicketStatus.OPEN, now=now - timedelta(hours=1))
    assert services.run_triggers(now=now).invited == 0


def test_the_periodic_job_runs_the_triggers(admin: User) -> None:
    from rapport.satisfaction.tasks import survey_triggers

    make_survey(admin, after_delivery_days=0)
    _delivered(admin, surveyable_contact(admin), timezone.now() - timedelta(minutes=5))
    assert survey_triggers.call_local() == 1
