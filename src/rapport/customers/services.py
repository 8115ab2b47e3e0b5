"""The only write path for contacts, companies, lifecycle, consent and tags."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.db.models.functions import Lower
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from email_validator import EmailNotValidError, validate_email
from simple_history.utils import bulk_create_with_history

from rapport.core import custom_fields
from rapport.core.models import CustomFieldTarget
from rapport.core.permissions import Action, authorise, authorise_restore, can
from rapport.core.services import (
    attribute_change,
    create_record,
    move_to_trash,
    restore,
    save_changes,
)
from rapport.customers import search as customer_search
from rapport.customers import trash
from rapport.customers.choices import (
    CUSTOMER_STAGES,
    ConsentChannel,
    ConsentPurpose,
    ConsentStatus,
    LifecycleStage,
)
from rapport.customers.models import (
    Company,
    Consent,
    Contact,
    ContactEmail,
    ContactPhone,
    LifecycleChange,
    Membership,
    Tag,
)
from rapport.interactions.choices import Channel, Direction, InteractionKind
from rapport.interactions.services import record_interaction
from rapport.users.models import User

CONTACT_FIELDS = {
    "first_name", "last_name", "job_title", "birthday", "language", "time_zone", "source",
    "notes", "owner", "external_id",
}  # fmt: skip
COMPANY_FIELDS = {
    "name", "domain", "industry", "size", "annual_revenue", "currency", "notes", "owner",
    "external_id",
}  # fmt: skip


class DuplicateError(ValidationError):
    """The input matches an existing record; the message links to it."""

    def __init__(self, field_name: str, message: str, existing: Contact | Company) -> None:
        self.existing = existing
        self.existing_url = _url_of(existing)
        super().__init__({field_name: [f"{message} ({self.existing_url})"]})


@dataclass
class EmailInput:
    email: str
    label: str = "work"
    is_primary: bool = False


@dataclass
class PhoneInput:
    number: str
    label: str = "work"
    is_primary: bool = False


@dataclass
class ContactInput:
    """What a person, a form, the API or an import gives to create a contact."""

    first_name: str = ""
    last_name: str = ""
    emails: Sequence[EmailInput | str] = ()
    phones: Sequence[PhoneInput | str] = ()
    job_title: str = ""
    birthday: Any = None
    language: str = ""
    time_zone: str = ""
    source: str = ""
    notes: str = ""
    owner: User | None = None
    lifecycle_stage: str = LifecycleStage.LEAD
    tags: Sequence[str] = ()
    custom_fields: Mapping[str, Any] = field(default_factory=dict)
    external_id: str | None = None
    companies: Sequence[tuple[Company, str]] = ()


# --- normalisation -----------------------------------------------------------


def normalise_email(raw: str, *, field_name: str = "emails") -> str:
    try:
        checked = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise ValidationError(
            {field_name: [f"{raw!r} is not a valid e-mail address: {error}"]}
        ) from None
    return checked.normalized.lower()


def normalise_phone(raw: str, *, field_name: str = "phones") -> str:
    """E.164 (+4930123456). Numbers without +country use PHONE_REGION (e.g. DE)."""
    region = getattr(settings, "PHONE_REGION", None)
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        hint = "" if region else " (start it with + and the country code)"
        raise ValidationError({field_name: [f"{raw!r} is not a phone number{hint}."]}) from None
    if not phonenumbers.is_possible_number(parsed):
        raise ValidationError({field_name: [f"{raw!r} is not a possible phone number."]})
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalise_domain(raw: str) -> str:
    domain = raw.strip().lower()
    for prefix in ("https://", "http://"):
        domain = domain.removeprefix(prefix)
    domain = domain.split("/", 1)[0].removeprefix("www.")
    if domain and ("." not in domain or " " in domain):
        raise ValidationError({"domain": [f"{raw!r} is not a domain name like example.com."]})
    return domain


def _full_name(first: str, last: str) -> str:
    return " ".join(part for part in (first.strip(), last.strip()) if part)


# --- contacts ----------------------------------------------------------------


def create_contact(actor: User | None, data: ContactInput, *, reason: str = "Created") -> Contact:
    """Create a contact with its e-mails, phones, tags and companies.

    Refuses an e-mail that another contact already has (DuplicateError with a
    link to it) instead of silently merging.
    """
    emails = _clean_emails(data.emails)
    phones = _clean_phones(data.phones)
    full_name = _full_name(data.first_name, data.last_name)
    if not full_name and not emails:
        raise ValidationError({"first_name": ["Give at least a name or an e-mail address."]})
    _check_stage(data.lifecycle_stage)
    contact = Contact(
        first_name=data.first_name.strip(),
        last_name=data.last_name.strip(),
        full_name=full_name or emails[0].email,
        job_title=data.job_title.strip(),
        birthday=data.birthday or None,
        language=data.language.strip(),
        time_zone=data.time_zone.strip(),
        source=data.source.strip(),
        notes=data.notes,
        owner=data.owner,
        lifecycle_stage=data.lifecycle_stage,
        external_id=(data.external_id or "").strip() or None,
        custom_fields=custom_fields.clean_values(CustomFieldTarget.CONTACT, data.custom_fields),
    )
    _check_time_zone(contact.time_zone)
    authorise(actor, Action.ADD, contact)
    hidden = [company for company, _ in data.companies if not _may_see(actor, company)]
    if hidden:
        # Worded like a company that does not exist: the caller learns nothing about it.
        raise ValidationError({"companies": [f"No company with id {hidden[0].pk}."]})
    with transaction.atomic():
        for email in emails:
            _refuse_duplicate_email(email.email)
        _refuse_duplicate_external_id(Contact, contact.external_id)
        _copy_primaries(contact, emails, phones)
        create_record(contact, actor=actor, reason=reason)
        bulk_create_with_history(
            [
                ContactEmail(contact=contact, email=e.email, label=e.label, is_primary=e.is_primary)
                for e in emails
            ],
            ContactEmail,
            default_user=actor,
            default_change_reason=reason,
        )
        bulk_create_with_history(
            [
                ContactPhone(
                    contact=contact, number=p.number, label=p.label, is_primary=p.is_primary
                )
                for p in phones
            ],
            ContactPhone,
            default_user=actor,
            default_change_reason=reason,
        )
        if data.tags:
            contact.tags.set(_tags(actor, data.tags))
        for company, role in data.companies:
            _add_membership(actor, contact, company, role)
        LifecycleChange.objects.create(
            contact=contact,
            to_stage=contact.lifecycle_stage,
            changed_by=actor,
            reason=reason,
        )
        customer_search.reindex_contact(contact)
    return contact


def update_contact(
    actor: User | None,
    contact: Contact,
    changes: Mapping[str, Any],
    *,
    expected_version: int | None = None,
) -> Contact:
    """Change a contact's own fields (not stage, e-mails, phones, tags: they have verbs)."""
    authorise(actor, Action.CHANGE, contact)
    unknown = set(changes) - CONTACT_FIELDS - {"custom_fields"}
    if unknown:
        raise ValidationError({name: ["This field cannot be changed here."] for name in unknown})
    values: dict[str, Any] = {
        key: value.strip() if isinstance(value, str) and key != "notes" else value
        for key, value in changes.items()
    }
    if "custom_fields" in values:
        values["custom_fields"] = custom_fields.clean_values(
            CustomFieldTarget.CONTACT, values["custom_fields"], current=contact.custom_fields
        )
    if "external_id" in values:
        values["external_id"] = values["external_id"] or None
    if "time_zone" in values:
        _check_time_zone(values["time_zone"])
    first = values.get("first_name", contact.first_name)
    last = values.get("last_name", contact.last_name)
    values["full_name"] = _full_name(first, last) or contact.email or contact.full_name
    if "owner" in values and actor is not None and not _may_own(actor, values["owner"], contact):
        raise ValidationError({"owner": ["You may not give this contact to that owner."]})
    with transaction.atomic():
        if values.get("external_id") and values["external_id"] != contact.external_id:
            _refuse_duplicate_external_id(Contact, values["external_id"], exclude=contact.pk)
        save_changes(contact, values, actor=actor, expected_version=expected_version)
        customer_search.reindex_contact(contact)
    return contact


def add_email(
    actor: User | None, contact: Contact, email: str, *, label: str = "work", primary: bool = False
) -> ContactEmail:
    authorise(actor, Action.CHANGE, contact)
    address = normalise_email(email, field_name="email")
    with transaction.atomic():
        _refuse_duplicate_email(address, field_name="email")
        has_primary = contact.emails.filter(is_primary=True).exists()
        if primary and has_primary:
            contact.emails.filter(is_primary=True).update(is_primary=False)
        row = ContactEmail(
            contact=contact, email=address, label=label, is_primary=primary or not has_primary
        )
        attribute_change(row, actor, "Added")
        row.save()
        _sync_primaries(actor, contact, reason=f"E-mail {address} added")
    return row


def remove_email(actor: User | None, contact: Contact, email: ContactEmail) -> None:
    authorise(actor, Action.CHANGE, contact)
    if email.contact_id != contact.pk:
        raise ValidationError({"email": ["That e-mail belongs to another contact."]})
    with transaction.atomic():
        was_primary = email.is_primary
        attribute_change(email, actor, "Removed")
        email.delete()
        if was_primary:
            successor = contact.emails.order_by("id").first()
            if successor is not None:
                ContactEmail.objects.filter(pk=successor.pk).update(is_primary=True)
        _sync_primaries(actor, contact, reason=f"E-mail {email.email} removed")


def add_phone(
    actor: User | None, contact: Contact, number: str, *, label: str = "work", primary: bool = False
) -> ContactPhone:
    authorise(actor, Action.CHANGE, contact)
    e164 = normalise_phone(number, field_name="phone")
    with transaction.atomic():
        if contact.phones.filter(number=e164).exists():
            raise ValidationError({"phone": [f"{e164} is already one of this contact's numbers."]})
        has_primary = contact.phones.filter(is_primary=True).exists()
        if primary and has_primary:
            contact.phones.filter(is_primary=True).update(is_primary=False)
        row = ContactPhone(
            contact=contact, number=e164, label=label, is_primary=primary or not has_primary
        )
        attribute_change(row, actor, "Added")
        row.save()
        _sync_primaries(actor, contact, reason=f"Phone {e164} added")
    return row


def remove_phone(actor: User | None, contact: Contact, phone: ContactPhone) -> None:
    authorise(actor, Action.CHANGE, contact)
    if phone.contact_id != contact.pk:
        raise ValidationError({"phone": ["That phone number belongs to another contact."]})
    with transaction.atomic():
        was_primary = phone.is_primary
        attribute_change(phone, actor, "Removed")
        phone.delete()
        if was_primary:
            successor = contact.phones.order_by("id").first()
            if successor is not None:
                ContactPhone.objects.filter(pk=successor.pk).update(is_primary=True)
        _sync_primaries(actor, contact, reason=f"Phone {phone.number} removed")


def trash_contact(
    actor: User | None, contact: Contact, *, expected_version: int | None = None
) -> Contact:
    authorise(actor, Action.DELETE, contact)
    with transaction.atomic():
        move_to_trash(contact, actor=actor, expected_version=expected_version)
        customer_search.reindex_contact(contact)
    return contact


def restore_contact(actor: User | None, contact: Contact) -> Contact:
    _authorise_restore(actor, contact)
    with transaction.atomic():
        restore(contact, actor=actor)
        customer_search.reindex_contact(contact)
    return contact


# --- companies ---------------------------------------------------------------


def create_company(
    actor: User | None,
    *,
    name: str,
    domain: str = "",
    industry: str = "",
    size: str = "",
    annual_revenue: Any = None,
    currency: str = "",
    notes: str = "",
    owner: User | None = None,
    lifecycle_stage: str = LifecycleStage.LEAD,
    tags: Sequence[str] = (),
    custom_fields_values: Mapping[str, Any] | None = None,
    external_id: str | None = None,
    reason: str = "Created",
) -> Company:
    name = name.strip()
    if not name:
        raise ValidationError({"name": ["A company needs a name."]})
    _check_stage(lifecycle_stage)
    company = Company(
        name=name,
        domain=normalise_domain(domain),
        industry=industry.strip(),
        size=size,
        annual_revenue=annual_revenue,
        currency=_currency(currency, required=annual_revenue is not None),
        notes=notes,
        owner=owner,
        lifecycle_stage=lifecycle_stage,
        external_id=(external_id or "").strip() or None,
        custom_fields=custom_fields.clean_values(
            CustomFieldTarget.COMPANY, custom_fields_values or {}
        ),
    )
    authorise(actor, Action.ADD, company)
    with transaction.atomic():
        _refuse_duplicate_domain(company.domain)
        _refuse_duplicate_external_id(Company, company.external_id)
        create_record(company, actor=actor, reason=reason)
        if tags:
            company.tags.set(_tags(actor, tags))
        LifecycleChange.objects.create(
            company=company, to_stage=company.lifecycle_stage, changed_by=actor, reason=reason
        )
        customer_search.reindex_company(company)
    return company


def update_company(
    actor: User | None,
    company: Company,
    changes: Mapping[str, Any],
    *,
    expected_version: int | None = None,
) -> Company:
    authorise(actor, Action.CHANGE, company)
    unknown = set(changes) - COMPANY_FIELDS - {"custom_fields"}
    if unknown:
        raise ValidationError({name: ["This field cannot be changed here."] for name in unknown})
    values = dict(changes)
    if "name" in values:
        values["name"] = str(values["name"]).strip()
        if not values["name"]:
            raise ValidationError({"name": ["A company needs a name."]})
    if "domain" in values:
        values["domain"] = normalise_domain(values["domain"] or "")
    if "currency" in values or "annual_revenue" in values:
        revenue = values.get("annual_revenue", company.annual_revenue)
        values["currency"] = _currency(
            values.get("currency", company.currency), required=revenue is not None
        )
    if "custom_fields" in values:
        values["custom_fields"] = custom_fields.clean_values(
            CustomFieldTarget.COMPANY, values["custom_fields"], current=company.custom_fields
        )
    if "external_id" in values:
        values["external_id"] = values["external_id"] or None
    if "owner" in values and actor is not None and not _may_own(actor, values["owner"], company):
        raise ValidationError({"owner": ["You may not give this company to that owner."]})
    with transaction.atomic():
        if values.get("domain") and values["domain"] != company.domain:
            _refuse_duplicate_domain(values["domain"], exclude=company.pk)
        if values.get("external_id") and values["external_id"] != company.external_id:
            _refuse_duplicate_external_id(Company, values["external_id"], exclude=company.pk)
        save_changes(company, values, actor=actor, expected_version=expected_version)
        customer_search.reindex_company(company)
    return company


def trash_company(
    actor: User | None, company: Company, *, expected_version: int | None = None
) -> Company:
    authorise(actor, Action.DELETE, company)
    with transaction.atomic():
        move_to_trash(company, actor=actor, expected_version=expected_version)
        customer_search.reindex_company(company)
    return company


def restore_company(actor: User | None, company: Company) -> Company:
    _authorise_restore(actor, company)
    with transaction.atomic():
        # Another live company may have taken the domain while this one was in the trash.
        _refuse_duplicate_domain(company.domain, exclude=company.pk)
        restore(company, actor=actor)
        customer_search.reindex_company(company)
    return company


def _authorise_restore(actor: User | None, record: Contact | Company) -> None:
    authorise_restore(actor)
    if record.deleted_at is None:  # checked before the domain/e-mail clash checks
        raise ValidationError(f"{record} is not in the trash.")
    refused = trash.refusal(record)
    if refused:
        raise ValidationError(refused)


# --- memberships -------------------------------------------------------------


def add_membership(
    actor: User | None, contact: Contact, company: Company, *, role: str = "", primary: bool = False
) -> Membership:
    authorise(actor, Action.CHANGE, contact)
    authorise(actor, Action.VIEW, company)
    with transaction.atomic():
        return _add_membership(actor, contact, company, role, primary=primary)


def remove_membership(actor: User | None, membership: Membership) -> None:
    authorise(actor, Action.CHANGE, membership.contact)
    attribute_change(membership, actor, "Left company")
    membership.delete()


def _may_see(actor: User | None, company: Company) -> bool:
    return actor is None or can(actor, Action.VIEW, company)


def _add_membership(
    actor: User | None, contact: Contact, company: Company, role: str, *, primary: bool = False
) -> Membership:
    if company.deleted_at is not None:
        raise ValidationError({"company": [f"{company.name} is in the trash."]})
    if Membership.objects.filter(contact=contact, company=company).exists():
        raise ValidationError({"company": [f"{contact} is already linked to {company.name}."]})
    is_first = not contact.memberships.exists()
    if primary and not is_first:
        contact.memberships.filter(is_primary=True).update(is_primary=False)
    membership = Membership(
        contact=contact, company=company, role=role.strip(), is_primary=primary or is_first
    )
    attribute_change(membership, actor, "Joined company")
    membership.save()
    return membership


# --- lifecycle -----------------------------------------------------------------


def change_stage(
    actor: User | None, record: Contact | Company, stage: str, *, reason: str = ""
) -> Contact | Company:
    """Move a contact or company to another lifecycle stage, recording when, who and why.

    A customer never silently goes back: leaving customer/evangelist for any
    stage but churned needs a reason.
    """
    authorise(actor, Action.CHANGE, record)
    _check_stage(stage)
    if stage == record.lifecycle_stage:
        return record
    reason = reason.strip()
    leaves_customers = record.lifecycle_stage in CUSTOMER_STAGES and stage not in CUSTOMER_STAGES
    if leaves_customers and stage != LifecycleStage.CHURNED and not reason:
        was = record.get_lifecycle_stage_display().lower()
        raise ValidationError(
            {"reason": [f"Say why a {was} goes back to {LifecycleStage(stage).label.lower()}."]}
        )
    with transaction.atomic():
        previous = record.lifecycle_stage
        save_changes(
            record, {"lifecycle_stage": stage}, actor=actor, reason=reason or "Stage changed"
        )
        change = LifecycleChange.objects.create(
            contact=record if isinstance(record, Contact) else None,
            company=record if isinstance(record, Company) else None,
            from_stage=previous,
            to_stage=stage,
            changed_by=actor,
            reason=reason,
        )
        # The timeline shows every stage change; keyed by the change so a retry
        # of the calling job cannot show it twice.
        record_interaction(
            actor,
            kind=InteractionKind.LIFECYCLE,
            subject=f"{LifecycleStage(previous).label} → {LifecycleStage(stage).label}",
            body=reason,
            contact=record if isinstance(record, Contact) else None,
            company=record if isinstance(record, Company) else None,
            occurred_at=change.changed_at,
            channel=Channel.SYSTEM,
            direction=Direction.INTERNAL,
            source=change,
            dedupe_key=f"lifecycle:{change.pk}",
        )
    return record


def mark_customer(actor: User | None, record: Contact | Company, *, reason: str) -> bool:
    """Make a prospect a customer (e.g. when its first order lands). Never demotes.

    Returns whether the stage changed. Evangelists stay evangelists.
    """
    if record.lifecycle_stage in CUSTOMER_STAGES:
        return False
    # change_stage writes the timeline entry, so an order that makes a customer
    # shows "Prospect → Customer" with the order's reason next to the order itself.
    change_stage(actor, record, LifecycleStage.CUSTOMER, reason=reason)
    return True


# --- consent -------------------------------------------------------------------


def set_consent(
    actor: User | None,
    contact: Contact,
    *,
    channel: str,
    purpose: str,
    granted: bool,
    source: str,
    evidence: str = "",
) -> Consent:
    """Record that a contact granted or withdrew consent for a channel and purpose."""
    authorise(actor, Action.CHANGE, contact)
    if channel not in ConsentChannel.values:
        raise ValidationError(
            {
                "channel": [
                    f"Unknown channel {channel!r}; use one of {', '.join(ConsentChannel.values)}."
                ]
            }
        )
    if purpose not in ConsentPurpose.values:
        raise ValidationError(
            {
                "purpose": [
                    f"Unknown purpose {purpose!r}; use one of {', '.join(ConsentPurpose.values)}."
                ]
            }
        )
    if not source.strip():
        raise ValidationError(
            {"source": ["Say where the consent came from (e.g. web form, call)."]}
        )
    status = ConsentStatus.GRANTED if granted else ConsentStatus.WITHDRAWN
    with transaction.atomic():
        consent = Consent.objects.filter(contact=contact, channel=channel, purpose=purpose).first()
        if consent is None:
            consent = Consent(contact=contact, channel=channel, purpose=purpose)
        consent.status = status
        consent.changed_at = timezone.now()
        consent.source = source.strip()
        consent.evidence = evidence.strip()
        attribute_change(consent, actor, f"Consent {status}")
        consent.save()
    return consent


def may_contact(contact: Contact, *, channel: str, purpose: str) -> bool:
    """The one check every sender makes: has this contact granted this channel and purpose?"""
    if contact.deleted_at is not None:
        return False
    return Consent.objects.filter(
        contact=contact, channel=channel, purpose=purpose, status=ConsentStatus.GRANTED
    ).exists()


# --- tags and bulk actions ---------------------------------------------------------


def create_tag(actor: User | None, name: str) -> Tag:
    if not name.strip():
        raise ValidationError({"name": ["A tag needs a name."]})
    with transaction.atomic():
        return _tags(actor, [name])[0]


def tag(actor: User | None, records: Iterable[Contact | Company], names: Sequence[str]) -> int:
    tags = _tags(actor, names)
    count = 0
    with transaction.atomic():
        for record in records:
            authorise(actor, Action.CHANGE, record)
            record.tags.add(*tags)
            count += 1
    return count


def untag(actor: User | None, records: Iterable[Contact | Company], names: Sequence[str]) -> int:
    wanted = [name.strip().lower() for name in names if name and name.strip()]
    tags = list(Tag.objects.annotate(key=Lower("name")).filter(key__in=wanted))
    count = 0
    with transaction.atomic():
        for record in records:
            authorise(actor, Action.CHANGE, record)
            record.tags.remove(*tags)
            count += 1
    return count


@dataclass(frozen=True)
class BulkResult:
    changed: int
    refused: int


def bulk_assign_owner(actor: User, records: QuerySet[Any], owner: User | None) -> BulkResult:
    changed = refused = 0
    with transaction.atomic():
        for record in records:
            if not can(actor, Action.CHANGE, record) or not _may_own(actor, owner, record):
                refused += 1
                continue
            save_changes(record, {"owner": owner}, actor=actor, reason="Owner assigned")
            changed += 1
    return BulkResult(changed, refused)


def bulk_tag(actor: User, records: QuerySet[Any], names: Sequence[str]) -> BulkResult:
    """Tag the records the actor may change; the others are counted as refused."""
    tags = _tags(actor, names)
    changed = refused = 0
    with transaction.atomic():
        for record in records:
            if not can(actor, Action.CHANGE, record):
                refused += 1
                continue
            record.tags.add(*tags)
            changed += 1
    return BulkResult(changed, refused)


def bulk_change_stage(
    actor: User, records: QuerySet[Any], stage: str, *, reason: str = ""
) -> BulkResult:
    changed = refused = 0
    with transaction.atomic():
        for record in records:
            try:
                before = record.lifecycle_stage
                change_stage(actor, record, stage, reason=reason)
            except (ValidationError, PermissionDenied):
                refused += 1
                continue
            changed += before != stage
    return BulkResult(changed, refused)


def bulk_trash(actor: User, records: QuerySet[Any]) -> BulkResult:
    changed = refused = 0
    with transaction.atomic():
        for record in records:
            if not can(actor, Action.DELETE, record):
                refused += 1
                continue
            move_to_trash(record, actor=actor)
            _reindex(record)
            changed += 1
    return BulkResult(changed, refused)


# --- helpers -------------------------------------------------------------------


def _clean_emails(raw: Sequence[EmailInput | str]) -> list[EmailInput]:
    emails = [item if isinstance(item, EmailInput) else EmailInput(item) for item in raw if item]
    seen: set[str] = set()
    cleaned = []
    for item in emails:
        if not str(item.email).strip():
            continue
        address = normalise_email(item.email)
        if address in seen:
            continue
        seen.add(address)
        cleaned.append(EmailInput(address, item.label, item.is_primary))
    if cleaned and not any(item.is_primary for item in cleaned):
        cleaned[0].is_primary = True
    if sum(item.is_primary for item in cleaned) > 1:
        raise ValidationError({"emails": ["Only one e-mail can be the primary one."]})
    return cleaned


def _clean_phones(raw: Sequence[PhoneInput | str]) -> list[PhoneInput]:
    phones = [item if isinstance(item, PhoneInput) else PhoneInput(item) for item in raw if item]
    seen: set[str] = set()
    cleaned = []
    for item in phones:
        if not str(item.number).strip():
            continue
        number = normalise_phone(item.number)
        if number in seen:
            continue
        seen.add(number)
        cleaned.append(PhoneInput(number, item.label, item.is_primary))
    if cleaned and not any(item.is_primary for item in cleaned):
        cleaned[0].is_primary = True
    if sum(item.is_primary for item in cleaned) > 1:
        raise ValidationError({"phones": ["Only one phone can be the primary one."]})
    return cleaned


def _copy_primaries(contact: Contact, emails: list[EmailInput], phones: list[PhoneInput]) -> None:
    contact.email = next((e.email for e in emails if e.is_primary), "")
    contact.phone = next((p.number for p in phones if p.is_primary), "")


def _sync_primaries(actor: User | None, contact: Contact, *, reason: str) -> None:
    email = contact.emails.filter(is_primary=True).values_list("email", flat=True).first() or ""
    phone = contact.phones.filter(is_primary=True).values_list("number", flat=True).first() or ""
    changes: dict[str, Any] = {"email": email, "phone": phone}
    if not contact.first_name and not contact.last_name:
        changes["full_name"] = email or contact.full_name
    save_changes(contact, changes, actor=actor, reason=reason)
    customer_search.reindex_contact(contact)


def _reindex(record: Contact | Company) -> None:
    if isinstance(record, Contact):
        customer_search.reindex_contact(record)
    else:
        customer_search.reindex_company(record)


def _refuse_duplicate_email(email: str, *, field_name: str = "emails") -> None:
    existing = ContactEmail.objects.select_related("contact").filter(email=email).first()
    if existing is not None:
        where = " (in the trash)" if existing.contact.deleted_at else ""
        raise DuplicateError(
            field_name, f"{email} already belongs to {existing.contact}{where}", existing.contact
        )


def _refuse_duplicate_domain(domain: str, *, exclude: int | None = None) -> None:
    """Two live companies never share a domain (trashed ones do not count)."""
    if not domain:
        return
    clashes = Company.objects.filter(domain=domain, deleted_at__isnull=True)
    if exclude is not None:
        clashes = clashes.exclude(pk=exclude)
    clash = clashes.first()
    if clash is not None:
        raise DuplicateError("domain", f"{clash.name} already has the domain {domain}", clash)


def _refuse_duplicate_external_id(
    model: type[Contact] | type[Company], external_id: str | None, *, exclude: int | None = None
) -> None:
    if not external_id:
        return
    clashes = model.objects.filter(external_id=external_id)
    if exclude is not None:
        clashes = clashes.exclude(pk=exclude)
    clash = clashes.first()
    if clash is not None:
        raise DuplicateError(
            "external_id", f"External id {external_id} is already used by {clash}", clash
        )


def _tags(actor: User | None, names: Sequence[str]) -> list[Tag]:
    """The tags with these names (case-insensitive), creating missing ones."""
    wanted = list(dict.fromkeys(name.strip() for name in names if name and name.strip()))
    existing: dict[str, Tag] = {
        tag.name.lower(): tag
        for tag in Tag.objects.annotate(key=Lower("name")).filter(
            key__in=[name.lower() for name in wanted]
        )
    }
    result: list[Tag] = []
    for name in wanted:
        found = existing.get(name.lower())
        if found is None:
            authorise(actor, Action.ADD, Tag)
            if len(name) > 60:
                raise ValidationError({"tags": [f"Tag {name[:20]}… is longer than 60 characters."]})
            try:
                with transaction.atomic():
                    found = Tag.objects.create(name=name)
            except IntegrityError:  # created meanwhile by someone else
                found = Tag.objects.get(name__iexact=name)
            existing[name.lower()] = found
        result.append(found)
    return result


def _check_stage(stage: str) -> None:
    if stage not in LifecycleStage.values:
        raise ValidationError(
            {
                "lifecycle_stage": [
                    f"Unknown stage {stage!r}; use one of {', '.join(LifecycleStage.values)}."
                ]
            }
        )


def _check_time_zone(name: str) -> None:
    if not name:
        return
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            {"time_zone": [f"{name!r} is not a time zone like Europe/Berlin."]}
        ) from None


def _currency(code: str, *, required: bool) -> str:
    code = (code or "").strip().upper()
    if not code:
        if required:
            return settings.BASE_CURRENCY
        return ""
    if len(code) != 3 or not code.isalpha():
        raise ValidationError(
            {"currency": [f"{code!r} is not an ISO 4217 currency code like EUR."]}
        )
    return code


def _may_own(actor: User, owner: User | None, record: Contact | Company) -> bool:
    """A user may hand a record only to owners it would still be allowed to assign."""
    probe = type(record)(owner=owner)
    return can(actor, Action.CHANGE, probe)


def _url_of(record: Contact | Company) -> str:
    name = "customers:contact" if isinstance(record, Contact) else "customers:company"
    try:
        return reverse(name, args=[record.pk])
    except NoReverseMatch:  # the web pages are not mounted (e.g. in a job)
        return f"/{type(record).__name__.lower()}s/{record.pk}/"
