"""Every read of contacts and companies, restricted to what the viewer may see."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from rapport.core.permissions import Action, may_see_trash, restrict
from rapport.customers.choices import ConsentStatus
from rapport.customers.models import (
    Company,
    Consent,
    Contact,
    LifecycleChange,
    Membership,
    Tag,
)


def contacts(
    viewer: Any, action: Action = Action.VIEW, *, trash: bool = False
) -> QuerySet[Contact]:
    """Rows for lists: only what a list shows is joined (owner, scores); tags are prefetched."""
    if trash and not may_see_trash(viewer):
        return Contact.objects.none()
    return restrict(
        Contact.objects.select_related("owner", "score").prefetch_related("tags"),
        viewer,
        action,
        trash=trash,
    )


# What an API list row shows (``ContactListSerializer``): the rest (notes...) is not read.
CONTACT_LIST_FIELDS = (
    "id", "full_name", "first_name", "last_name", "email", "phone", "job_title",
    "lifecycle_stage", "owner_id", "custom_fields", "version", "created_at", "updated_at",
    "last_activity_at",
)  # fmt: skip
COMPANY_LIST_FIELDS = (
    "id", "name", "domain", "industry", "size", "lifecycle_stage", "owner_id", "custom_fields",
    "version", "created_at", "updated_at",
)  # fmt: skip


def contact_rows(viewer: Any, action: Action = Action.VIEW) -> QuerySet[Contact]:
    """Rows for the API list: its columns only, no joins (it shows owner ids, not owners).

    Tags come from ``tag_names`` in one query per page.
    """
    return restrict(Contact.objects.only(*CONTACT_LIST_FIELDS), viewer, action)


def company_rows(viewer: Any, action: Action = Action.VIEW) -> QuerySet[Company]:
    """As ``contact_rows``, for companies."""
    return restrict(Company.objects.only(*COMPANY_LIST_FIELDS), viewer, action)


def contact_record(viewer: Any, action: Action = Action.VIEW) -> QuerySet[Contact]:
    """One contact as the API shows it: its own rows prefetched, no owner or score join."""
    return restrict(Contact.objects.all(), viewer, action).prefetch_related(
        "tags",
        "emails",
        "phones",
        "addresses",
        Prefetch("memberships", queryset=Membership.objects.select_related("company")),
        "consents",
    )


def contact_visible(
    viewer: Any, action: Action = Action.VIEW, *, via: str = "contact_id"
) -> Exists:
    """For other apps' rows: the contact in column ``via`` allows ``action`` to the viewer.

    A correlated EXISTS, not ``IN (visible contacts)``: IN makes the database list
    every contact the viewer may see for each query (the whole table for a manager),
    where EXISTS looks up only the contacts of the rows actually read.
    """
    return Exists(contacts(viewer, action).filter(pk=OuterRef(via)))


def company_visible(
    viewer: Any, action: Action = Action.VIEW, *, via: str = "company_id"
) -> Exists:
    """For other apps' rows: the company in column ``via`` allows ``action`` (see above)."""
    return Exists(companies(viewer, action).filter(pk=OuterRef(via)))


def tag_names(model: type[Contact] | type[Company], ids: Iterable[int]) -> dict[int, list[str]]:
    """The tag names of each record, in the tags' order (by name): one query for a page."""
    through = model.tags.through
    owner = "contact_id" if model is Contact else "company_id"
    names: dict[int, list[str]] = defaultdict(list)
    rows = (
        through.objects.filter(**{f"{owner}__in": list(ids)})
        .order_by("tag__name", "tag_id")
        .values_list(owner, "tag__name")
    )
    for record_id, name in rows:
        names[record_id].append(name)
    return names


def contact_detail(viewer: Any, action: Action = Action.VIEW) -> QuerySet[Contact]:
    """One contact with everything its page shows, in a fixed number of queries."""
    return contacts(viewer, action).prefetch_related(
        "emails",
        "phones",
        "addresses",
        Prefetch("memberships", queryset=Membership.objects.select_related("company")),
        "consents",
    )


def companies(
    viewer: Any, action: Action = Action.VIEW, *, trash: bool = False
) -> QuerySet[Company]:
    if trash and not may_see_trash(viewer):
        return Company.objects.none()
    return restrict(
        Company.objects.select_related("owner", "score").prefetch_related("tags"),
        viewer,
        action,
        trash=trash,
    )


def company_detail(viewer: Any, action: Action = Action.VIEW) -> QuerySet[Company]:
    return companies(viewer, action).prefetch_related(
        "addresses",
        Prefetch("memberships", queryset=Membership.objects.select_related("contact")),
    )


def company_members(viewer: Any, company: Company) -> QuerySet[Membership]:
    """The company's people the viewer may see."""
    visible = contacts(viewer).values("pk")
    return (
        Membership.objects.filter(company=company, contact__in=visible)
        .select_related("contact")
        .order_by("-is_primary", "contact__full_name")
    )


def stage_history(record: Contact | Company) -> QuerySet[LifecycleChange]:
    lookup = {"contact": record} if isinstance(record, Contact) else {"company": record}
    return LifecycleChange.objects.filter(**lookup).select_related("changed_by")


def tags(viewer: Any) -> QuerySet[Tag]:
    return restrict(Tag.objects.all(), viewer)


def with_consent(queryset: QuerySet[Contact], *, channel: str, purpose: str) -> QuerySet[Contact]:
    """Contacts who granted this channel and purpose: what every sender filters by."""
    granted = Consent.objects.filter(channel=channel, purpose=purpose, status=ConsentStatus.GRANTED)
    return queryset.filter(pk__in=granted.values("contact_id"))
