"""GDPR: everything Rapport holds about a person (subject access), erasure, retention.

Related data is found through the model relations to Contact
(``_meta.related_objects``), so records of apps added later (tickets, survey
answers, ...) are included without this module knowing them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from rapport.core.permissions import Action, authorise
from rapport.customers.choices import LifecycleStage
from rapport.customers.models import Contact
from rapport.dataio.models import DuplicatePair, ErasureRecord, MergeRecord, RetentionRule
from rapport.search import index
from rapport.users.models import User

ERASED_NAME = "Erased contact"
# Text fields this short hold codes (currency, country), not what a person wrote.
MIN_FREE_TEXT_LENGTH = 20
HIDDEN_FIELDS = {"password"}


def _value(value: Any) -> Any:
    if isinstance(value, models.Model):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, dict | list | str | int | float | bool) or value is None:
        return value
    return str(value)


def _fields(record: models.Model) -> dict[str, Any]:
    return {
        field.attname: _value(getattr(record, field.attname))
        for field in record._meta.concrete_fields
        if field.name not in HIDDEN_FIELDS
    }


def _relations(model: type[models.Model]) -> list[Any]:
    """Reverse foreign keys and one-to-ones pointing at ``model`` (auto-created relations)."""
    return [
        relation
        for relation in model._meta.related_objects
        if relation.one_to_many or relation.one_to_one
    ]


def _history(record: models.Model) -> list[dict[str, Any]]:
    manager = getattr(record, "history", None)
    if manager is None or not hasattr(manager, "all"):
        return []
    return [
        {
            "when": _value(entry.history_date),
            "kind": {"+": "created", "~": "changed", "-": "deleted"}.get(entry.history_type, ""),
            "by": str(entry.history_user) if entry.history_user_id else "",
            "reason": entry.history_change_reason or "",
            "values": {
                field.attname: _value(getattr(entry, field.attname))
                for field in record._meta.concrete_fields
                if hasattr(entry, field.attname) and field.name not in HIDDEN_FIELDS
            },
        }
        for entry in manager.all().order_by("history_date", "history_id")
    ]


def subject_access(actor: User | None, contact: Contact) -> dict[str, Any]:
    """Everything held about ``contact``: fields, every related record (two levels deep,
    e.g. orders and their lines), many-to-many links, and the audit history of each."""
    authorise(actor, Action.EXPORT, contact)
    if actor is not None and not _is_admin(actor):
        raise ValidationError("Only admins answer subject access requests.")
    data: dict[str, Any] = {
        "generated_at": timezone.now().isoformat(),
        "person": _fields(contact),
        "audit": _history(contact),
        "links": {},
        "records": {},
    }
    for field in contact._meta.many_to_many:
        data["links"][field.name] = [str(item) for item in getattr(contact, field.name).all()]
    for relation in contact._meta.related_objects:
        if relation.many_to_many:
            accessor = relation.get_accessor_name()
            if accessor:
                data["links"][accessor] = [str(item) for item in getattr(contact, accessor).all()]
    for relation in _relations(Contact):
        rows = _related_rows(contact, relation)
        if rows:
            data["records"][relation.related_model._meta.label] = [
                _record(row, depth=1) for row in rows
            ]
    return data


def _related_rows(record: models.Model, relation: Any) -> list[models.Model]:
    model = relation.related_model
    return list(model._base_manager.filter(**{relation.field.name: record}).order_by("pk"))


def _record(row: models.Model, *, depth: int) -> dict[str, Any]:
    result: dict[str, Any] = {"fields": _fields(row), "audit": _history(row)}
    if depth < 2:
        for relation in _relations(type(row)):
            if relation.related_model is Contact:
                continue
            children = _related_rows(row, relation)
            if children:
                result.setdefault("records", {})[relation.related_model._meta.label] = [
                    _record(child, depth=depth + 1) for child in children
                ]
    return result


# --- erasure --------------------------------------------------------------------------


PERSONAL_CONTACT_FIELDS: dict[str, Any] = {
    "first_name": "", "last_name": "", "email": "", "phone": "", "job_title": "",
    "birthday": None, "language": "", "time_zone": "", "source": "", "notes": "",
    "custom_fields": {}, "external_id": None,
}  # fmt: skip


ERASED_TEXT = "Erased"


def _free_text_fields(model: type[models.Model]) -> dict[str, str]:
    """Fields where people write about a person (not codes, not unique numbers), each with
    what replaces it: nothing, or a word where the field must not be empty."""
    names: dict[str, str] = {}
    for field in model._meta.concrete_fields:
        if not isinstance(field, models.CharField | models.TextField):
            continue
        if field.choices or field.unique or field.primary_key:
            continue
        if isinstance(field, models.CharField) and (field.max_length or 0) < MIN_FREE_TEXT_LENGTH:
            continue
        if field.name.endswith("key"):  # dedupe keys and the like are identifiers
            continue
        names[field.attname] = "" if field.blank else ERASED_TEXT
    return names


def erase_contact(actor: User | None, contact: Contact, *, reason: str) -> ErasureRecord:
    """Irreversibly remove the person's personal data everywhere, keeping the records that
    others need (orders with their totals, tickets, ...) without it.

    The contact's own parts (e-mails, phones, addresses, consents, memberships)
    are deleted with their history; records of other apps keep their numbers and
    lose their free text; the audit history of all of them is rewritten the same
    way; the search entry is removed. What remains is an ``ErasureRecord``.
    """
    if actor is not None and not _is_admin(actor):
        raise ValidationError("Only admins erase personal data.")
    authorise(actor, Action.DELETE, contact)
    if not reason.strip():
        raise ValidationError({"reason": ["Say why the data is erased (e.g. the person asked)."]})
    pk = contact.pk
    now = timezone.now()
    with transaction.atomic():
        # Undo data of merges and duplicate candidates copy the person's fields: they go.
        MergeRecord.objects.filter(Q(survivor_contact=contact) | Q(loser_contact=contact)).delete()
        DuplicatePair.objects.filter(Q(contact_a=contact) | Q(contact_b=contact)).delete()
        anonymous = {**PERSONAL_CONTACT_FIELDS, "full_name": f"{ERASED_NAME} {pk}"}
        for relation in _relations(Contact):
            model = relation.related_model
            lookup = {relation.field.name: contact}
            history = getattr(model, "history", None)
            if model._meta.app_label == Contact._meta.app_label:
                # The contact's own parts: nothing in them outlives the person. The
                # delete writes "deleted" history entries, so the history goes after.
                model._base_manager.filter(**lookup).delete()
                if history is not None:
                    history.filter(**{relation.field.attname: pk}).delete()
                continue
            blank = _free_text_fields(model)
            if blank:
                ids = list(model._base_manager.filter(**lookup).values_list("pk", flat=True))
                model._base_manager.filter(pk__in=ids).update(**blank)
                if history is not None:
                    history.filter(**{f"{model._meta.pk.attname}__in": ids}).update(**blank)
        for field in Contact._meta.many_to_many:
            getattr(contact, field.name).clear()
        for relation in Contact._meta.related_objects:
            accessor = relation.get_accessor_name() if relation.many_to_many else None
            if accessor:
                getattr(contact, accessor).clear()
        Contact._base_manager.filter(pk=pk).update(
            **anonymous, deleted_at=now, updated_at=now, updated_by=actor
        )
        # Change reasons name what changed ("E-mail ann@… added"): they go too.
        Contact.history.filter(id=pk).update(**anonymous, history_change_reason="")
        index.remove("contact", [pk])
        record = ErasureRecord.objects.create(
            object_kind="contact", object_id=pk, erased_by=actor, reason=reason.strip()[:200]
        )
    contact.refresh_from_db()
    return record


def _is_admin(user: User) -> bool:
    from rapport.core.permissions import Role, role_of

    return role_of(user) == Role.ADMIN


# --- retention ------------------------------------------------------------------------

RETAINED_STAGES = (LifecycleStage.SUBSCRIBER, LifecycleStage.LEAD)


def set_retention(actor: User | None, *, stage: str, inactive_days: int | None) -> None:
    """Keep inactive leads (or subscribers) ``inactive_days``; None stops erasing them."""
    authorise(actor, Action.CHANGE, RetentionRule)
    if stage not in RETAINED_STAGES:
        raise ValidationError({"stage": ["Retention applies to subscribers and leads only."]})
    if inactive_days is not None and not 30 <= inactive_days <= 36500:
        raise ValidationError({"inactive_days": ["Between 30 days and 100 years."]})
    with transaction.atomic():
        if inactive_days is None:
            RetentionRule.objects.filter(stage=stage).delete()
            return
        RetentionRule.objects.update_or_create(
            stage=stage,
            defaults={"inactive_days": inactive_days, "updated_by": actor,
                      "updated_at": timezone.now()},
        )  # fmt: skip


def apply_retention(now: Any = None) -> int:
    """Erase the contacts each rule says have been inactive too long; how many."""
    now = now or timezone.now()
    erased = 0
    for rule in RetentionRule.objects.all():
        cutoff = now - timedelta(days=rule.inactive_days)
        stale = (
            Contact._base_manager.filter(lifecycle_stage=rule.stage)
            .filter(
                Q(last_activity_at__lt=cutoff)
                | Q(last_activity_at__isnull=True, updated_at__lt=cutoff)
            )
            .exclude(full_name__startswith=ERASED_NAME)
        )
        for contact in stale.iterator():
            erase_contact(
                None, contact, reason=f"Retention: {rule.stage} inactive {rule.inactive_days} days"
            )
            erased += 1
    return erased
