"""The only write path of the service desk.

Every ticket event a customer would notice (opened, a public reply, their
own e-mail, resolved, closed, reopened) writes its timeline entry through
``record_interaction`` in the same transaction, with a ``dedupe_key``; internal
notes and assignments do not. Replies are e-mailed after commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage, make_msgid
from django.db import IntegrityError, transaction
from django.utils import timezone

from rapport.core.mail import describe_send_failure
from rapport.core.permissions import Action, Role, authorise, can, role_of
from rapport.core.services import create_record, move_to_trash, restore, save_changes
from rapport.customers.models import Company, Contact, ContactEmail
from rapport.interactions.choices import Channel, Direction, InteractionKind
from rapport.interactions.services import record_interaction
from rapport.service import conf, sla
from rapport.service.choices import (
    ACTIVE_STATUSES,
    TRANSITIONS,
    AlertKind,
    Delivery,
    MessageKind,
    Priority,
    TicketChannel,
    TicketStatus,
)
from rapport.service.models import (
    BusinessCalendar,
    Holiday,
    SlaPolicy,
    Ticket,
    TicketAlert,
    TicketMessage,
)
from rapport.service.permissions import authorise_on, may
from rapport.trading.models import Asset
from rapport.users.models import Team, User

TICKET_FIELDS = frozenset(
    {"subject", "description", "contact", "company", "asset", "priority", "assignee", "team",
     "channel"}
)  # fmt: skip
CHANNEL_OF = {
    TicketChannel.EMAIL: Channel.EMAIL,
    TicketChannel.PHONE: Channel.PHONE,
    TicketChannel.WEB: Channel.WEB,
    TicketChannel.IN_PERSON: Channel.IN_PERSON,
}
WORKING_ROLES = frozenset({Role.ADMIN, Role.MANAGER, Role.SERVICE, Role.SALES})


@dataclass
class TicketInput:
    subject: str
    description: str = ""
    contact: Contact | None = None
    company: Company | None = None
    asset: Asset | None = None
    priority: str = Priority.NORMAL
    assignee: User | None = None
    team: Team | None = None
    channel: str = TicketChannel.WEB
    requester_email: str = ""


# --- calendars and SLA policies (admins) ------------------------------------------


def _check_calendar(values: Mapping[str, Any]) -> None:
    try:
        sla.check_schedule(
            values["time_zone"],
            frozenset(values["working_days"]),
            values["day_start"],
            values["day_end"],
        )
    except sla.ScheduleError as error:
        text = str(error)
        field = (
            "time_zone"
            if "zone" in text
            else "working_days"
            if "day" in text and "working day must" not in text
            else "day_end"
        )
        raise ValidationError({field: [text]}) from None
    except TypeError:
        raise ValidationError({"working_days": ["A list of weekday numbers, 0 to 6."]}) from None


def _calendar_values(calendar: BusinessCalendar) -> dict[str, Any]:
    return {
        "time_zone": calendar.time_zone,
        "working_days": calendar.working_days,
        "day_start": calendar.day_start,
        "day_end": calendar.day_end,
    }


CALENDAR_FIELDS = frozenset({"name", "time_zone", "working_days", "day_start", "day_end"})


def create_calendar(actor: User | None, **values: Any) -> BusinessCalendar:
    authorise(actor, Action.ADD, BusinessCalendar)
    _unknown(values, CALENDAR_FIELDS)
    calendar = BusinessCalendar(**values)
    calendar.working_days = sorted(set(calendar.working_days or []))
    _check_calendar(_calendar_values(calendar))
    _check_name(BusinessCalendar, calendar.name)
    with transaction.atomic():
        return create_record(calendar, actor=actor, reason="Created")


def update_calendar(
    actor: User | None,
    calendar: BusinessCalendar,
    changes: Mapping[str, Any],
    *,
    expected_version: int | None = None,
) -> BusinessCalendar:
    """Change a calendar; open tickets keep the due times they were given."""
    authorise(actor, Action.CHANGE, calendar)
    _unknown(changes, CALENDAR_FIELDS)
    values = dict(changes)
    if "working_days" in values:
        values["working_days"] = sorted(set(values["working_days"] or []))
    _check_calendar({**_calendar_values(calendar), **values})
    if "name" in values:
        _check_name(BusinessCalendar, values["name"], exclude=calendar.pk)
    return save_changes(
        calendar, values, actor=actor, expected_version=expected_version, reason="Edited"
    )


def add_holiday(
    actor: User | None, calendar: BusinessCalendar, day: dt.date, name: str = ""
) -> Holiday:
    authorise(actor, Action.CHANGE, calendar)
    if Holiday.objects.filter(calendar=calendar, date=day).exists():
        raise ValidationError({"date": [f"{day:%Y-%m-%d} is already a holiday of {calendar}."]})
    holiday = Holiday(calendar=calendar, date=day, name=name.strip()[:100])
    holiday._history_user = actor  # type: ignore[attr-defined]
    holiday.save()
    return holiday


def remove_holiday(actor: User | None, holiday: Holiday) -> None:
    authorise(actor, Action.CHANGE, holiday.calendar)
    holiday._history_user = actor  # type: ignore[attr-defined]
    holiday.delete()


POLICY_FIELDS = frozenset(
    {"name", "priority", "calendar", "first_response_minutes", "resolution_minutes",
     "warning_minutes"}
)  # fmt: skip


def _check_policy(policy: SlaPolicy, exclude: int | None = None) -> None:
    errors: dict[str, list[str]] = {}
    if not (policy.name or "").strip():
        errors["name"] = ["Give the policy a name."]
    if policy.priority not in Priority.values:
        errors["priority"] = [f"One of: {', '.join(Priority.values)}."]
    elif SlaPolicy.objects.filter(priority=policy.priority).exclude(pk=exclude or 0).exists():
        errors["priority"] = [f"There is already a policy for {policy.priority} tickets."]
    for name in ("first_response_minutes", "resolution_minutes"):
        value = getattr(policy, name)
        if not isinstance(value, int) or value <= 0:
            errors[name] = ["A positive number of business minutes."]
    if not errors and policy.resolution_minutes < policy.first_response_minutes:
        errors["resolution_minutes"] = ["Resolution cannot be due before the first response."]
    if not isinstance(policy.warning_minutes, int) or policy.warning_minutes < 0:
        errors["warning_minutes"] = ["Zero or more minutes."]
    if policy.calendar_id is None:
        errors["calendar"] = ["Choose the business calendar."]
    if errors:
        raise ValidationError(errors)


def create_sla_policy(actor: User | None, **values: Any) -> SlaPolicy:
    authorise(actor, Action.ADD, SlaPolicy)
    _unknown(values, POLICY_FIELDS)
    policy = SlaPolicy(**values)
    _check_policy(policy)
    with transaction.atomic():
        return create_record(policy, actor=actor, reason="Created")


def update_sla_policy(
    actor: User | None,
    policy: SlaPolicy,
    changes: Mapping[str, Any],
    *,
    expected_version: int | None = None,
) -> SlaPolicy:
    """Change a policy; it applies to tickets opened (or re-prioritised) from now on."""
    authorise(actor, Action.CHANGE, policy)
    _unknown(changes, POLICY_FIELDS)
    candidate = SlaPolicy(**{**{f: getattr(policy, f) for f in POLICY_FIELDS}, **changes})
    _check_policy(candidate, exclude=policy.pk)
    return save_changes(
        policy, dict(changes), actor=actor, expected_version=expected_version, reason="Edited"
    )


# --- SLA due times -------------------------------------------------------------------


def policy_for(priority: str) -> SlaPolicy | None:
    return SlaPolicy.objects.select_related("calendar").filter(priority=priority).first()


def schedule_of(policy: SlaPolicy) -> sla.Schedule:
    return policy.calendar.schedule()


def due_times(ticket: Ticket, policy: SlaPolicy | None) -> dict[str, Any]:
    """The SLA fields of ``ticket`` under ``policy`` (targets counted from ``created_at``)."""
    if policy is None:
        return {"sla_policy": None, "first_response_due": None, "resolution_due": None}
    schedule = schedule_of(policy)
    first = sla.add_business_minutes(schedule, ticket.created_at, policy.first_response_minutes)
    resolution: dt.datetime | None = sla.add_business_minutes(
        schedule, ticket.created_at, policy.resolution_minutes + ticket.paused_minutes
    )
    if ticket.status == TicketStatus.PENDING_CUSTOMER:
        resolution = None  # the clock is paused
    return {"sla_policy": policy, "first_response_due": first, "resolution_due": resolution}


# --- tickets ---------------------------------------------------------------------------


def open_ticket(
    actor: User | None,
    data: TicketInput,
    *,
    message_id: str = "",
    from_address: str = "",
    now: dt.datetime | None = None,
) -> Ticket:
    """Open a ticket (from a form, the API or an inbound e-mail) with its SLA due times."""
    authorise(actor, Action.ADD, Ticket)
    now = now or timezone.now()
    ticket = Ticket(
        subject=_subject(data.subject),
        description=data.description or "",
        contact=data.contact,
        company=data.company,
        asset=data.asset,
        priority=data.priority,
        assignee=data.assignee,
        team=data.team if data.team is not None else _default_team(actor, data.assignee),
        channel=data.channel,
        requester_email=(data.requester_email or "").strip().lower(),
        status=TicketStatus.NEW,
        status_changed_at=now,
        last_message_at=now,
    )
    _check_ticket(actor, ticket)
    if actor is not None and not may(actor, Action.ADD, ticket):
        raise PermissionDenied("You may open tickets only for your own team.")
    ticket.created_at = now
    for name, value in due_times(ticket, policy_for(ticket.priority)).items():
        setattr(ticket, name, value)
    with transaction.atomic():
        create_record(ticket, actor=actor, reason="Opened")
        ticket.created_at = now  # create_record stamps its own clock
        Ticket.objects.filter(pk=ticket.pk).update(created_at=now, updated_at=now)
        if message_id or data.channel == TicketChannel.EMAIL:
            TicketMessage.objects.create(
                ticket=ticket,
                kind=MessageKind.INBOUND,
                from_address=from_address or ticket.requester_email,
                body=ticket.description,
                message_id=message_id,
                created_at=now,
                updated_at=now,
            )
        _timeline(
            actor,
            ticket,
            f"Ticket {ticket.reference} opened: {ticket.subject}",
            body=ticket.description,
            direction=Direction.INBOUND,
            key=f"ticket:{ticket.pk}:opened",
            at=now,
        )
    return ticket


def update_ticket(
    actor: User | None,
    ticket: Ticket,
    changes: Mapping[str, Any],
    *,
    expected_version: int | None = None,
) -> Ticket:
    """Change a ticket's fields; a new priority takes the due times of its policy."""
    authorise_on(actor, Action.CHANGE, ticket)
    _unknown(changes, TICKET_FIELDS)
    values = dict(changes)
    if "subject" in values:
        values["subject"] = _subject(values["subject"])
    if "description" in values:
        values["description"] = values["description"] or ""
    candidate = Ticket(**{**{f: getattr(ticket, f) for f in TICKET_FIELDS}, **values})
    candidate.status = ticket.status
    _check_ticket(actor, candidate)
    if actor is not None and not may(actor, Action.CHANGE, candidate):
        raise PermissionDenied("You may not hand this ticket to another team.")
    if "priority" in values and values["priority"] != ticket.priority:
        candidate.created_at = ticket.created_at
        candidate.paused_minutes = ticket.paused_minutes
        values.update(due_times(candidate, policy_for(values["priority"])))
        if ticket.first_response_at is not None:
            values.pop("first_response_due")  # what was promised then was met or missed then
    return save_changes(
        ticket, values, actor=actor, expected_version=expected_version, reason="Edited"
    )


def change_status(
    actor: User | None,
    ticket: Ticket,
    status: str,
    *,
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> Ticket:
    """Move a ticket along its allowed transitions; pending the customer pauses resolution."""
    authorise_on(actor, Action.CHANGE, ticket)
    if status not in TicketStatus.values:
        raise ValidationError({"status": [f"One of: {', '.join(TicketStatus.values)}."]})
    if status == ticket.status:
        return ticket
    if status not in TRANSITIONS[ticket.status]:
        allowed = ", ".join(
            TicketStatus(s).label.lower() for s in sorted(TRANSITIONS[ticket.status])
        )
        raise ValidationError(
            {
                "status": [
                    f"A {ticket.get_status_display().lower()} ticket cannot become "
                    f"{TicketStatus(status).label.lower()}"
                    + (f"; it can become {allowed}." if allowed else "; it is final.")
                ]
            }
        )
    now = now or timezone.now()
    values: dict[str, Any] = {"status": status, "status_changed_at": now}
    policy = ticket.sla_policy
    if ticket.status == TicketStatus.PENDING_CUSTOMER and policy is not None:
        paused_since = ticket.status_changed_at or now
        values["paused_minutes"] = ticket.paused_minutes + max(
            0, sla.business_minutes_between(schedule_of(policy), paused_since, now)
        )
    if status == TicketStatus.PENDING_CUSTOMER:
        values["resolution_due"] = None
    elif policy is not None and ticket.status == TicketStatus.PENDING_CUSTOMER:
        values["resolution_due"] = sla.add_business_minutes(
            schedule_of(policy),
            ticket.created_at,
            policy.resolution_minutes + values["paused_minutes"],
        )
    if status == TicketStatus.RESOLVED:
        values["resolved_at"] = now
    elif status == TicketStatus.CLOSED:
        values["closed_at"] = now
        if ticket.resolved_at is None:
            values["resolved_at"] = now
    elif ticket.status in (TicketStatus.RESOLVED,):
        values["resolved_at"] = None  # reopened: it is not resolved any more
        if policy is not None:
            values["resolution_due"] = sla.add_business_minutes(
                schedule_of(policy),
                ticket.created_at,
                policy.resolution_minutes + ticket.paused_minutes,
            )
    previous = ticket.status
    with transaction.atomic():
        save_changes(
            ticket,
            values,
            actor=actor,
            expected_version=expected_version,
            reason=f"Status {previous} → {status}",
        )
        headline = {
            TicketStatus.RESOLVED: "resolved",
            TicketStatus.CLOSED: "closed",
            TicketStatus.PENDING_CUSTOMER: "waiting for the customer",
        }.get(TicketStatus(status), "reopened" if previous in (TicketStatus.RESOLVED,) else "")
        if headline:
            _timeline(
                actor,
                ticket,
                f"Ticket {ticket.reference} {headline}: {ticket.subject}",
                direction=Direction.OUTBOUND,
                key=f"ticket:{ticket.pk}:status:{ticket.version}",
                at=now,
            )
    return ticket


def reply(
    actor: User | None,
    ticket: Ticket,
    body: str,
    *,
    status: str | None = None,
    now: dt.datetime | None = None,
) -> TicketMessage:
    """A public reply: on the conversation, e-mailed to the customer after commit.

    The first one meets the first-response target. ``status`` optionally moves
    the ticket in the same step (e.g. reply and wait for the customer).
    """
    authorise_on(actor, Action.CHANGE, ticket)
    body = _body(body)
    recipient = recipient_of(ticket)
    now = now or timezone.now()
    with transaction.atomic():
        message = TicketMessage(
            ticket=ticket,
            kind=MessageKind.REPLY,
            author=actor,
            from_address=conf.reply_from(),
            to_address=recipient,
            body=body,
            message_id=make_msgid(idstring=ticket.reference, domain=conf.mail_domain()),
            in_reply_to=_last_customer_message_id(ticket),
            delivery=Delivery.PENDING if recipient else Delivery.NOT_SENT,
            created_at=now,
            updated_at=now,
        )
        create_record(message, actor=actor, reason="Replied")
        message.created_at = now
        TicketMessage.objects.filter(pk=message.pk).update(created_at=now)
        changes: dict[str, Any] = {"last_message_at": now}
        if ticket.first_response_at is None:
            changes["first_response_at"] = now
        save_changes(ticket, changes, actor=actor, reason="Replied")
        if ticket.status == TicketStatus.NEW and status is None:
            change_status(actor, ticket, TicketStatus.OPEN, now=now)
        if status is not None and status != ticket.status:
            change_status(actor, ticket, status, now=now)
        _timeline(
            actor,
            ticket,
            f"Reply on {ticket.reference}: {ticket.subject}",
            body=body,
            direction=Direction.OUTBOUND,
            channel=Channel.EMAIL
            if recipient
            else CHANNEL_OF.get(TicketChannel(ticket.channel), ""),
            key=f"ticket-message:{message.pk}",
            at=now,
            source=message,
        )
        if recipient:
            transaction.on_commit(lambda: _enqueue_send(message.pk))
    return message


def add_note(actor: User | None, ticket: Ticket, body: str) -> TicketMessage:
    """An internal note: colleagues see it, the customer never does (no e-mail, no timeline)."""
    authorise_on(actor, Action.CHANGE, ticket)
    message = TicketMessage(ticket=ticket, kind=MessageKind.NOTE, author=actor, body=_body(body))
    with transaction.atomic():
        create_record(message, actor=actor, reason="Noted")
    return message


def assign(
    actor: User | None,
    ticket: Ticket,
    assignee: User | None,
    *,
    expected_version: int | None = None,
) -> Ticket:
    return update_ticket(actor, ticket, {"assignee": assignee}, expected_version=expected_version)


def trash_ticket(
    actor: User | None, ticket: Ticket, *, expected_version: int | None = None
) -> Ticket:
    authorise_on(actor, Action.DELETE, ticket)
    return move_to_trash(ticket, actor=actor, expected_version=expected_version)


def restore_ticket(actor: User | None, ticket: Ticket) -> Ticket:
    if actor is not None and role_of(actor) != Role.ADMIN:
        raise PermissionDenied("Only admins restore records from the trash.")
    return restore(ticket, actor=actor)


def receive_message(
    ticket: Ticket,
    *,
    body: str,
    from_address: str,
    message_id: str,
    in_reply_to: str,
    now: dt.datetime | None = None,
) -> TicketMessage:
    """The customer wrote again on a ticket (by e-mail): reopen it if it was waiting or resolved."""
    now = now or timezone.now()
    with transaction.atomic():
        message = TicketMessage(
            ticket=ticket,
            kind=MessageKind.INBOUND,
            from_address=from_address,
            body=body,
            message_id=message_id,
            in_reply_to=in_reply_to,
        )
        create_record(message, actor=None, reason="Received")
        save_changes(ticket, {"last_message_at": now}, actor=None, reason="Customer wrote")
        if ticket.status in (TicketStatus.PENDING_CUSTOMER, TicketStatus.RESOLVED):
            change_status(None, ticket, TicketStatus.OPEN, now=now)
        _timeline(
            None,
            ticket,
            f"Customer wrote on {ticket.reference}: {ticket.subject}",
            body=body,
            direction=Direction.INBOUND,
            channel=Channel.EMAIL,
            key=f"ticket-message:{message.pk}",
            at=now,
            source=message,
        )
    return message


# --- e-mail out ------------------------------------------------------------------------


def recipient_of(ticket: Ticket) -> str:
    """Where public replies go: the contact's e-mail, else the address the ticket came from."""
    if ticket.contact is not None and ticket.contact.email:
        return str(ticket.contact.email)
    return ticket.requester_email


def email_subject(ticket: Ticket) -> str:
    return f"[#{ticket.reference}] {ticket.subject}"


def _enqueue_send(message_id: int) -> None:
    from rapport.service.tasks import send_reply_task

    send_reply_task(message_id)


def send_reply(message_id: int) -> str:
    """E-mail one reply (job). Idempotent: a sent reply is never sent again.

    The row is claimed with a conditional UPDATE so two workers never both send it.
    """
    claimed = TicketMessage.objects.filter(
        pk=message_id, delivery__in=[Delivery.PENDING, Delivery.FAILED]
    ).update(delivery=Delivery.PENDING, send_attempts=_plus_one())
    if not claimed:
        return "skipped"
    message = TicketMessage.objects.select_related("ticket").get(pk=message_id)
    ticket = message.ticket
    headers = {"Message-ID": message.message_id}
    references = _references(ticket, message)
    if message.in_reply_to:
        headers["In-Reply-To"] = message.in_reply_to
    if references:
        headers["References"] = " ".join(references)
    email = EmailMessage(
        email_subject(ticket),
        message.body,
        message.from_address or conf.reply_from(),
        [message.to_address],
        headers=headers,
        reply_to=[conf.reply_from()],
    )
    try:
        email.send()
    except Exception as error:  # every failure is shown on the message and retried
        TicketMessage.objects.filter(pk=message_id).update(
            delivery=Delivery.FAILED, send_error=describe_send_failure(error)[:300]
        )
        return "failed"
    TicketMessage.objects.filter(pk=message_id).update(
        delivery=Delivery.SENT, send_error="", sent_at=timezone.now()
    )
    return "sent"


def retry_reply(actor: User | None, message: TicketMessage) -> None:
    """Staff ask to send a failed reply again now."""
    authorise_on(actor, Action.CHANGE, message.ticket)
    if message.delivery != Delivery.FAILED:
        raise ValidationError({"delivery": ["Only a reply that failed is sent again."]})
    transaction.on_commit(lambda: _enqueue_send(message.pk))


def retry_failed_replies() -> int:
    """The periodic job: failed replies below the attempt limit are tried again."""
    due = TicketMessage.objects.filter(
        delivery=Delivery.FAILED, send_attempts__lt=conf.send_attempts()
    ).values_list("pk", flat=True)
    count = 0
    for pk in list(due):
        send_reply(pk)
        count += 1
    return count


def _plus_one() -> Any:
    from django.db.models import F

    return F("send_attempts") + 1


def _references(ticket: Ticket, message: TicketMessage) -> list[str]:
    earlier = (
        TicketMessage.objects.filter(ticket=ticket, id__lt=message.pk)
        .exclude(kind=MessageKind.NOTE)
        .exclude(message_id="")
        .order_by("id")
        .values_list("message_id", flat=True)
    )
    return list(earlier)[-10:]


def _last_customer_message_id(ticket: Ticket) -> str:
    last = (
        TicketMessage.objects.filter(ticket=ticket, kind=MessageKind.INBOUND)
        .exclude(message_id="")
        .order_by("-id")
        .values_list("message_id", flat=True)
        .first()
    )
    return last or ""


# --- SLA breach job --------------------------------------------------------------------


def check_sla(now: dt.datetime | None = None) -> list[TicketAlert]:
    """Flag tickets whose first response or resolution is overdue or due soon.

    Idempotent: each (ticket, kind, due time) alerts once; a ticket whose due
    time moved (new priority, resumed clock) can alert again for the new one.
    The assignee gets the in-app flag and an e-mail; unassigned tickets get
    the flag only (they show in the "breaching soon" queue).
    """
    now = now or timezone.now()
    horizon = now + dt.timedelta(minutes=_max_warning())
    active = (
        Ticket.objects.live()
        .filter(status__in=ACTIVE_STATUSES)
        .select_related("sla_policy", "assignee")
    )
    created: list[TicketAlert] = []
    for ticket in active.filter(first_response_at__isnull=True, first_response_due__lte=horizon):
        created += _alert(ticket, "first_response", ticket.first_response_due, now)
    for ticket in active.filter(resolution_due__lte=horizon):
        created += _alert(ticket, "resolution", ticket.resolution_due, now)
    return created


def _max_warning() -> int:
    from django.db.models import Max

    return SlaPolicy.objects.aggregate(m=Max("warning_minutes"))["m"] or 0


def _alert(
    ticket: Ticket, target: str, due: dt.datetime | None, now: dt.datetime
) -> list[TicketAlert]:
    if due is None:
        return []
    warning = dt.timedelta(minutes=ticket.sla_policy.warning_minutes if ticket.sla_policy else 0)
    if now >= due:
        kind = AlertKind(f"{target}_breached")
    elif now >= due - warning:
        kind = AlertKind(f"{target}_soon")
    else:
        return []
    try:
        with transaction.atomic():
            alert = TicketAlert.objects.create(
                ticket=ticket, kind=kind, due=due, user=ticket.assignee, created_at=now
            )
    except IntegrityError:
        return []  # flagged by an earlier run
    if ticket.assignee is not None and ticket.assignee.email:
        transaction.on_commit(lambda: _enqueue_alert_mail(alert.pk))
    return [alert]


def _enqueue_alert_mail(alert_id: int) -> None:
    from rapport.service.tasks import send_alert_task

    send_alert_task(alert_id)


def send_alert_mail(alert_id: int) -> bool:
    """E-mail the assignee about one alert, once."""
    claimed = TicketAlert.objects.filter(pk=alert_id, emailed_at__isnull=True).update(
        emailed_at=timezone.now()
    )
    if not claimed:
        return False
    alert = TicketAlert.objects.select_related("ticket", "user").get(pk=alert_id)
    if alert.user is None:
        return False
    ticket = alert.ticket
    due = timezone.localtime(alert.due)
    try:
        EmailMessage(
            f"[#{ticket.reference}] {alert.get_kind_display()}: {ticket.subject}",
            f"{alert.get_kind_display()} on ticket {ticket.reference} ({ticket.subject}).\n"
            f"Due: {due:%Y-%m-%d %H:%M %Z}.\n",
            None,
            [alert.user.email],
        ).send()
    except Exception:
        # Let the next run try again; the in-app flag is already there.
        TicketAlert.objects.filter(pk=alert_id).update(emailed_at=None)
        raise
    return True


def mark_alerts_seen(actor: User, alert_ids: Iterable[int]) -> int:
    return TicketAlert.objects.filter(pk__in=list(alert_ids), user=actor, seen_at=None).update(
        seen_at=timezone.now()
    )


# --- helpers ---------------------------------------------------------------------------


def match_contact(address: str) -> Contact | None:
    """The live contact with this e-mail address (any of theirs), if any."""
    address = (address or "").strip().lower()
    if not address:
        return None
    row = (
        ContactEmail.objects.filter(email=address, contact__deleted_at__isnull=True)
        .select_related("contact")
        .first()
    )
    return row.contact if row is not None else None


def _timeline(
    actor: User | None,
    ticket: Ticket,
    subject: str,
    *,
    direction: str,
    key: str,
    at: dt.datetime,
    body: str = "",
    channel: str = "",
    source: Any = None,
) -> None:
    if ticket.contact_id is None and ticket.company_id is None:
        return  # a stranger's e-mail: nobody's timeline yet
    record_interaction(
        actor,
        kind=InteractionKind.SUPPORT,
        subject=subject,
        body=body,
        contact=ticket.contact,
        company=ticket.company,
        occurred_at=at,
        channel=channel or CHANNEL_OF.get(TicketChannel(ticket.channel), ""),
        direction=direction,
        source=source if source is not None else ticket,
        dedupe_key=key,
        owner=ticket.assignee,
    )


def _check_ticket(actor: User | None, ticket: Ticket) -> None:
    errors: dict[str, list[str]] = {}
    if ticket.priority not in Priority.values:
        errors["priority"] = [f"One of: {', '.join(Priority.values)}."]
    if ticket.channel not in TicketChannel.values:
        errors["channel"] = [f"One of: {', '.join(TicketChannel.values)}."]
    if ticket.asset is not None:
        if ticket.asset.deleted_at is not None:
            errors["asset"] = ["This unit is in the trash."]
        elif ticket.contact is None and ticket.company is None:
            ticket.contact, ticket.company = ticket.asset.contact, ticket.asset.company
        elif not (
            (ticket.contact is not None and ticket.asset.contact_id == ticket.contact.pk)
            or (ticket.company is not None and ticket.asset.company_id == ticket.company.pk)
        ):
            errors["asset"] = ["This unit belongs to another customer."]
    if ticket.assignee is not None and (
        not ticket.assignee.is_active or role_of(ticket.assignee) not in WORKING_ROLES
    ):
        errors["assignee"] = [f"{ticket.assignee} does not work tickets."]
    for name in ("contact", "company"):
        record = getattr(ticket, name)
        if record is None:
            continue
        if record.deleted_at is not None:
            errors[name] = ["This customer is in the trash."]
        elif actor is not None and not can(actor, Action.VIEW, record):
            errors[name] = ["You may not see this customer."]
    if errors:
        raise ValidationError(errors)


def _default_team(actor: User | None, assignee: User | None) -> Team | None:
    for person in (assignee, actor):
        if person is not None and person.team_id is not None:
            return person.team
    return None


def _subject(subject: str) -> str:
    subject = " ".join((subject or "").split())
    if not subject:
        raise ValidationError({"subject": ["Say in a few words what the ticket is about."]})
    return subject[:200]


def _body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": ["Write something first."]})
    return body


def _unknown(values: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = set(values) - allowed
    if unknown:
        raise ValidationError({name: ["This field cannot be changed here."] for name in unknown})


def _check_name(model: Any, name: str, exclude: int | None = None) -> None:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": ["Give it a name."]})
    if model.objects.filter(name__iexact=name).exclude(pk=exclude).exists():
        raise ValidationError({"name": [f"{name} is taken."]})
