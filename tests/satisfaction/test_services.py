"""Surveys end to end through the services: invite, send, answer once, classes, evangelists."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from rapport.customers.choices import LifecycleStage
from rapport.customers.models import LifecycleChange
from rapport.interactions.choices import InteractionKind
from rapport.interactions.models import Interaction
from rapport.satisfaction import links, queries, services
from rapport.satisfaction.choices import InvitationStatus, SurveyKind
from rapport.satisfaction.models import Response, SurveyInvitation
from rapport.users.models import User
from tests.conftest import SmtpServer
from tests.customers.factories import make_contact
from tests.satisfaction.factories import (
    agree_to_surveys,
    answer,
    invite_one,
    make_survey,
    surveyable_contact,
)

pytestmark = pytest.mark.django_db
Run = Callable[..., Any]


# --- surveys -----------------------------------------------------------------------


def test_a_new_survey_gets_the_default_questions_of_its_kind(marketing: User) -> None:
    csat = make_survey(marketing, kind=SurveyKind.CSAT, name="After delivery")
    assert csat.expectation_question
    assert csat.performance_question
    assert csat.score_question == ""
    nps = make_survey(marketing, kind=SurveyKind.NPS)
    assert "recommend" in nps.score_question
    assert nps.expectation_question == ""


def test_bad_survey_input_is_refused_by_field(marketing: User) -> None:
    with pytest.raises(ValidationError) as caught:
        make_survey(marketing, name=" ", link_valid_days=0, after_delivery_days=-1)
    assert set(caught.value.message_dict) == {"name", "link_valid_days", "after_delivery_days"}
    with pytest.raises(ValidationError) as caught:
        services.create_survey(marketing, services.SurveyInput(name="x", kind="stars"))
    assert "kind" in caught.value.message_dict


def test_a_survey_keeps_its_kind(marketing: User) -> None:
    survey = make_survey(marketing, kind=SurveyKind.NPS)
    with pytest.raises(ValidationError, match="keeps its kind"):
        services.update_survey(marketing, survey, {"kind": SurveyKind.CSAT})
    services.update_survey(marketing, survey, {"name": "Quarterly NPS", "after_ticket_days": 2})
    survey.refresh_from_db()
    assert (survey.name, survey.after_ticket_days, survey.version) == ("Quarterly NPS", 2, 2)


def test_only_marketing_managers_and_admins_create_surveys(sales: User, read_only: User) -> None:
    for user in (sales, read_only):
        with pytest.raises(PermissionDenied):
            make_survey(user)


# --- inviting and sending ------------------------------------------------------------


def test_an_invitation_is_emailed_after_commit_with_a_working_link(
    smtp_server: SmtpServer, marketing: User, on_commit: Run
) -> None:
    survey = make_survey(marketing, name="Would you recommend us?")
    contact = surveyable_contact(marketing, first_name="Greta", emails=["greta@example.org"])
    result = on_commit(services.invite, marketing, survey, [contact])

    (invitation,) = result.invited
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.SENT
    assert invitation.email == "greta@example.org"
    assert invitation.expires_at == invitation.sent_at + timedelta(days=survey.link_valid_days)
    (message,) = smtp_server.messages
    assert message["To"] == "greta@example.org"
    body = smtp_server.bodies()[0]
    assert "Hello Greta" in body
    token = re.search(r"/survey/([^/\s]+)/", body)
    assert token is not None
    assert links.invitation_for(token.group(1)) == invitation
    sent = Interaction.objects.get(kind=InteractionKind.SURVEY, contact=contact)
    assert sent.subject == "Survey sent: Would you recommend us?"


def test_contacts_without_consent_or_address_are_skipped_with_the_reason(
    smtp_server: SmtpServer, marketing: User, on_commit: Run
) -> None:
    survey = make_survey(marketing)
    agreed = surveyable_contact(marketing)
    never_asked = make_contact(marketing, first_name="Nora")
    withdrawn = agree_to_surveys(surveyable_contact(marketing), granted=False)
    no_address = agree_to_surveys(make_contact(marketing, emails=[]))

    result = on_commit(
        services.invite, marketing, survey, [agreed, never_asked, withdrawn, no_address]
    )

    assert [i.contact for i in result.invited] == [agreed]
    assert "not agreed to surveys" in result.skipped[never_asked.pk]
    assert "not agreed to surveys" in result.skipped[withdrawn.pk]
    assert "no e-mail address" in result.skipped[no_address.pk]
    assert len(smtp_server.messages) == 1


def test_consent_withdrawn_before_sending_fails_the_invitation_without_mail(
    smtp_server: SmtpServer, marketing: User
) -> None:
    survey = make_survey(marketing)
    contact = surveyable_contact(marketing)
    invitation = invite_one(survey, contact, marketing)  # not sent yet: no commit
    agree_to_surveys(contact, granted=False)

    assert services.deliver(invitation.pk) == InvitationStatus.FAILED
    invitation.refresh_from_db()
    assert "not agreed to surveys" in invitation.last_error
    assert smtp_server.messages == []


def test_an_open_invitation_is_not_sent_twice(marketing: User) -> None:
    survey = make_survey(marketing)
    contact = surveyable_contact(marketing)
    invite_one(survey, contact, marketing)
    again = services.invite(marketing, survey, [contact])
    assert again.invited == []
    assert "open invitation" in again.skipped[contact.pk]


def test_a_temporary_mail_failure_is_retried_then_failed(
    smtp_server: SmtpServer, marketing: User
) -> None:
    survey = make_survey(marketing)
    invitation = invite_one(survey, surveyable_contact(marketing), marketing)
    smtp_server.refuse = True
    for attempt in range(1, services.MAX_ATTEMPTS):
        with pytest.raises(services.TemporarySendError):
            services.deliver(invitation.pk)
        invitation.refresh_from_db()
        assert (invitation.status, invitation.attempts) == (InvitationStatus.QUEUED, attempt)
        assert "try again later" in invitation.last_error
    assert services.deliver(invitation.pk) == InvitationStatus.FAILED

    smtp_server.refuse = False
    services.resend(marketing, invitation)
    assert services.deliver(invitation.pk) == InvitationStatus.SENT
    assert len(smtp_server.messages) == 1


def test_a_refusing_mail_server_leaves_the_invitation_queued_for_huey_to_retry(
    smtp_server: SmtpServer, marketing: User, on_commit: Run
) -> None:
    smtp_server.refuse = True
    result = on_commit(services.invite, marketing, make_survey(marketing), [surveyable_contact()])
    invitation = result.invited[0]
    invitation.refresh_from_db()
    assert (invitation.status, invitation.attempts) == (InvitationStatus.QUEUED, 1)
    assert invitation.claimed_at is None
    assert "try again later" in invitation.last_error


def test_an_unexpected_error_fails_the_invitation_instead_of_leaving_it_claimed(
    smtp_server: SmtpServer, marketing: User
) -> None:
    invitation = invite_one(make_survey(marketing), surveyable_contact(marketing), marketing)
    with mock.patch.object(links, "url_for", side_effect=RuntimeError("boom")):
        assert services.deliver(invitation.pk) == InvitationStatus.FAILED
    invitation.refresh_from_db()
    assert invitation.claimed_at is None
    assert "unexpectedly" in invitation.last_error
    assert smtp_server.messages == []


def test_a_claimed_invitation_is_not_sent_by_a_second_worker(
    smtp_server: SmtpServer, marketing: User
) -> None:
    invitation = invite_one(make_survey(marketing), surveyable_contact(marketing), marketing)
    SurveyInvitation.objects.filter(pk=invitation.pk).update(claimed_at=timezone.now())
    assert services.deliver(invitation.pk) is None
    assert smtp_server.messages == []


def test_the_huey_job_sends_and_retries(smtp_server: SmtpServer, marketing: User) -> None:
    from rapport.satisfaction.tasks import send_invitation

    invitation = invite_one(make_survey(marketing), surveyable_contact(marketing), marketing)
    assert send_invitation.retries == services.RETRIES
    send_invitation(invitation.pk)
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.SENT


# --- answering -----------------------------------------------------------------------


def test_an_nps_answer_is_classified_stored_and_on_the_timeline(marketing: User) -> None:
    survey = make_survey(marketing, name="NPS Q4")
    contact = surveyable_contact(marketing)
    invitation = invite_one(survey, contact, marketing)

    response = answer(invitation, score=9, comment="Great service")

    assert (response.score, response.nps_class, response.kind) == (9, "promoter", "nps")
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.ANSWERED
    entry = Interaction.objects.get(kind=InteractionKind.SURVEY, contact=contact)
    assert entry.subject == "NPS Q4: Promoter (9 of 10)"
    assert entry.body == "Great service"


def test_a_csat_answer_is_classified_by_the_gap(marketing: User) -> None:
    survey = make_survey(marketing, kind=SurveyKind.CSAT)
    response = answer(
        invite_one(survey, surveyable_contact(marketing)), expectation=5, performance=4
    )
    assert (response.gap, response.csat_class) == (-1, "dissatisfied")


def test_answers_out_of_range_are_refused_by_field(marketing: User) -> None:
    invitation = invite_one(make_survey(marketing, kind=SurveyKind.CSAT), surveyable_contact())
    with pytest.raises(ValidationError) as caught:
        answer(invitation, expectation=6, performance=3)
    assert "expectation" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        answer(invitation, expectation=3)
    assert "performance" in caught.value.message_dict
    assert not Response.objects.exists()


def test_a_second_answer_is_refused(marketing: User) -> None:
    invitation = invite_one(make_survey(marketing), surveyable_contact(marketing))
    answer(invitation, score=3)
    with pytest.raises(services.AlreadyAnsweredError):
        answer(invitation, score=10)
    assert Response.objects.get().score == 3


def test_the_database_allows_one_answer_per_invitation(marketing: User) -> None:
    invitation = invite_one(make_survey(marketing), surveyable_contact(marketing))
    first = answer(invitation, score=8)
    with pytest.raises(IntegrityError), transaction.atomic():
        Response.objects.create(
            survey=first.survey,
            invitation=invitation,
            contact=first.contact,
            kind="nps",
            score=10,
            nps_class="promoter",
            answered_at=timezone.now(),
        )


def test_a_submit_racing_another_reports_already_answered(marketing: User) -> None:
    invitation = invite_one(make_survey(marketing), surveyable_contact(marketing))
    token = links.token_for(invitation)
    # The second request read the invitation as open before the first one committed.
    opened = services.open_invitation(token)
    answer(invitation, score=7)
    with (
        mock.patch.object(services, "open_invitation", return_value=opened),
        pytest.raises(services.AlreadyAnsweredError),
    ):
        services.submit_answer(token, services.AnswerInput(score=1))
    assert Response.objects.count() == 1


def test_a_forged_or_tampered_link_is_refused(marketing: User) -> None:
    invitation = invite_one(make_survey(marketing), surveyable_contact(marketing))
    token = links.token_for(invitation)
    other = signing.TimestampSigner(salt="something else").sign(str(invitation.pk))
    for bad in (token[:-2] + "xx", other, f"{invitation.pk}", "nonsense"):
        with pytest.raises(links.LinkError) as caught:
            services.open_invitation(bad)
        assert not caught.value.expired


def test_an_old_link_has_expired(marketing: User) -> None:
    survey = make_survey(marketing, link_valid_days=10)
    invitation = invite_one(survey, surveyable_contact(marketing))
    eleven_days_ago = timezone.now() - timedelta(days=11)
    with mock.patch("django.core.signing.time.time", return_value=eleven_days_ago.timestamp()):
        token = links.token_for(invitation)
    with pytest.raises(links.LinkError) as caught:
        services.open_invitation(token)
    assert caught.value.expired


def test_sent_invitations_past_their_lifetime_expire(
    smtp_server: SmtpServer, marketing: User, on_commit: Run
) -> None:
    survey = make_survey(marketing, link_valid_days=5)
    result = on_commit(services.invite, marketing, survey, [surveyable_contact(marketing)])
    (invitation,) = result.invited
    assert services.expire_invitations(now=timezone.now() + timedelta(days=4)) == 0
    assert services.expire_invitations(now=timezone.now() + timedelta(days=6)) == 1
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.EXPIRED
    with pytest.raises(links.LinkError) as caught:
        services.open_invitation(links.token_for(invitation))
    assert caught.value.expired


def test_an_answer_arriving_while_expiring_is_kept(
    smtp_server: SmtpServer, marketing: User, on_commit: Run
) -> None:
    survey = make_survey(marketing, link_valid_days=5)
    result = on_commit(services.invite, marketing, survey, [surveyable_contact(marketing)])
    (invitation,) = result.invited
    stale = SurveyInvitation.objects.get(pk=invitation.pk)  # what the expiry job read
    answer(invitation, score=8)
    rows = mock.MagicMock()
    rows.order_by.return_value = [stale]
    with mock.patch.object(SurveyInvitation.objects, "filter", return_value=rows):
        assert services.expire_invitations(now=timezone.now() + timedelta(days=6)) == 0
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.ANSWERED


# --- classes for other apps and evangelists ------------------------------------------


def test_latest_classes_gives_each_contacts_latest_nps_and_csat(
    marketing: User, django_assert_num_queries: Any
) -> None:
    nps = make_survey(marketing, kind=SurveyKind.NPS)
    csat = make_survey(marketing, kind=SurveyKind.CSAT)
    ann, bob, cid = (surveyable_contact(marketing) for _ in range(3))
    answer(invite_one(nps, ann), score=2)
    answer(invite_one(nps, ann), score=10)  # the later one counts
    answer(invite_one(csat, ann), expectation=2, performance=4)
    answer(invite_one(csat, bob), expectation=3, performance=3)

    with django_assert_num_queries(1):
        latest = queries.latest_classes([ann.pk, bob.pk, cid.pk])

    assert (latest[ann.pk].nps_class, latest[ann.pk].nps_score) == ("promoter", 10)
    assert latest[ann.pk].csat_class == "delighted"
    assert (latest[bob.pk].nps_class, latest[bob.pk].csat_class) == ("", "satisfied")
    assert cid.pk not in latest


def test_latest_classes_reads_many_contacts_in_chunks(
    marketing: User, django_assert_num_queries: Any
) -> None:
    survey = make_survey(marketing)
    first, last = surveyable_contact(marketing), surveyable_contact(marketing)
    answer(invite_one(survey, first), score=0)
    answer(invite_one(survey, last), score=9)
    ids = [first.pk, *range(10**8, 10**8 + 2 * queries.CHUNK), last.pk]
    with django_assert_num_queries(3):
        latest = queries.latest_classes(ids)
    assert {key: value.nps_class for key, value in latest.items()} == {
        first.pk: "detractor",
        last.pk: "promoter",
    }
    assert queries.latest_classes([]) == {}


def test_a_promoter_customer_can_be_marked_evangelist(marketing: User, admin: User) -> None:
    survey = make_survey(marketing)
    contact = surveyable_contact(admin, lifecycle_stage=LifecycleStage.CUSTOMER)
    answer(invite_one(survey, contact), score=10)

    services.mark_evangelist(admin, contact)

    contact.refresh_from_db()
    assert contact.lifecycle_stage == LifecycleStage.EVANGELIST
    change = LifecycleChange.objects.get(contact=contact, to_stage=LifecycleStage.EVANGELIST)
    assert "Promoter: answered 10 of 10" in change.reason


def test_only_promoters_who_are_customers_become_evangelists(marketing: User, admin: User) -> None:
    survey = make_survey(marketing)
    passive = surveyable_contact(admin, lifecycle_stage=LifecycleStage.CUSTOMER)
    answer(invite_one(survey, passive), score=8)
    prospect = surveyable_contact(admin, lifecycle_stage=LifecycleStage.PROSPECT)
    answer(invite_one(survey, prospect), score=10)
    with pytest.raises(ValidationError, match="not a promoter"):
        services.mark_evangelist(admin, passive)
    with pytest.raises(ValidationError, match="not a customer"):
        services.mark_evangelist(admin, prospect)
