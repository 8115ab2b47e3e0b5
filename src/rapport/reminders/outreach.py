"""The only write path of customer reminders: plan them, send each once, retry, and their e-mails.

How "exactly once" holds (see ``ServiceReminder``):

1. planning inserts one row per (asset, kind, due date); the unique constraint
   makes a second plan, or two at the same moment, insert nothing more;
2. sending starts by *claiming* the row: one conditional UPDATE moves it from
   pending (and due) to sending with a fresh ``claim_token``. Only one
   transaction can win it; everyone else gets nothing and moves on;
3. the e-mail goes out outside any transaction (no lock is held while the
   mail server thinks), then the row moves from sending to sent, and the
   timeline entry is written, in one transaction guarded by the token;
4. a worker that dies between 2 and 3 leaves the row in sending; after
   ``STALE_CLAIM`` it may be claimed again. That is the one way to a second
   e-mail, and only after a crash in the seconds between the mail server's
   "accepted" and the commit; it never happens in normal operation.

Failures go back to pending with ``next_attempt_at`` doubling from
``FIRST_RETRY``, and are failed after ``MAX_ATTEMPTS`` (or at once when the
mail server refuses the address itself). Consent is checked when sending,
through ``customers.services.may_contact``, and without it the row is
*skipped*, never failed.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from smtplib import SMTPRecipientsRefused
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, make_msgid
from django.core.mail.utils import DNS_NAME
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.template import Context, Engine, TemplateDoesNotExist, TemplateSyntaxError
from django.utils import timezone

from rapport.core.mail import describe_send_failure
from rapport.core.permissions import Action, authorise
from rapport.core.services import create_record, save_changes
from rapport.customers.choices import ConsentChannel, ConsentPurpose
from rapport.customers.models import Contact, Membership
from rapport.customers.services import may_contact
from rapport.interactions.choices import Channel, Direction, InteractionKind
from rapport.interactions.services import record_interaction
from rapport.reminders import outreach_permissions  # noqa: F401  (registers the policies used here)
from rapport.reminders.models import ReminderTemplate, ServiceReminder
from rapport.reminders.outreach_choices import ReminderKind, ReminderStatus
from rapport.trading.models import Asset
from rapport.users.models import User

logger = logging.getLogger(__name__)

# Which date of an asset each kind reminds of.
SOURCES: dict[str, str] = {
    ReminderKind.SERVICE: "next_service_due",
    ReminderKind.WARRANTY: "warranty_end",
    ReminderKind.RENEWAL: "renewal_on",
}
MAX_ATTEMPTS = 5
FIRST_RETRY = timedelta(minutes=10)  # then 20, 40, 80 minutes
# A claim older than this is a worker that died; sending takes seconds (SMTP timeout 15 s).
STALE_CLAIM = timedelta(minutes=15)
BATCH = 500
SUBJECT_LENGTH = 200
BOOKING_PHONE_LENGTH = 60  # ReminderTemplate.booking_phone

# --- the e-mail templates ---------------------------------------------------------

# The fixed context of every reminder e-mail: these names, with these attributes.
CONTEXT_NAMES: dict[str, tuple[str, ...]] = {
    "contact": ("name", "first_name", "last_name", "email"),
    "asset": (
        "serial",
        "bought_on",
        "installed_on",
        "warranty_end",
        "renewal_on",
        "next_service_due",
        "company",
    ),
    "product": ("name", "sku", "category"),
    "due_date": (),
    "booking_url": (),
    "booking_phone": (),
}

_HOW_TO_BOOK = (
    "{% if booking_url %}\nBook an appointment: {{ booking_url }}{% endif %}"
    "{% if booking_phone %}\nOr call us: {{ booking_phone }}{% endif %}\n"
)
DEFAULTS: dict[str, tuple[str, str]] = {
    ReminderKind.SERVICE: (
        "Your {{ product.name }} is due for its service on {{ due_date|date:'j F Y' }}",
        "Hello {{ contact.first_name|default:contact.name }},\n\n"
        "the next service of your {{ product.name }}"
        "{% if asset.serial %} (serial number {{ asset.serial }}){% endif %} "
        "is due on {{ due_date|date:'j F Y' }}. Regular service keeps it safe and efficient.\n"
        + _HOW_TO_BOOK
        + "\nKind regards\n",
    ),
    ReminderKind.WARRANTY: (
        "The warranty of your {{ product.name }} ends on {{ due_date|date:'j F Y' }}",
        "Hello {{ contact.first_name|default:contact.name }},\n\n"
        "the warranty of your {{ product.name }}"
        "{% if asset.serial %} (serial number {{ asset.serial }}){% endif %} "
        "ends on {{ due_date|date:'j F Y' }}. If something is not working as it should, "
        "now is the time to tell us.\n" + _HOW_TO_BOOK + "\nKind regards\n",
    ),
    ReminderKind.RENEWAL: (
        "Your {{ product.name }} is up for renewal on {{ due_date|date:'j F Y' }}",
        "Hello {{ contact.first_name|default:contact.name }},\n\n"
        "the contract of your {{ product.name }}"
        "{% if asset.serial %} (serial number {{ asset.serial }}){% endif %} "
        "is up for renewal on {{ due_date|date:'j F Y' }}. Tell us if anything should change; "
        "otherwise it renews as it is.\n" + _HOW_TO_BOOK + "\nKind regards\n",
    ),
}

SAMPLE_CONTEXT: dict[str, Any] = {
    "contact": {
        "name": "Alex Example",
        "first_name": "Alex",
        "last_name": "Example",
        "email": "alex@example.com",
    },
    "asset": {
        "serial": "SN-10442",
        "bought_on": date(2024, 3, 1),
        "installed_on": date(2024, 3, 8),
        "warranty_end": date(2026, 3, 1),
        "renewal_on": date(2026, 3, 8),
        "next_service_due": date(2026, 3, 8),
        "company": "Example Ltd",
    },
    "product": {"name": "Heat pump 9 kW", "sku": "HP-9KW", "category": "Heating"},
    "due_date": date(2026, 3, 8),
}

# What an unknown name renders as while checking a template (never in a real e-mail).
_UNKNOWN = "\x00unknown:%s\x00"
_UNKNOWN_FOUND = re.compile("\x00unknown:(.*?)\x00")


@cache
def _engine(*, strict: bool) -> Engine:
    """Plain text, the built-in tags and filters only, and no files to include or extend."""
    return Engine(
        loaders=[("django.template.loaders.locmem.Loader", {})],
        string_if_invalid=_UNKNOWN if strict else "",
        autoescape=False,
    )


def context_help() -> str:
    """The documented context, as one line for forms and errors."""
    parts = [
        f"{name} ({', '.join(attributes)})" if attributes else name
        for name, attributes in CONTEXT_NAMES.items()
    ]
    return ", ".join(parts)


@dataclass(frozen=True)
class TemplateInput:
    subject: str
    body: str
    booking_url: str = ""
    booking_phone: str = ""


def template_for(kind: str) -> ReminderTemplate:
    """The e-mail of ``kind``; the default one is stored the first time it is needed."""
    if kind not in ReminderKind.values:
        raise ValidationError({"kind": [f"No reminder kind {kind!r}."]})
    found = ReminderTemplate.objects.filter(kind=kind).first()
    if found is not None:
        return found
    subject, body = DEFAULTS[kind]
    try:
        with transaction.atomic():
            return create_record(
                ReminderTemplate(kind=kind, subject=subject, body=body),
                actor=None,
                reason="Default text",
            )
    except IntegrityError:  # stored meanwhile by a concurrent first use
        return ReminderTemplate.objects.get(kind=kind)


def templates_in_use() -> list[ReminderTemplate]:
    """The e-mails of the kinds Rapport sends."""
    return [template_for(kind) for kind in SOURCES]


def update_template(
    actor: User | None,
    template: ReminderTemplate,
    data: TemplateInput,
    *,
    expected_version: int | None = None,
) -> ReminderTemplate:
    """Change an e-mail; refused with a message per field unless it renders."""
    authorise(actor, Action.CHANGE, template)
    values = clean_template(data)
    with transaction.atomic():
        save_changes(
            template, values, actor=actor, expected_version=expected_version, reason="Edited"
        )
    return template


def clean_template(data: TemplateInput) -> dict[str, str]:
    """The stored values of ``data``, or a ValidationError naming each problem."""
    errors: dict[str, list[str]] = {}
    subject = " ".join(data.subject.split())
    body = data.body.replace("\r\n", "\n").strip() + "\n"
    booking_url = data.booking_url.strip()
    booking_phone = " ".join(data.booking_phone.split())
    if booking_url:
        try:
            URLValidator(schemes=["http", "https"])(booking_url)
        except ValidationError:
            errors["booking_url"] = [f"{booking_url!r} is not a web address (https://…)."]
    if len(booking_phone) > BOOKING_PHONE_LENGTH:
        errors["booking_phone"] = [f"At most {BOOKING_PHONE_LENGTH} characters."]
    sample = {**SAMPLE_CONTEXT, "booking_url": booking_url, "booking_phone": booking_phone}
    if not subject:
        errors["subject"] = ["Write a subject."]
    else:
        problems = template_problems(subject, sample)
        if not problems:
            rendered = _render(subject, sample, strict=True)
            if not rendered.strip():
                problems = ["The subject comes out empty."]
            elif len(" ".join(rendered.split())) > SUBJECT_LENGTH:
                problems = [f"The subject comes out longer than {SUBJECT_LENGTH} characters."]
        if problems:
            errors["subject"] = problems
    if not body.strip():
        errors["body"] = ["Write the text of the e-mail."]
    else:
        problems = template_problems(body, sample)
        if problems:
            errors["body"] = problems
    if errors:
        raise ValidationError(errors)
    return {
        "subject": subject,
        "body": body,
        "booking_url": booking_url,
        "booking_phone": booking_phone,
    }


def template_problems(source: str, context: Mapping[str, Any]) -> list[str]:
    """Why ``source`` would not make a good e-mail with ``context``; empty when it would."""
    try:
        text = _render(source, context, strict=True)
    except TemplateSyntaxError as error:
        return [f"Template error: {error}"]
    except TemplateDoesNotExist:
        return ["A reminder e-mail cannot include or extend other templates."]
    except Exception as error:  # a filter given the wrong kind of value, and the like
        return [f"It cannot be filled in: {error}"]
    unknown = sorted(set(_UNKNOWN_FOUND.findall(text)))
    if unknown:
        names = ", ".join("{{ " + name + " }}" for name in unknown)
        return [f"Unknown name {names}. The e-mail knows: {context_help()}."]
    return []


def preview(template: ReminderTemplate) -> tuple[str, str]:
    """Subject and text of ``template`` filled in with the sample customer."""
    context = {
        **SAMPLE_CONTEXT,
        "booking_url": template.booking_url,
        "booking_phone": template.booking_phone,
    }
    return _subject(template.subject, context), _render(template.body, context, strict=False)


def _render(source: str, context: Mapping[str, Any], *, strict: bool) -> str:
    return (
        _engine(strict=strict).from_string(source).render(Context(dict(context), autoescape=False))
    )


def _subject(source: str, context: Mapping[str, Any]) -> str:
    text = " ".join(_render(source, context, strict=False).split())
    return text if len(text) <= SUBJECT_LENGTH else text[: SUBJECT_LENGTH - 1] + "…"


# --- planning -----------------------------------------------------------------------


def plan_reminders(*, today: date | None = None, days_ahead: int | None = None) -> int:
    """Add a pending reminder for every date that falls in the window; returns how many.

    The window is today to today + ``SERVICE_REMINDER_DAYS_AHEAD``. Trashed
    units and units replaced by an upgrade are not reminded of. Safe to run
    any number of times, also at once: existing rows are left alone.
    """
    today = today or timezone.localdate()
    days = settings.SERVICE_REMINDER_DAYS_AHEAD if days_ahead is None else days_ahead
    until = today + timedelta(days=max(days, 0))
    now = timezone.now()
    planned = 0
    for kind, date_field in SOURCES.items():
        already = ServiceReminder.objects.filter(
            asset=OuterRef("pk"), kind=kind, due_date=OuterRef(date_field)
        )
        due = (
            Asset.objects.live()
            .filter(replaced_by__isnull=True)
            .filter(**{f"{date_field}__gte": today, f"{date_field}__lte": until})
            .exclude(Exists(already))
            .order_by("pk")
        )
        last = 0
        while True:  # keyset batches: no cursor stays open while rows are inserted
            batch = list(due.filter(pk__gt=last).values_list("pk", date_field)[:BATCH])
            if not batch:
                break
            last = batch[-1][0]
            ServiceReminder.objects.bulk_create(
                [
                    ServiceReminder(
                        asset_id=asset_id,
                        kind=kind,
                        due_date=due_date,
                        next_attempt_at=now,
                        created_at=now,
                        updated_at=now,
                    )
                    for asset_id, due_date in batch
                ],
                ignore_conflicts=True,  # planned meanwhile by a concurrent run
            )
            planned += len(batch)
    return planned


# --- delivery -----------------------------------------------------------------------


@dataclass
class DeliveryRun:
    """What one pass did, by outcome; ``lost`` were claimed by another worker first."""

    outcomes: dict[str, int] = field(default_factory=dict)

    def add(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def __getitem__(self, outcome: str) -> int:
        return self.outcomes.get(outcome, 0)


@dataclass(frozen=True)
class Claim:
    reminder: ServiceReminder
    token: uuid.UUID


def claimable(now: datetime) -> Q:
    """Waiting and due, or stuck in sending since a worker died."""
    return Q(status=ReminderStatus.PENDING, next_attempt_at__lte=now) | Q(
        status=ReminderStatus.SENDING, claimed_at__lt=now - STALE_CLAIM
    )


def run_daily(*, today: date | None = None) -> DeliveryRun:
    """The daily job: plan what came into the window, then send everything due."""
    plan_reminders(today=today)
    return deliver_due()


def deliver_due(*, limit: int = BATCH) -> DeliveryRun:
    """Try every reminder that may be tried now (oldest first), up to ``limit``."""
    run = DeliveryRun()
    ids = list(
        ServiceReminder.objects.filter(claimable(timezone.now()))
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )
    for reminder_id in ids:
        run.add(deliver(reminder_id) or "lost")
    return run


def claim(reminder_id: int) -> Claim | None:
    """Take one reminder for sending, or None when it is not (or no longer) to be sent.

    One conditional UPDATE in its own transaction: of two workers (or two
    transactions) claiming the same row, exactly one gets it.
    """
    now = timezone.now()
    token = uuid.uuid4()
    with transaction.atomic():
        won = (
            ServiceReminder.objects.filter(claimable(now), pk=reminder_id).update(
                status=ReminderStatus.SENDING,
                claimed_at=now,
                claim_token=token,
                attempts=F("attempts") + 1,
                last_attempt_at=now,
                updated_at=now,
            )
            == 1
        )
    if not won:
        return None
    reminder = ServiceReminder.objects.select_related(
        "asset__product", "asset__contact", "asset__company"
    ).get(pk=reminder_id)
    return Claim(reminder, token)


def deliver(reminder_id: int) -> str | None:
    """Claim, check, send and record one reminder; the status it reached, None if not claimed."""
    held = claim(reminder_id)
    if held is None:
        return None
    if held.reminder.attempts > MAX_ATTEMPTS:
        # Only stale claims get here (failures stop at MAX_ATTEMPTS): a worker that
        # dies on this row every time must not retry it forever.
        _finish(
            held,
            ReminderStatus.FAILED,
            last_error="Sending was interrupted every time (the worker stopped); "
            "see the worker's log.",
            next_attempt_at=None,
        )
        return ReminderStatus.FAILED
    try:
        return _attempt(held)
    except Exception as error:
        # Whatever went wrong, the row must not sit in "sending" until it goes stale.
        logger.exception("Reminder %s could not be sent", reminder_id)
        return _failed(held, error)


def _attempt(held: Claim) -> str:
    reminder = held.reminder
    asset = reminder.asset
    obsolete = _obsolete(reminder, asset)
    if obsolete:
        return _skip(held, obsolete)
    contact = recipient_of(asset)
    if contact is None:
        return _skip(
            held, "Nobody to write to: no contact, and the company has no primary contact."
        )
    if not contact.email:
        return _skip(held, f"{contact} has no e-mail address.")
    if not may_contact(contact, channel=ConsentChannel.EMAIL, purpose=ConsentPurpose.SERVICE):
        return _skip(held, f"{contact} has not agreed to service e-mails.")
    subject, body = compose(reminder, asset, contact)
    message_id = make_msgid(domain=str(DNS_NAME))
    try:
        EmailMessage(
            subject,
            body,
            settings.DEFAULT_FROM_EMAIL,
            [contact.email],
            headers={"Message-ID": message_id},
        ).send()
    except Exception as error:
        return _failed(held, error)
    now = timezone.now()
    with transaction.atomic():
        if not _finish(
            held,
            ReminderStatus.SENT,
            sent_at=now,
            contact=contact,
            recipient=contact.email,
            message_id=message_id,
            last_error="",
            next_attempt_at=None,
        ):
            logger.warning("Reminder %s was sent, but its claim was taken over", reminder.pk)
            return "lost"
        interaction = record_interaction(
            None,
            kind=InteractionKind.REMINDER,
            subject=subject,
            body=body,
            contact=contact,
            company=asset.company,
            occurred_at=now,
            channel=Channel.EMAIL,
            direction=Direction.OUTBOUND,
            source=reminder,
            dedupe_key=f"service-reminder:{reminder.pk}",
        )
        ServiceReminder.objects.filter(pk=reminder.pk).update(interaction=interaction)
    return ReminderStatus.SENT


def compose(reminder: ServiceReminder, asset: Asset, contact: Contact) -> tuple[str, str]:
    """Subject and text of the e-mail of ``reminder``, from its kind's template as it is now."""
    template = template_for(reminder.kind)
    context = email_context(reminder, asset, contact, template)
    return _subject(template.subject, context), _render(template.body, context, strict=False)


def recipient_of(asset: Asset) -> Contact | None:
    """The asset's contact; for a company's unit, the company's primary contact.

    Rapport has no "primary contact" field on a company: it is the member for
    whom this company is the primary one (``Membership.is_primary``), the
    longest-standing if several are. Without one, nobody is written to.
    """
    if asset.contact_id is not None:
        contact = asset.contact
        return contact if contact is not None and contact.deleted_at is None else None
    if asset.company_id is None:
        return None
    membership = (
        Membership.objects.filter(
            company_id=asset.company_id, is_primary=True, contact__deleted_at__isnull=True
        )
        .select_related("contact")
        .order_by("id")
        .first()
    )
    return membership.contact if membership is not None else None


def email_context(
    reminder: ServiceReminder, asset: Asset, contact: Contact, template: ReminderTemplate
) -> dict[str, Any]:
    """The documented context (CONTEXT_NAMES) of one reminder: plain values, no records."""
    product = asset.product
    return {
        "contact": {
            "name": str(contact),
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "email": contact.email,
        },
        "asset": {
            "serial": asset.serial,
            "bought_on": asset.bought_on,
            "installed_on": asset.installed_on,
            "warranty_end": asset.warranty_end,
            "renewal_on": asset.renewal_on,
            "next_service_due": asset.next_service_due,
            "company": asset.company.name if asset.company is not None else "",
        },
        "product": {"name": product.name, "sku": product.sku, "category": product.category},
        "due_date": reminder.due_date,
        "booking_url": template.booking_url,
        "booking_phone": template.booking_phone,
    }


def _obsolete(reminder: ServiceReminder, asset: Asset) -> str:
    """Why the date no longer stands (the unit was serviced, trashed...), or ""."""
    if asset.deleted_at is not None:
        return "The unit is in the trash."
    if asset.replaced_by_id is not None:
        return "The unit was replaced."
    date_field = SOURCES.get(reminder.kind)
    if date_field is None:
        return "Rapport has no date for this kind of reminder."
    current = getattr(asset, date_field)
    if current != reminder.due_date:
        moved = f"{current:%Y-%m-%d}" if current else "none"
        return f"The date moved (now {moved})."
    return ""


def _finish(held: Claim, status: str, **values: Any) -> bool:
    """Leave "sending" for ``status``, only if this claim still holds the row."""
    return (
        ServiceReminder.objects.filter(
            pk=held.reminder.pk, status=ReminderStatus.SENDING, claim_token=held.token
        ).update(
            status=status, claim_token=None, claimed_at=None, updated_at=timezone.now(), **values
        )
        == 1
    )


def _skip(held: Claim, reason: str) -> str:
    _finish(held, ReminderStatus.SKIPPED, skip_reason=reason[:200], next_attempt_at=None)
    return ReminderStatus.SKIPPED


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failure: 10, 20, 40, 80 minutes..."""
    return FIRST_RETRY * 2 ** max(attempts - 1, 0)


def _failed(held: Claim, error: BaseException) -> str:
    reason = describe_send_failure(error)
    attempts = held.reminder.attempts  # already counts this attempt (see claim)
    if attempts >= MAX_ATTEMPTS or _refused_for_good(error):
        _finish(held, ReminderStatus.FAILED, last_error=reason, next_attempt_at=None)
        return ReminderStatus.FAILED
    retry_at = timezone.now() + backoff(attempts)
    _finish(held, ReminderStatus.PENDING, last_error=reason, next_attempt_at=retry_at)
    return ReminderStatus.PENDING


def _refused_for_good(error: BaseException) -> bool:
    """The server refused the address itself (5xx for every recipient): retrying cannot help."""
    if not isinstance(error, SMTPRecipientsRefused) or not error.recipients:
        return False
    return all(code >= 500 for code, _ in error.recipients.values())


# --- people's actions ---------------------------------------------------------------


def retry_now(actor: User | None, reminder: ServiceReminder) -> ServiceReminder:
    """Give a failed reminder a fresh set of attempts, starting right away."""
    authorise(actor, Action.CHANGE, reminder)
    with transaction.atomic():
        fresh = ServiceReminder.objects.select_for_update().get(pk=reminder.pk)
        if fresh.status != ReminderStatus.FAILED:
            raise ValidationError(
                f"Only failed reminders can be retried; this one is {fresh.get_status_display()}."
            )
        save_changes(
            fresh,
            {"status": ReminderStatus.PENDING, "attempts": 0, "next_attempt_at": timezone.now()},
            actor=actor,
            reason="Retry requested",
        )
        transaction.on_commit(lambda: _enqueue_delivery(fresh.pk))
    return fresh


def _enqueue_delivery(reminder_id: int) -> None:
    from rapport.reminders.tasks import deliver_service_reminder

    deliver_service_reminder(reminder_id)
