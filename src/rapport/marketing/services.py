"""The only write path of marketing: segments, static lists, campaigns, sending, responses.

Sending is claim-then-send: right before sending a message, the job marks it
as its own (a conditional UPDATE from queued), then records the outcome. A message
that was claimed but never finished (the worker died mid-send) is NOT sent
again: it may have left the building, so it is marked failed after a lease,
never re-queued. With the unique (campaign, contact) row, nobody gets a
campaign twice, whatever restarts.
"""

from __future__ import annotations

import logging
import smtplib
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import mailers
from django.db import transaction
from django.utils import timezone

from rapport.core.mail import describe_send_failure
from rapport.core.permissions import Action, authorise, authorise_restore
from rapport.core.services import create_record, move_to_trash, restore, save_changes
from rapport.customers.choices import ConsentChannel, ConsentPurpose
from rapport.customers.models import Contact
from rapport.customers.services import normalise_email, set_consent
from rapport.interactions.choices import Channel, Direction, InteractionKind
from rapport.interactions.services import record_interaction
from rapport.marketing import mailing, rules
from rapport.marketing.choices import (
    EDITABLE_CAMPAIGN_STATUSES,
    CampaignStatus,
    MessageState,
    SegmentKind,
    UnsubscribeSource,
)
from rapport.marketing.models import Campaign, ListMember, Message, Segment, Unsubscribe

if TYPE_CHECKING:
    from rapport.users.models import User

logger = logging.getLogger(__name__)

SEGMENT_CHANGES = {"name", "description", "rules"}
CAMPAIGN_CHANGES = {
    "name",
    "segment",
    "subject",
    "html_body",
    "text_body",
    "track_opens",
    "attribution_days",
}


def batch_size() -> int:
    """Messages one job sends before it hands over to the next (and the rate limit waits)."""
    return max(1, int(getattr(settings, "MARKETING_BATCH_SIZE", 50)))


def rate_per_minute() -> int:
    """At most this many campaign e-mails per minute and campaign (the SMTP provider's limit)."""
    return max(1, int(getattr(settings, "MARKETING_RATE_PER_MINUTE", 120)))


def max_attempts() -> int:
    return max(1, int(getattr(settings, "MARKETING_MAX_ATTEMPTS", 3)))


def claim_lease() -> timedelta:
    """How long a claimed message may stay unsent before it is given up as failed."""
    return timedelta(minutes=int(getattr(settings, "MARKETING_CLAIM_LEASE_MINUTES", 15)))


def retry_delay(attempts: int) -> timedelta:
    return timedelta(minutes=5 * 2 ** max(0, attempts - 1))


# --- segments -------------------------------------------------------------------------


def _check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ValidationError({"name": ["Give it a name."]})
    if len(name) > 150:
        raise ValidationError({"name": ["At most 150 characters."]})
    return name


def create_segment(
    actor: User | None,
    *,
    name: str,
    kind: str = SegmentKind.DYNAMIC,
    rules_tree: Any = None,
    description: str = "",
    owner: User | None = None,
) -> Segment:
    authorise(actor, Action.ADD, Segment)
    if kind not in SegmentKind.values:
        raise ValidationError({"kind": [f"Use one of {', '.join(SegmentKind.values)}."]})
    tree = rules.empty_tree() if rules_tree is None else rules.validate(rules_tree)
    if kind == SegmentKind.STATIC and tree["rules"]:
        raise ValidationError({"rules": ["A static list has members, not rules."]})
    segment = Segment(
        name=_check_name(name),
        kind=kind,
        rules=tree,
        description=description.strip(),
        owner=owner or actor,
    )
    with transaction.atomic():
        create_record(segment, actor=actor, reason="Created")
    return segment


def update_segment(
    actor: User | None,
    segment: Segment,
    changes: Mapping[str, Any],
    *,
    expected_version: int | None = None,
) -> Segment:
    authorise(actor, Action.CHANGE, segment)
    unknown = set(changes) - SEGMENT_CHANGES
    if unknown:
        raise ValidationError({name: ["This cannot be changed."] for name in sorted(unknown)})
    cleaned = dict(changes)
    if "name" in cleaned:
        cleaned["name"] = _check_name(cleaned["name"])
    if "description" in cleaned:
        cleaned["description"] = str(cleaned["description"]).strip()
    if "rules" in cleaned:
        cleaned["rules"] = rules.validate(cleaned["rules"])
        if segment.kind == SegmentKind.STATIC and cleaned["rules"]["rules"]:
            raise ValidationError({"rules": ["A static list has members, not rules."]})
    return save_changes(
        segment, cleaned, actor=actor, expected_version=expected_version, reason="Edited"
    )


def trash_segment(
    actor: User | None, segment: Segment, *, expected_version: int | None = None
) -> Segment:
    authorise(actor, Action.DELETE, segment)
    live = segment.campaigns.filter(
        deleted_at__isnull=True, status__in=(CampaignStatus.SCHEDULED, CampaignStatus.SENDING)
    )
    if live.exists():
        raise ValidationError(
            {"segment": ["A scheduled or running campaign uses this segment; cancel it first."]}
        )
    return move_to_trash(segment, actor=actor, expected_version=expected_version)


def restore_segment(actor: User | None, segment: Segment) -> Segment:
    authorise_restore(actor)
    return restore(segment, actor=actor)


def add_to_list(actor: User | None, segment: Segment, contacts: Iterable[Contact]) -> int:
    """Pick contacts into a static list; returns how many were new in it."""
    authorise(actor, Action.CHANGE, segment)
    if segment.kind != SegmentKind.STATIC:
        raise ValidationError({"segment": ["Only static lists take hand-picked members."]})
    picked = list(contacts)
    for contact in picked:
        authorise(actor, Action.VIEW, contact)
    with transaction.atomic():
        before = ListMember.objects.filter(segment=segment).count()
        ListMember.objects.bulk_create(
            [ListMember(segment=segment, contact=contact) for contact in picked],
            ignore_conflicts=True,
        )
        added = ListMember.objects.filter(segment=segment).count() - before
        if added:
            save_changes(segment, {}, actor=actor, reason=f"{added} added to the list")
    return added


def remove_from_list(actor: User | None, segment: Segment, contacts: Iterable[Contact]) -> int:
    authorise(actor, Action.CHANGE, segment)
    ids = [contact.pk for contact in contacts]
    with transaction.atomic():
        removed, _ = ListMember.objects.filter(segment=segment, contact_id__in=ids).delete()
        if removed:
            save_changes(segment, {}, actor=actor, reason=f"{removed} removed from the list")
    return removed


# --- campaigns -------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignInput:
    name: str
    segment: Segment
    subject: str
    text_body: str
    html_body: str = ""
    track_opens: bool = False
    attribution_days: int = 30


def _clean_campaign(values: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    if "name" in values:
        values["name"] = str(values["name"]).strip()
        if not values["name"]:
            errors["name"] = ["Give the campaign a name."]
    if "subject" in values:
        values["subject"] = " ".join(str(values["subject"]).split())
        if not values["subject"]:
            errors["subject"] = ["A campaign needs a subject."]
        elif len(values["subject"]) > 200:
            errors["subject"] = ["At most 200 characters."]
    if "text_body" in values and not str(values["text_body"]).strip():
        errors["text_body"] = ["Write the text version: some people read only that."]
    if "attribution_days" in values and not 0 < int(values["attribution_days"]) <= 365:
        errors["attribution_days"] = ["Between 1 and 365 days."]
    segment = values.get("segment")
    if segment is not None and segment.deleted_at is not None:
        errors["segment"] = ["This segment is in the trash."]
    for name in ("subject", "text_body", "html_body"):
        if name in values and name not in errors:
            try:
                mailing.check_template(str(values[name]), field=name)
            except ValidationError as error:
                errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    return values


def create_campaign(actor: User | None, data: CampaignInput) -> Campaign:
    authorise(actor, Action.ADD, Campaign)
    authorise(actor, Action.VIEW, data.segment)
    values = _clean_campaign(dict(data.__dict__))
    campaign = Campaign(**values, owner=actor)
    with transaction.atomic():
        create_record(campaign, actor=actor, reason="Created")
    return campaign


def update_campaign(
    actor: User | None,
    campaign: Campaign,
    changes: Mapping[str, Any],
    *,
    expected_version: int | None = None,
) -> Campaign:
    authorise(actor, Action.CHANGE, campaign)
    unknown = set(changes) - CAMPAIGN_CHANGES
    if unknown:
        raise ValidationError({name: ["This cannot be changed."] for name in sorted(unknown)})
    if campaign.status not in EDITABLE_CAMPAIGN_STATUSES:
        raise ValidationError({"status": ["A campaign that went out cannot be edited."]})
    if "segment" in changes:
        authorise(actor, Action.VIEW, changes["segment"])
    cleaned = _clean_campaign(dict(changes))
    return save_changes(
        campaign, cleaned, actor=actor, expected_version=expected_version, reason="Edited"
    )


def trash_campaign(
    actor: User | None, campaign: Campaign, *, expected_version: int | None = None
) -> Campaign:
    authorise(actor, Action.DELETE, campaign)
    if campaign.status == CampaignStatus.SENDING:
        raise ValidationError({"status": ["Cancel the campaign before moving it to the trash."]})
    return move_to_trash(campaign, actor=actor, expected_version=expected_version)


def restore_campaign(actor: User | None, campaign: Campaign) -> Campaign:
    authorise_restore(actor)
    return restore(campaign, actor=actor)


def schedule_campaign(
    actor: User | None,
    campaign: Campaign,
    at: datetime,
    *,
    expected_version: int | None = None,
) -> Campaign:
    """Send at ``at``; the periodic job starts it then."""
    authorise(actor, Action.CHANGE, campaign)
    if campaign.status not in EDITABLE_CAMPAIGN_STATUSES:
        raise ValidationError({"status": ["This campaign went out already."]})
    if at <= timezone.now():
        raise ValidationError({"scheduled_at": ["Pick a time in the future, or send now."]})
    return save_changes(
        campaign,
        {"status": CampaignStatus.SCHEDULED, "scheduled_at": at},
        actor=actor,
        expected_version=expected_version,
        reason=f"Scheduled for {at:%Y-%m-%d %H:%M}",
    )


def send_now(
    actor: User | None, campaign: Campaign, *, expected_version: int | None = None
) -> Campaign:
    """Start sending: recipients are fixed now and the first batch is enqueued after commit."""
    authorise(actor, Action.CHANGE, campaign)
    with transaction.atomic():
        campaign = _start(actor, campaign, expected_version=expected_version)
    return campaign


def cancel_campaign(
    actor: User | None, campaign: Campaign, *, expected_version: int | None = None
) -> Campaign:
    """Stop a scheduled or running campaign; what went out stays out, the rest is not sent."""
    authorise(actor, Action.CHANGE, campaign)
    if campaign.status not in (CampaignStatus.SCHEDULED, CampaignStatus.SENDING):
        raise ValidationError(
            {"status": ["Only a scheduled or running campaign can be cancelled."]}
        )
    with transaction.atomic():
        Message.objects.filter(campaign=campaign, state=MessageState.QUEUED).update(
            state=MessageState.FAILED, error="Not sent: the campaign was cancelled."
        )
        return save_changes(
            campaign,
            {"status": CampaignStatus.CANCELLED, "finished_at": timezone.now()},
            actor=actor,
            expected_version=expected_version,
            reason="Cancelled",
        )


def _start(actor: User | None, campaign: Campaign, *, expected_version: int | None) -> Campaign:
    from rapport.marketing import queries, tasks

    fresh = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if fresh.status not in EDITABLE_CAMPAIGN_STATUSES:
        raise ValidationError({"status": ["This campaign went out already."]})
    if fresh.segment.deleted_at is not None:
        raise ValidationError({"segment": ["The segment is in the trash."]})
    now = timezone.now()
    recipients = queries.recipients(fresh.segment).values_list("pk", "email")
    # Unique (campaign, contact): queuing twice (a retried start) adds nobody twice.
    Message.objects.bulk_create(
        [
            Message(campaign=fresh, contact_id=pk, email=email)
            for pk, email in recipients.iterator()
        ],
        ignore_conflicts=True,
        batch_size=1000,
    )
    campaign = save_changes(
        campaign,
        {"status": CampaignStatus.SENDING, "started_at": now},
        actor=actor,
        expected_version=expected_version,
        reason="Sending started",
    )
    campaign_id = campaign.pk
    transaction.on_commit(lambda: tasks.send_batch(campaign_id))
    return campaign


def start_due_campaigns(now: datetime | None = None) -> int:
    """The periodic job: start scheduled campaigns whose time has come."""
    now = now or timezone.now()
    started = 0
    due = Campaign.objects.filter(
        status=CampaignStatus.SCHEDULED, scheduled_at__lte=now, deleted_at__isnull=True
    ).values_list("pk", flat=True)
    for pk in list(due):
        try:
            with transaction.atomic():
                _start(None, Campaign.objects.get(pk=pk), expected_version=None)
            started += 1
        except ValidationError as error:
            logger.warning("Scheduled campaign %s not started: %s", pk, error.messages)
    return started


# --- sending ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchResult:
    picked: int
    sent: int
    remaining: int


def _give_up_stale(campaign_id: int, now: datetime) -> None:
    """Claimed long ago and never finished: the worker died. It may have sent; do not resend."""
    Message.objects.filter(
        campaign_id=campaign_id, state=MessageState.SENDING, claimed_at__lt=now - claim_lease()
    ).update(
        state=MessageState.FAILED,
        error="The sending worker stopped during delivery; not retried so nobody gets it twice.",
    )


def _ready(campaign_id: int, limit: int, now: datetime) -> list[int]:
    ready = (
        Message.objects.filter(campaign_id=campaign_id, state=MessageState.QUEUED)
        .exclude(next_attempt_at__gt=now)
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )
    return list(ready)


def _claim(message_id: int, claim: str) -> bool:
    """Take one message right before sending it, so a killed worker leaves at most one in doubt.

    Conditional on still being queued: two workers never claim the same row.
    """
    return bool(
        Message.objects.filter(pk=message_id, state=MessageState.QUEUED).update(
            state=MessageState.SENDING, claim=claim, claimed_at=timezone.now()
        )
    )


def send_batch(campaign_id: int, *, now: datetime | None = None) -> BatchResult:
    """Send the next batch of one campaign (Rapport itself; no user)."""
    now = now or timezone.now()
    campaign = Campaign.objects.select_related("segment").get(pk=campaign_id)
    if campaign.status != CampaignStatus.SENDING:
        return BatchResult(0, 0, 0)
    _give_up_stale(campaign_id, now)
    limit = min(batch_size(), rate_per_minute())
    ids = _ready(campaign_id, limit, now)
    claim = str(uuid.uuid4())
    sent = 0
    if ids:
        connection = mailers.default
        try:
            # One connection for the batch; if it cannot be opened here, each
            # send tries again and the failure lands on its message.
            connection.open()
        except Exception:
            logger.warning("Campaign %s: could not open the mail connection", campaign_id)
        try:
            for message in Message.objects.filter(pk__in=ids).select_related("contact"):
                if _claim(message.pk, claim) and _deliver(campaign, message, claim, connection):
                    sent += 1
        finally:
            connection.close()
    remaining = Message.objects.filter(
        campaign_id=campaign_id, state__in=(MessageState.QUEUED, MessageState.SENDING)
    ).count()
    if remaining == 0:
        Campaign.objects.filter(pk=campaign_id, status=CampaignStatus.SENDING).update(
            status=CampaignStatus.SENT, finished_at=timezone.now()
        )
    return BatchResult(len(ids), sent, remaining)


def _deliver(campaign: Campaign, message: Message, claim: str, connection: Any) -> bool:
    contact = message.contact
    # Consent may have been withdrawn since the message was queued.
    from rapport.customers.services import may_contact

    if not may_contact(contact, channel=ConsentChannel.EMAIL, purpose=ConsentPurpose.MARKETING):
        _finish(message, claim, MessageState.FAILED, error="Consent withdrawn before sending.")
        return False
    try:
        rendered = mailing.render(
            subject=campaign.subject,
            text_body=campaign.text_body,
            html_body=campaign.html_body,
            contact=contact,
            message_id=message.pk,
        )
        email = mailing.build_email(
            rendered, to=message.email, message_id=message.pk, track_opens=campaign.track_opens
        )
        connection.send_messages([email])
    except Exception as error:
        _failed(message, claim, error)
        return False
    with transaction.atomic():
        if not _finish(message, claim, MessageState.SENT, sent_at=timezone.now(), error=""):
            return True
        record_interaction(
            None,
            kind=InteractionKind.CAMPAIGN,
            subject=rendered.subject,
            body=rendered.text,
            contact=contact,
            channel=Channel.EMAIL,
            direction=Direction.OUTBOUND,
            source=message,
            dedupe_key=f"campaign-message:{message.pk}:sent",
        )
    return True


def _finish(message: Message, claim: str, state: str, **fields: Any) -> bool:
    """Record the outcome, only if the claim is still ours."""
    return bool(
        Message.objects.filter(pk=message.pk, claim=claim, state=MessageState.SENDING).update(
            state=state, **fields
        )
    )


def _failed(message: Message, claim: str, error: BaseException) -> None:
    reason = describe_send_failure(error)[:300]
    attempts = message.attempts + 1
    if _permanent(error):
        _finish(message, claim, MessageState.BOUNCED, attempts=attempts, error=reason)
    elif attempts >= max_attempts():
        _finish(message, claim, MessageState.FAILED, attempts=attempts, error=reason)
    else:
        # Not sent for sure (the server refused it): safe to try again later.
        _finish(
            message,
            claim,
            MessageState.QUEUED,
            attempts=attempts,
            error=reason,
            next_attempt_at=timezone.now() + retry_delay(attempts),
        )


def stalled_campaigns(now: datetime | None = None) -> list[int]:
    """Running campaigns nobody is working on (their job chain was lost): to be resumed."""
    now = now or timezone.now()
    recent = Message.objects.filter(claimed_at__gte=now - timedelta(minutes=2))
    waiting = Message.objects.filter(state=MessageState.QUEUED).exclude(next_attempt_at__gt=now)
    return list(
        Campaign.objects.filter(status=CampaignStatus.SENDING, deleted_at__isnull=True)
        .filter(pk__in=waiting.values("campaign_id"))
        .exclude(pk__in=recent.values("campaign_id"))
        .values_list("pk", flat=True)
    )


def _permanent(error: BaseException) -> bool:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500
    return False


def send_test(actor: User | None, campaign: Campaign, *, to: str, contact: Contact) -> str:
    """Send the campaign as ``contact`` would get it to ``to`` (a colleague), not recorded."""
    authorise(actor, Action.CHANGE, campaign)
    authorise(actor, Action.VIEW, contact)
    address = normalise_email(to, field_name="to")
    rendered = preview(campaign, contact)
    email = mailing.build_email(rendered, to=address, message_id=None)
    email.subject = f"[Test] {email.subject}"
    try:
        email.send()
    except Exception as error:
        raise ValidationError({"to": [describe_send_failure(error)]}) from None
    return address


def preview(campaign: Campaign, contact: Contact) -> mailing.Rendered:
    return mailing.render(
        subject=campaign.subject,
        text_body=campaign.text_body,
        html_body=campaign.html_body,
        contact=contact,
        message_id=None,
    )


# --- what recipients do ---------------------------------------------------------------------


def unsubscribe(message: Message, *, source: str) -> bool:
    """Withdraw marketing e-mail consent from a campaign message; False if done already."""
    if source not in UnsubscribeSource.values:
        raise ValidationError({"source": ["Unknown way of unsubscribing."]})
    with transaction.atomic():
        locked = Message.objects.select_for_update().get(pk=message.pk)
        if locked.unsubscribed_at is not None:
            return False
        now = timezone.now()
        contact = locked.contact
        how = "one click in the mail program" if source == UnsubscribeSource.ONE_CLICK else "link"
        set_consent(
            None,
            contact,
            channel=ConsentChannel.EMAIL,
            purpose=ConsentPurpose.MARKETING,
            granted=False,
            source=f"Unsubscribe from campaign {locked.campaign.name!r}",
            evidence=f"Unsubscribed by {how} in the e-mail sent to {locked.email}.",
        )
        Message.objects.filter(pk=locked.pk).update(unsubscribed_at=now)
        Unsubscribe.objects.create(
            contact=contact, campaign=locked.campaign, message=locked, source=source
        )
        record_interaction(
            None,
            kind=InteractionKind.CAMPAIGN,
            subject=f"Unsubscribed from marketing e-mail ({locked.campaign.name})",
            contact=contact,
            channel=Channel.EMAIL,
            direction=Direction.INBOUND,
            source=locked,
            dedupe_key=f"campaign-message:{locked.pk}:unsubscribed",
        )
    return True


def record_open(message: Message) -> None:
    with transaction.atomic():
        if not Message.objects.filter(pk=message.pk, opened_at__isnull=True).update(
            opened_at=timezone.now()
        ):
            return
        record_interaction(
            None,
            kind=InteractionKind.CAMPAIGN,
            subject=f"Opened {message.campaign.subject!r}",
            contact=message.contact,
            channel=Channel.EMAIL,
            direction=Direction.INBOUND,
            source=message,
            dedupe_key=f"campaign-message:{message.pk}:opened",
        )


def record_click(message: Message, url: str) -> None:
    now = timezone.now()
    with transaction.atomic():
        Message.objects.filter(pk=message.pk, clicked_at__isnull=True).update(clicked_at=now)
        # A click means it was opened, even when images were blocked.
        Message.objects.filter(pk=message.pk, opened_at__isnull=True).update(opened_at=now)
        record_interaction(
            None,
            kind=InteractionKind.CAMPAIGN,
            subject=f"Clicked a link in {message.campaign.subject!r}",
            body=url[:2000],
            contact=message.contact,
            channel=Channel.EMAIL,
            direction=Direction.INBOUND,
            source=message,
            dedupe_key=f"campaign-message:{message.pk}:click:{uuid.uuid5(uuid.NAMESPACE_URL, url)}",
        )
