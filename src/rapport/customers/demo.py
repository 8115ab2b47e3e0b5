"""Demo companies and contacts: realistic mix of stages, owners, tags and consent.

Loaded in bulk (one INSERT per batch, history rows included) so that
``rapport demo --contacts 100000`` stays quick; the rows are exactly what the
services would write.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from simple_history.utils import bulk_create_with_history

from rapport.core.demo import DemoContext, register
from rapport.customers import search as customer_search
from rapport.customers.choices import (
    CompanySize,
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

BATCH = 2000
FIRST = [
    "Anna",
    "Ben",
    "Carla",
    "David",
    "Emma",
    "Felix",
    "Greta",
    "Hannah",
    "Isaac",
    "Julia",
    "Karl",
    "Lena",
    "Marco",
    "Nora",
    "Oscar",
    "Paula",
    "Rafael",
    "Sara",
    "Tobias",
    "Ulla",
    "Victor",
    "Wanda",
    "Xavier",
    "Yara",
    "Zoe",
    "Ahmed",
    "Bianca",
    "Chen",
    "Diego",
    "Esra",
    "Fatima",
    "Gustav",
    "Hiro",
    "Ingrid",
    "Jamal",
    "Kira",
    "Lars",
    "Mei",
    "Nikolai",
    "Olivia",
]
LAST = [
    "Schmidt",
    "Rossi",
    "Novak",
    "Martin",
    "Jansen",
    "Svensson",
    "Kowalczyk",
    "Moreau",
    "Fernández",
    "Nielsen",
    "Horvat",
    "Papadopoulos",
    "Popescu",
    "Ivanov",
    "O'Brien",
    "Weber",
    "Bianchi",
    "Dvořák",
    "Lambert",
    "de Vries",
    "Lindqvist",
    "Nagy",
    "Silva",
    "Yılmaz",  # noqa: RUF001 - a real Turkish name
    "Tanaka",
    "Kim",
    "Nguyen",
    "Okoye",
    "Mensah",
    "Haddad",
]
COMPANY_WORDS = [
    "Nord",
    "Alpen",
    "Blue",
    "Green",
    "Atlas",
    "Delta",
    "Summit",
    "River",
    "Oak",
    "Harbor",
    "Pioneer",
    "Crystal",
    "Falcon",
    "Maple",
    "Orbit",
    "Zenith",
]
COMPANY_KINDS = [
    ("Heating", "Building services"),
    ("Dental", "Healthcare"),
    ("Foods", "Food & beverage"),
    ("Logistics", "Transport"),
    ("Tech", "Software"),
    ("Print", "Printing"),
    ("Motors", "Automotive"),
    ("Bakery", "Food & beverage"),
    ("Hotels", "Hospitality"),
    ("Engineering", "Manufacturing"),
]
TITLES = [
    "Owner",
    "Managing director",
    "Purchasing manager",
    "Office manager",
    "Facility manager",
    "Head of operations",
    "CFO",
    "IT lead",
    "Assistant",
    "Technician",
]
SOURCES = ["website", "referral", "trade fair", "phone inquiry", "newsletter", "partner"]
TAGS = [
    "VIP",
    "newsletter",
    "maintenance contract",
    "trade fair 2026",
    "key account",
    "price sensitive",
]
# Roughly how a small business's base splits across stages.
STAGE_WEIGHTS = [
    (LifecycleStage.SUBSCRIBER, 10),
    (LifecycleStage.LEAD, 25),
    (LifecycleStage.PROSPECT, 15),
    (LifecycleStage.CUSTOMER, 38),
    (LifecycleStage.EVANGELIST, 5),
    (LifecycleStage.CHURNED, 7),
]


def _ascii(text: str) -> str:
    return (
        unicodedata.normalize("NFKD", text)
        .encode("ascii", "ignore")
        .decode()
        .lower()
        .replace("'", "")
        .replace(" ", "")
    )


@register(20, "companies and contacts")
def load(context: DemoContext) -> None:
    rng = context.rng
    owners: list[Any] = [u for u in context.made.get("users", []) if u.role in ("sales", "service")]
    if not owners:
        owners = [None]
    tags = [Tag.objects.create(name=name) for name in TAGS]
    stages = [stage for stage, _ in STAGE_WEIGHTS]
    weights = [weight for _, weight in STAGE_WEIGHTS]
    start = context.now - timedelta(days=3 * 365)

    company_count = max(1, context.contacts // 10) if context.contacts else 0
    companies = []
    for index in range(company_count):
        word, (kind, industry) = rng.choice(COMPANY_WORDS), rng.choice(COMPANY_KINDS)
        name = f"{word} {kind} {index + 1}"
        created = start + timedelta(seconds=rng.randrange(3 * 365 * 86400))
        companies.append(
            Company(
                name=name,
                domain=f"{_ascii(word)}{_ascii(kind)}{index + 1}.example",
                industry=industry,
                size=rng.choice(CompanySize.values),
                lifecycle_stage=rng.choices(stages, weights)[0],
                owner=rng.choice(owners),
                created_at=created,
                updated_at=created,
            )
        )
    for offset in range(0, len(companies), BATCH):
        bulk_create_with_history(
            companies[offset : offset + BATCH],
            Company,
            batch_size=BATCH,
            default_change_reason="Demo data",
        )
    companies = list(Company.objects.order_by("id"))
    context.made["companies"] = companies

    for offset in range(0, context.contacts, BATCH):
        _load_contacts(
            context,
            offset,
            min(BATCH, context.contacts - offset),
            companies,
            owners,
            tags,
            stages,
            weights,
            start,
        )
    indexed = customer_search.rebuild()
    context.say(f"  {company_count} companies, {context.contacts} contacts ({indexed} indexed)")


def _load_contacts(
    context: DemoContext,
    offset: int,
    count: int,
    companies: list[Company],
    owners: list[Any],
    tags: list[Tag],
    stages: Sequence[str],
    weights: list[int],
    start: Any,
) -> None:
    rng = context.rng
    contacts = []
    for number in range(offset, offset + count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        created = start + timedelta(seconds=rng.randrange(3 * 365 * 86400))
        contacts.append(
            Contact(
                first_name=first,
                last_name=last,
                full_name=f"{first} {last}",
                email=f"{_ascii(first)}.{_ascii(last)}.{number + 1}@example.com",
                phone=f"+4930{rng.randrange(1000000, 9999999)}",
                job_title=rng.choice(TITLES),
                source=rng.choice(SOURCES),
                language=rng.choice(["en", "de", "fr", "es", "it"]),
                lifecycle_stage=rng.choices(stages, weights)[0],
                owner=rng.choice(owners),
                created_at=created,
                updated_at=created,
            )
        )
    bulk_create_with_history(contacts, Contact, batch_size=BATCH, default_change_reason="Demo data")
    saved = list(Contact.objects.filter(email__in=[c.email for c in contacts]).order_by("id"))
    ContactEmail.objects.bulk_create(
        ContactEmail(contact=c, email=c.email, is_primary=True) for c in saved
    )
    ContactPhone.objects.bulk_create(
        ContactPhone(contact=c, number=c.phone, is_primary=True) for c in saved
    )
    LifecycleChange.objects.bulk_create(
        LifecycleChange(
            contact=c, to_stage=c.lifecycle_stage, changed_at=c.created_at, reason="Demo data"
        )
        for c in saved
    )
    memberships, consents, tag_links = [], [], []
    through = Contact.tags.through
    for contact in saved:
        if companies and rng.random() < 0.8:
            memberships.append(
                Membership(
                    contact=contact,
                    company=rng.choice(companies),
                    role=contact.job_title,
                    is_primary=True,
                )
            )
        if rng.random() < 0.6:
            consents.append(
                Consent(
                    contact=contact,
                    channel=ConsentChannel.EMAIL,
                    purpose=ConsentPurpose.MARKETING,
                    status=ConsentStatus.GRANTED
                    if rng.random() < 0.85
                    else ConsentStatus.WITHDRAWN,
                    changed_at=contact.created_at,
                    source="web form",
                    evidence="Newsletter sign-up",
                )
            )
        if rng.random() < 0.7:
            consents.append(
                Consent(
                    contact=contact,
                    channel=ConsentChannel.EMAIL,
                    purpose=ConsentPurpose.SERVICE,
                    status=ConsentStatus.GRANTED,
                    changed_at=contact.created_at,
                    source="order",
                    evidence="Service reminders accepted with the order",
                )
            )
        for tag in rng.sample(tags, k=rng.choice([0, 0, 1, 1, 2])):
            tag_links.append(through(contact_id=contact.pk, tag_id=tag.pk))
    Membership.objects.bulk_create(memberships, batch_size=BATCH)
    Consent.objects.bulk_create(consents, batch_size=BATCH)
    through.objects.bulk_create(tag_links, batch_size=BATCH)
