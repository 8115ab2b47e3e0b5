"""The one write path of the timeline.

Other apps call ``record_interaction`` inside their own transaction after they
authorised their own action (placing an order, answering a ticket...); people
log calls, meetings, e-mails and notes through ``log_interaction``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import Q, Subquery
from django.utils import timezone

from rapport.core.permissions import Action, Scope, authorise, can, scope_for
from rapport.core.services import create_record, move_to_trash, save_changes
from rapport.customers.models import Company, Contact
from rapport.interactions.choices import (
    MANUAL_KINDS,
    Channel,
    Direction,
    InteractionKind,
    Outcome,
)
from rapport.interactions.models import Interaction
from rapport.users.models import User

SUBJECT_LENGTH = 200
EDITABLE_FIELDS = frozenset(
    {
        "kind",
        "channel",
        "direction",
        "occurred_at",
        "subject",
        "body",
        "outcome",
        "duration_minutes",
    }
)


def record_interaction(
    actor: User | None,
    *,
    kind: str,
    subject: str,
    contact: Contact | None = None,
    company: Company | None = None,
    occurred_at: datetime | None = None,
    body: str = "",
    channel: str = "",
    direction: str = "",
    outcome: str = "",
    duration_minutes: int | None = None,
    source: models.Model | None = None,
    dedupe_key: str | None = None,
    owner: User | None = None,
) -> Interaction:
    """Write one touchpoint on the customer's timeline.

    With a ``dedupe_key`` (e.g. ``"order:12:placed"``) the call is idempotent: a
    second call returns the first row, so a retried job never writes twice.
    """
    if dedupe_key:
        existing = Interaction.objects.filter(dedupe_key=dedupe_key).first()
        if existing is not None:
            return existing
    interaction = Interaction(
        kind=kind,
        subject=_subject(subject),
        contact=contact,
        company=company,
        occurred_at=occurred_at or timezone.now(),
        body=body,
        channel=channel,
        direction=direction,
        outcome=outcome,
        duration_minutes=duration_minutes,
        dedupe_key=dedupe_key or None,
        owner=owner,
    )
    if source is not None:
        interaction.source_type = ContentType.objects.get_for_model(source)
        interaction.source_id = source.pk
    _validate(interaction)
    try:
        with transaction.atomic():
            create_record(interaction, actor=actor, reason="Recorded")
            _touch(interaction)
    except IntegrityError:
        # Written meanwhile by a concurrent run of the same job; any other
        # integrity error is a real one and must not be swallowed.
        written = Interaction.objects.filter(dedupe_key=dedupe_key).first() if dedupe_key else None
        if written is None:
            raise
        return written
    return interaction


@dataclass(frozen=True)
class LoggedTouchpoint:
    """What a person logs by hand: a call, meeting, e-mail, note, inquiry or visit."""

    kind: str
    subject: str
    contact: Contact | None = None
    company: Company | None = None
    occurred_at: datetime | None = None
    body: str = ""
    channel: str = ""
    direction: str = ""
    outcome: str = ""
    duration_minutes: int | None = None
    # Who had it; None means the person logging it. Logging for a colleague
    # needs the right to change everyone's entries (managers, admins).
    owner: User | None = None


def log_interaction(actor: User, data: LoggedTouchpoint) -> Interaction:
    """Log a touchpoint by hand on a customer the actor may see."""
    authorise(actor, Action.ADD, Interaction)
    if data.kind not in MANUAL_KINDS:
        raise ValidationError(
            {"kind": [f"{_label(InteractionKind, data.kind)} entries are written by Rapport."]}
        )
    for record in (data.contact, data.company):
        if record is not None and not can(actor, Action.VIEW, record):
            raise PermissionDenied("You may not see this customer.")
    _refuse_future(data.occurred_at)
    owner = data.owner or actor
    if owner.pk != actor.pk and scope_for(actor, Interaction, Action.CHANGE) != Scope.ALL:
        raise PermissionDenied("You may log only your own touchpoints.")
    return record_interaction(
        actor,
        kind=data.kind,
        subject=data.subject,
        contact=data.contact,
        company=data.company,
        occurred_at=data.occurred_at,
        body=data.body,
        channel=data.channel,
        direction=data.direction,
        outcome=data.outcome,
        duration_minutes=data.duration_minutes,
        owner=owner,
    )


def update_interaction(
    actor: User | None,
    interaction: Interaction,
    changes: Mapping[str, Any],
    *,
    expected_version: int | None = None,
) -> Interaction:
    authorise(actor, Action.CHANGE, interaction)
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise ValidationError({name: ["This field cannot be changed here."] for name in unknown})
    values = dict(changes)
    if "subject" in values:
        values["subject"] = _subject(values["subject"])
    if (
        "kind" in values
        and values["kind"] != interaction.kind
        and (values["kind"] not in MANUAL_KINDS or interaction.kind not in MANUAL_KINDS)
    ):
        raise ValidationError({"kind": ["Only hand-logged kinds can be changed into each other."]})
    candidate = Interaction(**{**_field_values(interaction), **values})
    _validate(candidate)
    if "occurred_at" in values and candidate.kind in MANUAL_KINDS:
        _refuse_future(values["occurred_at"])
    moved = "occurred_at" in values and values["occurred_at"] != interaction.occurred_at
    with transaction.atomic():
        save_changes(
            interaction, values, actor=actor, expected_version=expected_version, reason="Edited"
        )
        if moved:  # moved earlier, it may no longer be the latest touchpoint
            _recompute_last_activity(interaction.contact_id)
    return interaction


def delete_interaction(
    actor: User | None, interaction: Interaction, *, expected_version: int | None = None
) -> Interaction:
    authorise(actor, Action.DELETE, interaction)
    with transaction.atomic():
        move_to_trash(interaction, actor=actor, expected_version=expected_version)
        # The trashed touchpoint may have been the contact's latest one.
        _recompute_last_activity(interaction.contact_id)
    return interaction


# --- helpers -------------------------------------------------------------------

_FUTURE_SLACK = timedelta(minutes=5)


def _subject(subject: str) -> str:
    subject = " ".join(str(subject or "").split())
    if not subject:
        raise ValidationError({"subject": ["Say in a few words what happened."]})
    if len(subject) > SUBJECT_LENGTH:
        subject = subject[: SUBJECT_LENGTH - 1] + "…"
    return subject


def _validate(interaction: Interaction) -> None:
    errors: dict[str, list[str]] = {}
    for name, choices in (
        ("kind", InteractionKind),
        ("channel", Channel),
        ("direction", Direction),
        ("outcome", Outcome),
    ):
        value = getattr(interaction, name)
        if (value or name == "kind") and value not in choices.values:
            allowed = ", ".join(choices.values)
            errors[name] = [f"{value or 'An empty value'} is not one of: {allowed}."]
    if interaction.contact_id is None and interaction.company_id is None:
        errors["contact"] = ["Say which contact or company this was with."]
    if interaction.duration_minutes is not None and not 0 <= interaction.duration_minutes <= 1440:
        errors["duration_minutes"] = ["Between 0 and 1440 minutes."]
    if errors:
        raise ValidationError(errors)


def _touch(interaction: Interaction) -> None:
    """Keep the contact's "last activity" (a list column and sort) up to date."""
    if interaction.contact_id is None:
        return
    Contact.objects.filter(pk=interaction.contact_id).filter(
        Q(last_activity_at__isnull=True) | Q(last_activity_at__lt=interaction.occurred_at)
    ).update(last_activity_at=interaction.occurred_at)


def _recompute_last_activity(contact_id: int | None) -> None:
    """Set the contact's "last activity" from its live touchpoints (after one left or moved)."""
    if contact_id is None:
        return
    latest = (
        Interaction.objects.filter(contact_id=contact_id, deleted_at__isnull=True)
        .order_by("-occurred_at", "-id")
        .values("occurred_at")[:1]
    )
    Contact.objects.filter(pk=contact_id).update(last_activity_at=Subquery(latest))


def _refuse_future(occurred_at: datetime | None) -> None:
    if occurred_at is not None and occurred_at > timezone.now() + _FUTURE_SLACK:
        raise ValidationError(
            {"occurred_at": ["A touchpoint cannot be in the future; plan it as a task."]}
        )


def _field_values(interaction: Interaction) -> dict[str, Any]:
    return {name: getattr(interaction, name) for name in EDITABLE_FIELDS} | {
        "contact_id": interaction.contact_id,
        "company_id": interaction.company_id,
    }


def _label(choices: type[models.TextChoices], value: str) -> str:
    return str(dict(choices.choices).get(value, value))
