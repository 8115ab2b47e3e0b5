"""The only write path of surveys, invitations and answers.

Sending follows the house pattern (see ``reminders.outreach``): invitations
are written in the caller's transaction and handed to Huey after commit;
the job *claims* an invitation with one conditional UPDATE so two workers
never send the same one, sends outside any transaction, then records the
result. Temporary failures raise ``TemporarySendError`` so Huey retries the
job; after ``MAX_ATTEMPTS`` the invitation is failed. Consent for surveys is
checked when inviting and again when sending.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from smtplib import SMTPRecipientsRefused
from typing import Any, TypeGuard

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from rapport.core.mail import describe_send_failure
from rapport.core.permissions import Action, authorise, authorise_restore, can
from rapport.core.services import (
    ConflictError,
    create_record,
    move_to_trash,
    restore,
    save_changes,
)
from rapport.customers.choices import (
    CUSTOMER_STAGES,
    ConsentChannel,
    ConsentPurpose,
    LifecycleStage,
)
from rapport.customers.models import Contact
from rapport.customers.services import change_stage, may_contact
from rapport.interactions.choices import Channel, Direction, InteractionKind
from rapport.interactions.services import record_interaction
from rapport.satisfaction import links, scoring
from rapport.satisfaction.choices import (
    OPEN_STATUSES,
    InvitationStatus,
    NpsClass,
    SourceKind,
    SurveyKind,
)
from rapport.satisfaction.models import Response, Survey, SurveyInvitation
from rapport.trading.choices import DeliveryStatus
from rapport.trading.models import Delivery
from rapport.users.models import User

logger = logging.getLogger(__name__)

# Huey retries a failed send this many times (tasks.py); the last failure fails it.
RETRIES = 3
MAX_ATTEMPTS = RETRIES + 1
# A claim older than this belongs to a worker that died while sending.
STALE_CLAIM = timedelta(minutes=15)
MAX_DELAY_DAYS = 365
MAX_LINK_DAYS = 365
MAX_COMMENT = 5000

DEFAULT_QUESTIONS: dict[str, dict[str, str]] = {
    SurveyKind.CSAT: {
        "expectation_question": "Before, what did you expect from us?",
        "performance_question": "And how well did we actually do?",
        "comment_question": "What should we do better?",
    },
    SurveyKind.NPS: {
        "score_question": "How likely are you to recommend us to a friend or colleague?",
        "comment_question": "What is the main reason for your score?",
    },
}
SURVEY_FIELDS = frozenset(
    {"name", "intro", "expectation_question", "performance_question", "score_question",
     "comment_question", "is_active", "link_valid_days", "after_delivery_days",
     "after_ticket_days", "owner"}
)  # fmt: skip


def trigger_window() -> timedelta:
    """How far back the trigger job looks past the delay (so it never mails old history)."""
    return timedelta(days=int(getattr(settings, "SATISFACTION_TRIGGER_WINDOW_DAYS", 7)))


class TemporarySendError(Exception):
    """The mail server did not take the invitation this time; Huey tries again."""


class AlreadyAnsweredError(Exception):
    """This invitation has its answer already."""


# --- surveys -----------------------------------------------------------------------


@dataclass
class SurveyInput:
    name: str
    kind: str
    intro: str = ""
    expectation_question: str = ""
    performance_question: str = ""
    score_question: str = ""
    comment_question: str = ""
    is_active: bool = True
    link_valid_days: int = 30
    after_delivery_days: int | None = None
    after_ticket_days: int | None = None
    owner: User | None = None


def create_survey(actor: User | None, data: SurveyInput) -> Survey:
    authorise(actor, Action.ADD, Survey)
    if data.kind not in SurveyKind.values:
        raise ValidationError({"kind": [f"Use one of {', '.join(SurveyKind.values)}."]})
    values = _clean_survey(data.kind, {name: getattr(data, name) for name in SURVEY_FIELDS})
    survey = Survey(kind=data.kind, **values)
    if survey.owner is None:
        survey.owner = actor
    with transaction.atomic():
        create_record(survey, actor=actor, reason="Created")
    return survey


def update_survey(
    actor: User | None,
    survey: Survey,
    changes: Mapping[str, Any],
    *,
    expected_version: int | None = None,
) -> Survey:
    """Change a survey's texts, triggers and link lifetime; its kind never changes."""
    authorise(actor, Action.CHANGE, survey)
    if "kind" in changes and changes["kind"] != survey.kind:
        raise ValidationError(
            {"kind": ["A survey keeps its kind (its answers depend on it); create a new one."]}
        )
    unknown = set(changes) - SURVEY_FIELDS - {"kind"}
    if unknown:
        raise ValidationError({name: ["This field cannot be changed here."] for name in unknown})
    merged = {name: getattr(survey, name) for name in SURVEY_FIELDS}
    merged.update({k: v for k, v in changes.items() if k != "kind"})
    values = _clean_survey(survey.kind, merged)
    changed = {name: value for name, value in values.items() if getattr(survey, name) != value}
    if not changed:
        return survey
    return save_changes(
        survey, changed, actor=actor, expected_version=expected_version, reason="Changed"
    )


def trash_survey(
    actor: User | None, survey: Survey, *, expected_version: int | None = None
) -> Survey:
    """To the trash: no more invitations or answers; the answers given stay in reports."""
    authorise(actor, Action.DELETE, survey)
    return move_to_trash(survey, actor=actor, expected_version=expected_version)


def restore_survey(actor: User | None, survey: Survey) -> Survey:
    authorise_restore(actor)
    return restore(survey, actor=actor)


def _clean_survey(kind: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    name = str(raw.get("name") or "").strip()
    if not name:
        errors["name"] = ["A name is required."]
    elif len(name) > 150:
        errors["name"] = ["At most 150 characters."]
    values["name"] = name
    values["intro"] = str(raw.get("intro") or "").strip()
    defaults = DEFAULT_QUESTIONS[kind]
    for question in ("expectation_question", "performance_question", "score_question",
                     "comment_question"):  # fmt: skip
        text = str(raw.get(question) or "").strip() or defaults.get(question, "")
        if question not in defaults:
            text = ""  # a question the kind does not ask
        if len(text) > 300:
            errors[question] = ["At most 300 characters."]
        values[question] = text
    values["is_active"] = bool(raw.get("is_active", True))
    link_days = raw.get("link_valid_days")
    if not _whole(link_days) or not 1 <= link_days <= MAX_LINK_DAYS:
        errors["link_valid_days"] = [f"A whole number of days from 1 to {MAX_LINK_DAYS}."]
    values["link_valid_days"] = link_days
    for delay in ("after_delivery_days", "after_ticket_days"):
        days = raw.get(delay)
        if days is not None and (not _whole(days) or not 0 <= days <= MAX_DELAY_DAYS):
            errors[delay] = [
                f"Leave empty to turn it off, or a whole number of days from 0 to {MAX_DELAY_DAYS}."
            ]
        values[delay] = days
    values["owner"] = raw.get("owner")
    if errors:
        raise ValidationError(errors)
    return values


def _whole(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


# --- invitations -------------------------------------------------------------------


@dataclass
class InviteResult:
    invited: list[SurveyInvitation] = field(default_factory=list)
    # Contact id → why it was not invited.
    skipped: dict[int, str] = field(default_factory=dict)


def why_not_invite(contact: Contact) -> str:
    """Why this contact cannot get a survey by e-mail, or ""."""
    if contact.deleted_at is not None:
        return f"{contact} is in the trash."
    if not contact.email:
        return f"{contact} has no e-mail address."
    if not may_contact(contact, channel=ConsentChannel.EMAIL, purpose=ConsentPurpose.SURVEYS):
        return f"{contact} has not agreed to surveys by e-mail."
    return ""


def invite(
    actor: User | None,
    survey: Survey,
    contacts: Iterable[Contact],
    *,
    source_kind: str = "",
    source_id: int | None = None,
) -> InviteResult:
    """Queue one invitation per contact that may receive it; sending starts after commit.

    Skipped (with the reason): no e-mail, no consent for surveys, or an open
    invitation to this survey already. ``source_*`` names the delivery or
    ticket that triggered it; the same source never gets a second one.
    """
    authorise(actor, Action.ADD, SurveyInvitation)
    if survey.deleted_at is not None or not survey.is_active:
        raise ValidationError({"survey": [f"{survey} is not active; activate it first."]})
    if (source_id is None) != (not source_kind) or (
        source_kind and source_kind not in SourceKind.values
    ):
        raise ValidationError({"source": ["Give both the kind and the id of the source."]})
    people = list({contact.pk: contact for contact in contacts}.values())
    if actor is not None:
        for contact in people:
            if not can(actor, Action.VIEW, contact):
                raise ValidationError({"contacts": [f"No contact with id {contact.pk}."]})
    result = InviteResult()
    open_for = set(
        SurveyInvitation.objects.filter(
            survey=survey, contact__in=people, status__in=OPEN_STATUSES
        ).values_list("contact_id", flat=True)
    )
    with transaction.atomic():
        for contact in people:
            reason = why_not_invite(contact)
            if not reason and contact.pk in open_for:
                reason = f"{contact} has an open invitation to this survey already."
            if reason:
                result.skipped[contact.pk] = reason
                continue
            invitation = SurveyInvitation(
                survey=survey, contact=contact, source_kind=source_kind, source_id=source_id
            )
            try:
                with transaction.atomic():
                    create_record(invitation, actor=actor, reason="Invited")
            except IntegrityError:
                # Another run of the trigger job invited for this source meanwhile.
                result.skipped[contact.pk] = "Invited for this already."
                continue
            result.invited.append(invitation)
        ids = [invitation.pk for invitation in result.invited]
        if ids:
            transaction.on_commit(lambda: _enqueue(ids))
    return result


def _enqueue(ids: list[int]) -> None:
    from rapport.satisfaction.tasks import send_invitation

    for invitation_id in ids:
        send_invitation(invitation_id)


def _claimable(now: datetime) -> Q:
    return Q(status=InvitationStatus.QUEUED) & (
        Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - STALE_CLAIM)
    )


def deliver(invitation_id: int) -> str | None:
    """Claim, check and send one invitation; its status after, or None if not claimed.

    Raises ``TemporarySendError`` when the mail server failed this time and
    attempts remain (Huey retries the job).
    """
    now = timezone.now()
    with transaction.atomic():
        won = SurveyInvitation.objects.filter(_claimable(now), pk=invitation_id).update(
            claimed_at=now, attempts=models.F("attempts") + 1
        )
    if not won:
        return None
    invitation = SurveyInvitation.objects.select_related("survey", "contact").get(pk=invitation_id)
    try:
        return _attempt(invitation)
    except TemporarySendError:
        raise
    except Exception:
        # Whatever went wrong, the row must not stay claimed until the claim goes stale.
        logger.exception("Survey invitation %s could not be sent", invitation_id)
        _finish(
            invitation,
            InvitationStatus.FAILED,
            last_error="Sending failed unexpectedly; see the worker's log.",
        )
        return InvitationStatus.FAILED


def _attempt(invitation: SurveyInvitation) -> str:
    contact, survey = invitation.contact, invitation.survey
    reason = why_not_invite(contact)
    if not reason and (survey.deleted_at is not None or not survey.is_active):
        reason = f"The survey {survey} was turned off."
    if reason:
        _finish(invitation, InvitationStatus.FAILED, last_error=reason)
        return InvitationStatus.FAILED
    context = {
        "first_name": contact.first_name or str(contact),
        "survey": survey,
        "url": links.url_for(invitation),
        "days": survey.link_valid_days,
    }
    subject = render_to_string("satisfaction/email_subject.txt", context).strip()
    body = render_to_string("satisfaction/email_body.txt", context)
    try:
        EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [contact.email]).send()
    except Exception as error:
        message = describe_send_failure(error)[:300]
        if invitation.attempts >= MAX_ATTEMPTS or _refused_for_good(error):
            _finish(invitation, InvitationStatus.FAILED, last_error=message)
            return InvitationStatus.FAILED
        _finish(invitation, InvitationStatus.QUEUED, last_error=message)
        raise TemporarySendError(message) from error
    sent = timezone.now()
    with transaction.atomic():
        _finish(
            invitation,
            InvitationStatus.SENT,
            sent_at=sent,
            expires_at=sent + timedelta(days=survey.link_valid_days),
            email=contact.email,
            last_error="",
        )
        record_interaction(
            None,
            kind=InteractionKind.SURVEY,
            subject=f"Survey sent: {survey.name}",
            contact=contact,
            occurred_at=sent,
            channel=Channel.EMAIL,
            direction=Direction.OUTBOUND,
            source=invitation,
            dedupe_key=f"survey-invitation:{invitation.pk}:sent",
        )
    return InvitationStatus.SENT


def _finish(invitation: SurveyInvitation, status: str, **values: Any) -> None:
    save_changes(
        invitation,
        {"status": status, "claimed_at": None, **values},
        actor=None,
        reason=InvitationStatus(status).label,
    )


def _refused_for_good(error: BaseException) -> bool:
    """The server refused the address itself (5xx for every recipient): retrying cannot help."""
    if not isinstance(error, SMTPRecipientsRefused) or not error.recipients:
        return False
    return all(code >= 500 for code, _ in error.recipients.values())


def resend(actor: User | None, invitation: SurveyInvitation) -> SurveyInvitation:
    """Queue a failed invitation again with a fresh set of attempts."""
    authorise(actor, Action.CHANGE, invitation)
    with transaction.atomic():
        fresh = SurveyInvitation.objects.select_for_update().get(pk=invitation.pk)
        if fresh.status != InvitationStatus.FAILED:
            raise ValidationError(
                {"status": [f"Only failed invitations are sent again; this one is "
                            f"{fresh.get_status_display().lower()}."]}
            )  # fmt: skip
        save_changes(
            fresh,
            {"status": InvitationStatus.QUEUED, "attempts": 0, "last_error": ""},
            actor=actor,
            reason="Send again",
        )
        ids = [fresh.pk]
        transaction.on_commit(lambda: _enqueue(ids))
    return fresh


def deliver_lost(*, older_than: timedelta = STALE_CLAIM) -> int:
    """Send invitations whose job never ran (the queue lost it) or whose worker died."""
    now = timezone.now()
    ids = list(
        SurveyInvitation.objects.filter(_claimable(now), created_at__lt=now - older_than)
        .filter(Q(attempts=0) | Q(claimed_at__isnull=False))
        .order_by("id")
        .values_list("pk", flat=True)[:500]
    )
    sent = 0
    for invitation_id in ids:
        try:
            sent += deliver(invitation_id) == InvitationStatus.SENT
        except TemporarySendError:
            logger.warning("Survey invitation %s: sending failed, will retry", invitation_id)
    return sent


def expire_invitations(*, now: datetime | None = None) -> int:
    """Sent invitations past their link's lifetime become expired."""
    moment = now or timezone.now()
    expired = 0
    rows = SurveyInvitation.objects.filter(status=InvitationStatus.SENT, expires_at__lt=moment)
    for invitation in rows.order_by("id")[:1000]:
        try:
            # With the version read: an answer that arrived meanwhile is not overwritten.
            save_changes(
                invitation,
                {"status": InvitationStatus.EXPIRED},
                actor=None,
                expected_version=invitation.version,
                reason="Expired",
            )
        except ConflictError:
            continue
        expired += 1
    return expired


# --- answers -----------------------------------------------------------------------


@dataclass
class AnswerInput:
    expectation: int | None = None
    performance: int | None = None
    score: int | None = None
    comment: str = ""


def open_invitation(token: str) -> SurveyInvitation:
    """The invitation behind a public link, if it may still be answered.

    Raises ``links.LinkError`` (bad or expired link) or ``AlreadyAnsweredError``.
    """
    invitation = links.invitation_for(token)
    if invitation.status == InvitationStatus.ANSWERED:
        raise AlreadyAnsweredError
    if invitation.status == InvitationStatus.EXPIRED or (
        invitation.expires_at is not None and invitation.expires_at < timezone.now()
    ):
        raise links.LinkError("This link has expired.", expired=True)
    if not invitation.survey.is_active:
        raise links.LinkError("This survey is closed.")
    return invitation


def submit_answer(token: str, data: AnswerInput) -> Response:
    """The customer's answer from the public page: validated, stored once, on the timeline."""
    invitation = open_invitation(token)
    survey = invitation.survey
    response = Response(
        survey=survey,
        invitation=invitation,
        contact=invitation.contact,
        kind=survey.kind,
        comment=_clean_comment(data.comment),
        answered_at=timezone.now(),
    )
    if survey.kind == SurveyKind.CSAT:
        expectation = _scale(data.expectation, "expectation", scoring.CSAT_MIN, scoring.CSAT_MAX)
        performance = _scale(data.performance, "performance", scoring.CSAT_MIN, scoring.CSAT_MAX)
        response.expectation, response.performance = expectation, performance
        response.gap = scoring.satisfaction_gap(expectation, performance)
        response.csat_class = scoring.csat_class(response.gap)
        summary = f"{response.get_csat_class_display()} (expected {expectation}, got {performance})"
    else:
        response.score = _scale(data.score, "score", scoring.NPS_MIN, scoring.NPS_MAX)
        response.nps_class = scoring.nps_class(response.score)
        summary = f"{response.get_nps_class_display()} ({response.score} of 10)"
    try:
        with transaction.atomic():
            create_record(response, actor=None, reason="Answered")
            save_changes(
                invitation,
                {"status": InvitationStatus.ANSWERED, "answered_at": response.answered_at},
                actor=None,
                reason="Answered",
            )
            record_interaction(
                None,
                kind=InteractionKind.SURVEY,
                subject=f"{survey.name}: {summary}",
                body=response.comment,
                contact=invitation.contact,
                occurred_at=response.answered_at,
                channel=Channel.WEB,
                direction=Direction.INBOUND,
                source=response,
                dedupe_key=f"survey-response:{invitation.pk}",
            )
    except IntegrityError:
        # Two submits at the same moment: the one-answer-per-invitation constraint
        # let the first in; this one is the second.
        if Response.objects.filter(invitation=invitation).exists():
            raise AlreadyAnsweredError from None
        raise
    return response


def _scale(value: Any, name: str, low: int, high: int) -> int:
    if value is None or value == "":
        raise ValidationError({name: ["Choose a value."]})
    if not _whole(value) or not low <= value <= high:
        raise ValidationError({name: [f"Choose a whole number from {low} to {high}."]})
    return int(value)


def _clean_comment(raw: Any) -> str:
    comment = str(raw or "").strip()
    if len(comment) > MAX_COMMENT:
        raise ValidationError({"comment": [f"At most {MAX_COMMENT} characters."]})
    return comment


# --- evangelists -------------------------------------------------------------------


def mark_evangelist(actor: User | None, contact: Contact) -> Contact:
    """A promoter who is a customer becomes an evangelist (a staff decision, recorded)."""
    from rapport.satisfaction.queries import latest_classes

    authorise(actor, Action.CHANGE, contact)
    latest = latest_classes([contact.pk]).get(contact.pk)
    if latest is None or latest.nps_class != NpsClass.PROMOTER:
        raise ValidationError(
            {"contact": [f"{contact} is not a promoter: their latest NPS answer is not 9 or 10."]}
        )
    if contact.lifecycle_stage == LifecycleStage.EVANGELIST:
        raise ValidationError({"contact": [f"{contact} is an evangelist already."]})
    if contact.lifecycle_stage not in CUSTOMER_STAGES:
        raise ValidationError(
            {"contact": [f"{contact} is not a customer yet; only customers become evangelists."]}
        )
    reason = f"Promoter: answered {latest.nps_score} of 10 on {latest.nps_answered_at:%Y-%m-%d}"
    result = change_stage(actor, contact, LifecycleStage.EVANGELIST, reason=reason)
    assert isinstance(result, Contact)
    return result


# --- triggers ----------------------------------------------------------------------


@dataclass
class TriggerRun:
    invited: int = 0
    skipped: int = 0


def run_triggers(*, now: datetime | None = None) -> TriggerRun:
    """The periodic job: invite after deliveries and resolved tickets, once per source.

    Looks at sources that became due in the last ``trigger_window()``: a
    delivery that arrived ``after_delivery_days`` ago, a ticket resolved
    ``after_ticket_days`` ago. Idempotent: a source with an invitation for the
    survey is left out (and the unique constraint stops a concurrent run).
    """
    moment = now or timezone.now()
    run = TriggerRun()
    surveys = Survey.objects.live().filter(is_active=True)
    for survey in surveys.filter(after_delivery_days__isnull=False).order_by("id"):
        until = moment - timedelta(days=survey.after_delivery_days or 0)
        rows = (
            Delivery.objects.filter(
                status=DeliveryStatus.DELIVERED,
                delivered_at__gt=until - trigger_window(),
                delivered_at__lte=until,
                order__contact__isnull=False,
                order__contact__deleted_at__isnull=True,
            )
            .exclude(pk__in=_taken(survey, SourceKind.DELIVERY))
            .select_related("order__contact")
            .order_by("id")
        )
        for delivery in rows:
            contact = delivery.order.contact
            assert contact is not None
            _trigger(run, survey, contact, SourceKind.DELIVERY, delivery.pk)
    ticket_model = _ticket_model()
    if ticket_model is None:
        return run
    for survey in surveys.filter(after_ticket_days__isnull=False).order_by("id"):
        until = moment - timedelta(days=survey.after_ticket_days or 0)
        tickets = (
            ticket_model._default_manager.filter(
                status__in=("resolved", "closed"),
                resolved_at__gt=until - trigger_window(),
                resolved_at__lte=until,
                contact__isnull=False,
                contact__deleted_at__isnull=True,
                deleted_at__isnull=True,
            )
            .exclude(pk__in=_taken(survey, SourceKind.TICKET))
            .select_related("contact")
            .order_by("id")
        )
        # The contract with the service desk: Ticket.contact, status, resolved_at.
        for ticket_id, contact in ((t.pk, getattr(t, "contact")) for t in tickets):  # noqa: B009
            _trigger(run, survey, contact, SourceKind.TICKET, ticket_id)
    return run


def _taken(survey: Survey, kind: str) -> Any:
    return SurveyInvitation.objects.filter(survey=survey, source_kind=kind).values("source_id")


def _trigger(run: TriggerRun, survey: Survey, contact: Contact, kind: str, source_id: int) -> None:
    result = invite(None, survey, [contact], source_kind=kind, source_id=source_id)
    run.invited += len(result.invited)
    run.skipped += len(result.skipped)


def _ticket_model() -> type[models.Model] | None:
    """The service desk's Ticket, looked up by name so surveys work without that app."""
    try:
        return apps.get_model("service", "Ticket")
    except LookupError:
        return None
