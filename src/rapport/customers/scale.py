"""Large demos: a million contacts with their companies, orders and timeline, in minutes.

``rapport demo --contacts N`` loads small demos through each app's ordinary
step. From ``bulk_threshold()`` contacts on, the two steps here replace the
customers, timeline and orders steps: every column is generated as a numpy
array (same shapes of data as the ordinary steps: lifecycle mix, owners,
tags, consents, companies, buyers who behave as BG/NBD assumes) and written
with ``BulkWriter`` (executemany in one transaction on SQLite, COPY on
PostgreSQL), secondary indexes rebuilt once at the end.

Derived values are computed here exactly as the services keep them: order
totals are the sums of their lines, every order has its timeline entry with
the services' dedupe key, ``last_activity_at`` is the latest touchpoint,
primary e-mail and phone rows match the contact's copies, every live contact
and company has its search document and the dictionary has their names.

Left to the ordinary steps of small demos: deliveries, the installed base,
foreign currencies and the history rows of orders and timeline entries.
"""

from __future__ import annotations

import time
import unicodedata
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.contrib.contenttypes.models import ContentType

from rapport.core.demo import BulkWriter, DemoContext, dates, register_bulk, timestamps
from rapport.customers.choices import (
    CompanySize,
    ConsentChannel,
    ConsentPurpose,
    ConsentStatus,
    LifecycleStage,
)
from rapport.customers.demo import (
    COMPANY_KINDS,
    COMPANY_WORDS,
    FIRST,
    LAST,
    SOURCES,
    STAGE_WEIGHTS,
    TAGS,
    TITLES,
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
from rapport.search import index as search_index
from rapport.search.models import SearchDocument, SearchTerm

DAY = 86400
YEAR = 365 * DAY
HISTORY_YEARS = 3
# Surnames follow a Zipf law in real address books: a few very common, a long tail.
SURNAME_STARTS = [
    "Berg", "Hol", "Lind", "Mar", "Ro", "Sten", "Vall", "Kra", "Bel", "Dor", "Fen", "Gar",
    "Hal", "Jor", "Kel", "Lor", "Mor", "Nor", "Ost", "Pen", "Quin", "Ras", "Sol", "Tor",
    "Ul", "Ven", "Wes", "Zan", "Ab", "Cas",
]  # fmt: skip
SURNAME_ENDS = [
    "mann", "son", "berg", "strom", "ini", "escu", "ova", "ez", "ley", "ton", "er", "ard",
    "ic", "sen", "ski", "elli", "ides", "oglu", "ek", "and",
]  # fmt: skip
MORE_FIRST = [
    "Alma", "Bruno", "Clara", "Dario", "Elif", "Finn", "Gloria", "Henrik", "Ines", "Jonas",
    "Kofi", "Leila", "Milan", "Nadia", "Omar", "Pia", "Quentin", "Rosa", "Stefan", "Tara",
    "Uwe", "Vera", "Wim", "Ximena", "Yusuf", "Zora", "Aiko", "Bram", "Celine", "Dmitri",
]  # fmt: skip
FREEMAIL = ["example.com", "example.net", "example.org", "mail.example"]
# Lifecycle stage → how much we talk to them, relative to a customer.
TALK = {
    LifecycleStage.SUBSCRIBER: 0.3,
    LifecycleStage.LEAD: 0.8,
    LifecycleStage.PROSPECT: 1.2,
    LifecycleStage.CUSTOMER: 1.2,
    LifecycleStage.EVANGELIST: 1.5,
    LifecycleStage.CHURNED: 0.8,
}
TOUCHPOINTS_PER_CONTACT = 10  # all kinds, orders included
# A few key accounts have a long history: their page must stay fast too.
KEY_ACCOUNT_TOUCHPOINTS = 10_000
CONTACTS_PER_KEY_ACCOUNT = 100_000
# Buyers (BG/NBD): purchase rate per year λ ~ Gamma(R, rate ALPHA), dropout p ~ Beta(A, B).
# Chosen so that a million contacts place about three million orders.
R, ALPHA = 2.0, 0.4
A, B = 1.0, 16.0
MAX_ORDERS = 60
BUYER_STAGES = (LifecycleStage.CUSTOMER, LifecycleStage.EVANGELIST, LifecycleStage.CHURNED)
MAIN_UNITS = [
    ("BOIL-CL-24", 20, "FLT-MAG"),
    ("BOIL-ECO-24", 30, "FLT-MAG"),
    ("BOIL-ECO-35", 10, "FLT-MAG"),
    ("HP-AIR-8", 10, "FLT-AIR"),
    ("SOFT-20", 20, "FLT-WTR"),
    ("TANK-200", 10, ""),
]
REPEAT_KINDS = [("maintenance", 55), ("consumables", 20), ("accessory", 15), ("repair", 5)]
UPGRADE_SHARE = 0.05
CALL_SUBJECTS = [
    "Follow-up on the quote", "Checked in after the installation",
    "Asked about the service contract", "Discussed the renewal", "Introductory call",
]  # fmt: skip
EMAIL_SUBJECTS = [
    "Sent the quote", "Sent the product brochure", "Confirmed the appointment",
    "Answered a question about delivery times", "Sent the maintenance offer",
]  # fmt: skip
NOTE_SUBJECTS = [
    "Prefers calls in the morning", "Budget decision in the next quarter",
    "Met at the trade fair", "Decision maker is the managing director",
]  # fmt: skip
MEETING_SUBJECTS = ["On-site visit", "Product demo", "Annual account review"]
INQUIRY_SUBJECTS = ["Asked for a price list", "Asked about spare parts", "Request for a quote"]
# kind, share of the conversations, channel(s), direction(s), subjects
CONVERSATIONS: list[tuple[str, int, list[str], list[str], list[str]]] = [
    ("call", 35, ["phone"], ["outbound", "outbound", "inbound"], CALL_SUBJECTS),
    ("email", 30, ["email"], ["outbound", "inbound"], EMAIL_SUBJECTS),
    ("note", 15, [""], ["internal"], NOTE_SUBJECTS),
    ("meeting", 12, ["in_person", "video"], ["outbound"], MEETING_SUBJECTS),
    ("inquiry", 8, ["web", "email", "phone"], ["inbound"], INQUIRY_SUBJECTS),
]
BODIES = [
    "",
    "",
    "Will get back to us after talking to the team.",
    "Interested, but wants to compare offers first.",
    "Needs the offer in writing by the end of the month.",
    "Asked us to call again in two weeks.",
]


@dataclass
class Made:
    """What the first bulk step leaves for the second (kept in ``context.made``)."""

    contact_ids: np.ndarray[Any, Any]
    owner_ids: np.ndarray[Any, Any]  # -1: no owner
    created: np.ndarray[Any, Any]  # unix seconds
    stage: np.ndarray[Any, Any]  # index into STAGES
    company_ids: np.ndarray[Any, Any]  # -1: no company


STAGES = [stage for stage, _ in STAGE_WEIGHTS]


def _ascii(text: str) -> str:
    return (
        unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    ).translate({ord("'"): None, ord(" "): None})


def _pick(generator: np.random.Generator, weights: list[float], size: int) -> np.ndarray[Any, Any]:
    shares = np.asarray(weights, dtype="float64")
    return generator.choice(len(shares), size=size, p=shares / shares.sum())


def _generator(context: DemoContext) -> np.random.Generator:
    return np.random.default_rng(context.rng.randrange(2**32))


def _owners(context: DemoContext) -> list[int]:
    return [u.pk for u in context.made.get("users", []) if u.role in ("sales", "service")]


def _say_done(context: DemoContext, what: str, started: float) -> None:
    context.say(f"  {what} in {time.perf_counter() - started:.0f} s")


# --- companies and contacts --------------------------------------------------------------


@register_bulk(20, "companies and contacts", replaces=["companies and contacts"])
def load_people(context: DemoContext) -> None:
    started = time.perf_counter()
    writer = BulkWriter()
    generator = _generator(context)
    now = int(context.now.timestamp())
    n = context.contacts
    owners = np.asarray(_owners(context) or [-1], dtype="int64")
    tags = [Tag.objects.get_or_create(name=name)[0].pk for name in TAGS]

    # Companies: one for every ten people.
    c = max(1, n // 10)
    company_ids = np.arange(writer.next_id(Company), writer.next_id(Company) + c)
    word = generator.integers(0, len(COMPANY_WORDS), c)
    kind = generator.integers(0, len(COMPANY_KINDS), c)
    numbers = np.arange(1, c + 1).astype(str)
    words = np.asarray(COMPANY_WORDS)[word]
    kinds = np.asarray([k for k, _ in COMPANY_KINDS])[kind]
    company_names = _join(words, " ", kinds, " ", numbers)
    ascii_words = np.asarray([_ascii(w) for w in COMPANY_WORDS])[word]
    ascii_kinds = np.asarray([_ascii(k) for k, _ in COMPANY_KINDS])[kind]
    domain_stem = _join(ascii_words, ascii_kinds, numbers)
    domains = _join(domain_stem, ".example")
    company_created = now - HISTORY_YEARS * YEAR + generator.integers(0, HISTORY_YEARS * YEAR, c)
    company_stage = _pick(generator, [w for _, w in STAGE_WEIGHTS], c)
    company_owner = owners[generator.integers(0, len(owners), c)]
    created_text = timestamps(company_created)
    company_columns = {
        "id": company_ids,
        "name": company_names,
        "domain": domains,
        "industry": np.asarray([i for _, i in COMPANY_KINDS])[kind],
        "size": np.asarray(CompanySize.values)[generator.integers(0, len(CompanySize.values), c)],
        "lifecycle_stage": np.asarray(STAGES)[company_stage],
        "owner_id": _nullable(company_owner),
        "created_at": created_text,
        "updated_at": created_text,
    }
    with writer.indexes_deferred(Company, Company.history.model):
        writer.insert(Company, company_columns, rows=c)
        _history(writer, Company, company_columns, c)
    writer.reset_sequences(Company)

    # Contacts.
    first_pool = FIRST + MORE_FIRST
    last_pool = LAST + [a + b for a in SURNAME_STARTS for b in SURNAME_ENDS]
    zipf = 1.0 / np.arange(1, len(last_pool) + 1) ** 0.9
    first = generator.integers(0, len(first_pool), n)
    last = _pick(generator, list(zipf[generator.permutation(len(last_pool))]), n)
    ids = np.arange(writer.next_id(Contact), writer.next_id(Contact) + n)
    firsts = np.asarray(first_pool, dtype=object)[first]
    lasts = np.asarray(last_pool, dtype=object)[last]
    full = _join(firsts, " ", lasts)
    created = now - HISTORY_YEARS * YEAR + generator.integers(0, HISTORY_YEARS * YEAR, n)
    stage = _pick(generator, [w for _, w in STAGE_WEIGHTS], n)
    owner = owners[generator.integers(0, len(owners), n)]
    # Four in five work at a company; company sizes spread like real ones (log-normal).
    member = generator.random(n) < 0.8
    size = generator.lognormal(0.0, 1.0, c)
    company_of = np.full(n, -1, dtype="int64")
    company_of[member] = company_ids[generator.choice(c, int(member.sum()), p=size / size.sum())]
    sequence = (ids - ids[0] + 1).astype(str)
    ascii_first = np.asarray([_ascii(f) for f in first_pool], dtype=object)[first]
    ascii_last = np.asarray([_ascii(s) for s in last_pool], dtype=object)[last]
    domain_of = np.empty(n, dtype=object)
    domain_of[:] = np.asarray(FREEMAIL, dtype=object)[generator.integers(0, len(FREEMAIL), n)]
    by_company = dict(zip(company_ids.tolist(), domains.tolist(), strict=True))
    works = np.flatnonzero(company_of >= 0)
    domain_of[works] = [by_company[i] for i in company_of[works].tolist()]
    # The running number makes every address unique, as e-mail addresses are.
    emails = _join(ascii_first, ".", ascii_last, ".", sequence, "@", domain_of)
    national = (30_000_000 + generator.integers(0, 9_999_999, n)).astype(str)
    phones = _join("+49", national)
    created_text = timestamps(created)
    contact_columns = {
        "id": ids,
        "first_name": firsts,
        "last_name": lasts,
        "full_name": full,
        "email": emails,
        "phone": phones,
        "job_title": np.asarray(TITLES, dtype=object)[generator.integers(0, len(TITLES), n)],
        "source": np.asarray(SOURCES, dtype=object)[generator.integers(0, len(SOURCES), n)],
        "language": np.asarray(["en", "de", "fr", "es", "it"])[generator.integers(0, 5, n)],
        "lifecycle_stage": np.asarray(STAGES)[stage],
        "owner_id": _nullable(owner),
        "created_at": created_text,
        "updated_at": created_text,
    }
    related = (
        Contact,
        Contact.history.model,
        ContactEmail,
        ContactPhone,
        LifecycleChange,
        Membership,
        Consent,
        Contact.tags.through,
        SearchDocument,
    )
    with writer.indexes_deferred(*related):
        writer.insert(Contact, contact_columns, rows=n)
        _history(writer, Contact, contact_columns, n)
        writer.insert(
            ContactEmail, {"contact_id": ids, "email": emails, "is_primary": True}, rows=n
        )
        writer.insert(
            ContactPhone, {"contact_id": ids, "number": phones, "is_primary": True}, rows=n
        )
        writer.insert(
            LifecycleChange,
            {
                "contact_id": ids,
                "to_stage": contact_columns["lifecycle_stage"],
                "changed_at": created_text,
                "reason": "Demo data",
            },
            rows=n,
        )
        titles = contact_columns["job_title"]
        writer.insert(
            Membership,
            {
                "contact_id": ids[works],
                "company_id": company_of[works],
                "role": titles[works],
                "is_primary": True,
                "created_at": [created_text[i] for i in works.tolist()],
            },
            rows=len(works),
        )
        _consents(writer, generator, ids, created_text)
        _tags(writer, generator, ids, tags)
        _search(
            writer,
            ids,
            full,
            emails,
            national,
            firsts,
            lasts,
            company_ids,
            company_names,
            domains,
            domain_stem,
        )
    writer.reset_sequences(
        Contact, ContactEmail, ContactPhone, LifecycleChange, Membership, Consent, SearchDocument
    )
    search_index.forget_dictionary()
    writer.analyse()
    context.made["scale"] = Made(ids, owner, created, stage, company_of)
    # Steps that come later (tasks, deals...) read companies from here, as after the small demo.
    context.made["companies"] = list(Company.objects.order_by("id")[:5000])
    _say_done(context, f"{c:,} companies, {n:,} contacts", started)


def _join(*parts: Any) -> np.ndarray[Any, Any]:
    """Concatenate string columns (or constants) element-wise."""
    result: Any = None
    for part in parts:
        piece = np.asarray(part, dtype=object)
        result = piece if result is None else result + piece
    return np.asarray(result, dtype=object)


def _nullable(values: np.ndarray[Any, Any]) -> list[int | None]:
    return [None if v < 0 else v for v in values.tolist()]


def _history(writer: BulkWriter, model: Any, columns: dict[str, Any], rows: int) -> None:
    """The "created" audit entry each record would have had from the services."""
    historical = model.history.model
    known = {f.attname for f in historical._meta.concrete_fields}
    copied = {name: values for name, values in columns.items() if name in known}
    writer.insert(
        historical,
        copied
        | {
            "history_date": columns["created_at"],
            "history_type": "+",
            "history_change_reason": "Demo data",
        },
        rows=rows,
        label=f"{model._meta.verbose_name} history",
    )


def _consents(
    writer: BulkWriter, generator: np.random.Generator, ids: Any, created: list[str]
) -> None:
    n = len(ids)
    marketing = np.flatnonzero(generator.random(n) < 0.6)
    service = np.flatnonzero(generator.random(n) < 0.7)
    granted = generator.random(len(marketing)) < 0.85
    who = np.concatenate([marketing, service])
    status = np.concatenate(
        [
            np.where(granted, ConsentStatus.GRANTED, ConsentStatus.WITHDRAWN),
            np.full(len(service), ConsentStatus.GRANTED),
        ]
    )
    writer.insert(
        Consent,
        {
            "contact_id": ids[who],
            "channel": ConsentChannel.EMAIL.value,
            "purpose": [ConsentPurpose.MARKETING.value] * len(marketing)
            + [ConsentPurpose.SERVICE.value] * len(service),
            "status": status.astype(str),
            "changed_at": [created[i] for i in who.tolist()],
            "source": ["web form"] * len(marketing) + ["order"] * len(service),
            "evidence": ["Newsletter sign-up"] * len(marketing)
            + ["Service reminders accepted with the order"] * len(service),
        },
        rows=len(who),
    )


def _tags(writer: BulkWriter, generator: np.random.Generator, ids: Any, tags: list[int]) -> None:
    n = len(ids)
    count = np.asarray([0, 0, 1, 1, 2])[generator.integers(0, 5, n)]
    first = generator.integers(0, len(tags), n)
    second = (first + generator.integers(1, len(tags), n)) % len(tags)
    one, two = np.flatnonzero(count >= 1), np.flatnonzero(count >= 2)
    tag_ids = np.asarray(tags)
    through = Contact.tags.through
    writer.insert(
        through,
        {
            "contact_id": np.concatenate([ids[one], ids[two]]),
            "tag_id": np.concatenate([tag_ids[first[one]], tag_ids[second[two]]]),
        },
        rows=len(one) + len(two),
        label="contact tags",
    )


def _search(
    writer: BulkWriter,
    ids: Any,
    full: Any,
    emails: Any,
    national: Any,
    firsts: Any,
    lasts: Any,
    company_ids: Any,
    company_names: Any,
    domains: Any,
    domain_stem: Any,
) -> None:
    """The documents ``customers.search`` would write, built from the same token rules."""
    name_keys = {name: " ".join(search_index.tokens(name)) for name in set(full.tolist())}
    keys = []
    for name, email, digits in zip(full.tolist(), emails.tolist(), national.tolist(), strict=True):
        parts = [name_keys[name], *search_index.email_keys(email), f"49{digits}", digits]
        parts.append(f"0{digits}")
        keys.append(" ".join(dict.fromkeys(" ".join(parts).split())))
    writer.insert(
        SearchDocument,
        {
            "kind": "contact",
            "object_id": ids,
            "title": full,
            "subtitle": emails,
            "keys": keys,
            "updated_at": timestamps(np.full(1, int(time.time())))[0],
        },
        rows=len(ids),
        label="contact search documents",
    )
    company_keys = [
        " ".join(
            dict.fromkeys([*search_index.tokens(name), *search_index.tokens(domain), stem.lower()])
        )
        for name, domain, stem in zip(
            company_names.tolist(), domains.tolist(), domain_stem.tolist(), strict=True
        )
    ]
    writer.insert(
        SearchDocument,
        {
            "kind": "company",
            "object_id": company_ids,
            "title": company_names,
            "subtitle": domains,
            "keys": company_keys,
            "updated_at": timestamps(np.full(1, int(time.time())))[0],
        },
        rows=len(company_ids),
        label="company search documents",
    )
    words = {
        word
        for raw in [*set(firsts.tolist()), *set(lasts.tolist())]
        for word in search_index.tokens(raw)
        if len(word) >= 3 and word.isalpha()
    }
    words |= {
        word
        for raw in set(company_names.tolist())
        for word in search_index.tokens(raw)
        if len(word) >= 3 and word.isalpha()
    }
    SearchTerm.objects.bulk_create(
        [SearchTerm(term=word[:100]) for word in sorted(words)],
        ignore_conflicts=True,
        batch_size=2000,
    )


# --- orders and the timeline -------------------------------------------------------------


@register_bulk(35, "orders and timeline", replaces=["timeline", "orders and installed base"])
def load_history(context: DemoContext) -> None:
    from rapport.catalog.models import Product

    made: Made | None = context.made.get("scale")
    if made is None:
        context.say("  no bulk-loaded contacts: nothing to do")
        return
    started = time.perf_counter()
    writer = BulkWriter()
    generator = _generator(context)
    now = int(context.now.timestamp())
    products = {
        sku: (pk, round(price * 100), name)
        for pk, sku, price, name in Product.objects.values_list("pk", "sku", "unit_price", "name")
    }
    needed = {sku for sku, _, _ in MAIN_UNITS} | {"SVC-INST", "SVC-MAINT", "SVC-REPAIR"}
    if needed - products.keys():
        orders: dict[str, Any] = _no_orders()
        context.say("  no demo catalog: no orders")
    else:
        orders = _orders(generator, made, products, now)
        _write_orders(writer, orders, products)
    _timeline(context, writer, generator, made, orders, now)
    writer.analyse()
    _say_done(context, f"{len(orders['contact']):,} orders and the timeline", started)


def _no_orders() -> dict[str, Any]:
    empty = np.zeros(0, dtype="int64")
    return {
        "contact": empty,
        "at": empty,
        "ids": empty,
        "number": [],
        "total": empty,
        "quote": empty,
    }


def _orders(
    generator: np.random.Generator, made: Made, products: dict[str, Any], now: int
) -> dict[str, Any]:
    """Purchases as BG/NBD assumes, the lines each kind of order brings, and their totals."""
    buyer_stage = np.isin(np.asarray(STAGES)[made.stage], [str(s) for s in BUYER_STAGES])
    buyers = np.flatnonzero(buyer_stage)
    b = len(buyers)
    rate = generator.gamma(R, 1 / ALPHA, b)  # purchases a year while alive
    dropout = generator.beta(A, B, b)
    churned = np.asarray(STAGES)[made.stage[buyers]] == LifecycleStage.CHURNED
    dropout[churned] = np.maximum(dropout[churned], 0.7)  # churned buyers stopped, mostly early
    at = made.created[buyers] + (generator.random(b) * 60 * DAY).astype("int64")
    alive = at < now - DAY
    who, when, rank = [], [], []
    for index in range(MAX_ORDERS):
        live = np.flatnonzero(alive)
        if not len(live):
            break
        who.append(live)
        when.append(at[live])
        rank.append(np.full(len(live), index))
        wait = (generator.exponential(1.0, b) / rate * YEAR).astype("int64")
        at = at + wait
        alive &= (generator.random(b) >= dropout) & (at < now)
    buyer = np.concatenate(who)
    order_at = np.concatenate(when)
    order_rank = np.concatenate(rank)
    # Prospects: a quarter have an open quote.
    prospects = np.flatnonzero(
        (np.asarray(STAGES)[made.stage] == LifecycleStage.PROSPECT)
        & (generator.random(len(made.stage)) < 0.25)
    )
    contact_index = np.concatenate([buyers[buyer], prospects])
    order_at = np.concatenate(
        [order_at, now - (generator.uniform(1, 120, len(prospects)) * DAY).astype("int64")]
    )
    quote = np.concatenate([np.zeros(len(buyer), bool), np.ones(len(prospects), bool)])
    first = np.concatenate([order_rank == 0, np.zeros(len(prospects), bool)])
    # The main unit of a buyer's first order decides filters, consumables and upgrades.
    main_skus = [sku for sku, _, _ in MAIN_UNITS]
    main_of_contact = _pick(generator, [w for _, w, _ in MAIN_UNITS], len(made.stage))
    main = main_of_contact[contact_index]
    kind = np.full(len(contact_index), "first", dtype=object)
    repeat = ~first & ~quote
    kinds = np.asarray([k for k, _ in REPEAT_KINDS], dtype=object)
    kind[repeat] = kinds[_pick(generator, [w for _, w in REPEAT_KINDS], int(repeat.sum()))]
    from rapport.catalog.models import Product

    upgrade_to = dict(
        Product.objects.filter(upgrade_to__isnull=False).values_list("sku", "upgrade_to__sku")
    )
    upgrades = repeat & (generator.random(len(kind)) < UPGRADE_SHARE)
    upgradable = np.asarray([upgrade_to.get(sku, "") in products for sku in main_skus])
    kind[upgrades & upgradable[main]] = "upgrade"
    kind[quote] = "quote"

    # Up to three lines per order: (product sku or "", quantity, discount %).
    count = len(kind)
    lines: list[tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], Any, Any]] = []
    sku1 = np.asarray(main_skus, dtype=object)[main]
    sku1[kind == "maintenance"] = "SVC-MAINT"
    soft = np.asarray([sku.startswith("SOFT") for sku in main_skus])[main]
    sku1[(kind == "consumables") & soft] = "SALT-25"
    sku1[(kind == "consumables") & ~soft] = "THERM-RAD"
    sku1[kind == "accessory"] = "THERM-SM"
    sku1[kind == "repair"] = "SVC-REPAIR"
    is_upgrade = kind == "upgrade"
    sku1[is_upgrade] = [upgrade_to[s] for s in np.asarray(main_skus)[main[is_upgrade]].tolist()]
    quantity1 = np.ones(count, dtype="int64")
    quantity1[(kind == "first") & (generator.random(count) < 0.05)] = 2
    consumables = kind == "consumables"
    quantity1[consumables] = generator.integers(2, 7, int(consumables.sum()))
    discount1 = np.zeros(count, dtype="int64")
    discounted = (kind == "first") & (generator.random(count) < 0.15)
    discount1[discounted] = np.asarray([5, 10, 15])[generator.integers(0, 3, int(discounted.sum()))]
    discount1[is_upgrade] = 10
    lines.append((np.arange(count), sku1, quantity1, discount1))
    filters = np.asarray([f for _, _, f in MAIN_UNITS], dtype=object)[main]
    with_filter = np.flatnonzero((kind == "first") & (filters != ""))
    lines.append((with_filter, filters[with_filter], 1, 0))
    flush = np.flatnonzero((kind == "maintenance") & (generator.random(count) < 0.1))
    if "SVC-FLUSH" in products:
        lines.append((flush, np.full(len(flush), "SVC-FLUSH", dtype=object), 1, 0))
    install = np.flatnonzero(np.isin(kind, ["first", "upgrade", "quote"]))
    lines.append((install, np.full(len(install), "SVC-INST", dtype=object), 1, 0))

    line_order = np.concatenate([o for o, _, _, _ in lines])
    line_sku = np.concatenate([s for _, s, _, _ in lines])
    line_quantity = np.concatenate([np.broadcast_to(q, len(o)) for o, _, q, _ in lines]).astype(
        "int64"
    )
    line_discount = np.concatenate([np.broadcast_to(d, len(o)) for o, _, _, d in lines]).astype(
        "int64"
    )
    price = {sku: cents for sku, (_, cents, _) in products.items()}
    line_price = np.asarray([price[s] for s in line_sku.tolist()], dtype="int64")
    gross = line_price * line_quantity
    # Rounded half up once from the exact amount, as trading.services.line_amounts does.
    net = (gross * (100 - line_discount) + 50) // 100
    subtotal = np.bincount(line_order, weights=gross, minlength=count).astype("int64")
    total = np.bincount(line_order, weights=net, minlength=count).astype("int64")

    # Numbered per year in the order they were placed, as the services number them.
    order = np.argsort(order_at, kind="stable")
    position = np.empty(count, dtype="int64")
    position[order] = np.arange(count)
    return {
        "contact": contact_index,
        "at": order_at,
        "quote": quote,
        "first": first,
        "subtotal": subtotal,
        "total": total,
        "sort": order,
        "position": position,
        "line_order": line_order,
        "line_sku": line_sku,
        "line_quantity": line_quantity,
        "line_discount": line_discount,
        "line_price": line_price,
        "line_net": net,
        "age": now - order_at,
        "made": made,
    }


def _money(cents: np.ndarray[Any, Any]) -> list[str]:
    whole, part = np.divmod(cents, 100)
    return _join(whole.astype(str), ".", np.char.zfill(part.astype(str), 2)).tolist()


def _write_orders(writer: BulkWriter, orders: dict[str, Any], products: dict[str, Any]) -> None:
    from rapport.trading.choices import OrderStatus
    from rapport.trading.models import Order, OrderLine

    generator = np.random.default_rng(len(orders["at"]))
    made_contact = orders["contact"]
    count = len(made_contact)
    # Rows go in in the order they were placed, so ids grow with time as in real use.
    sort = orders["sort"]
    first_id = writer.next_id(Order)
    ids = np.empty(count, dtype="int64")
    ids[sort] = np.arange(first_id, first_id + count)
    orders["ids"] = ids
    at = orders["at"]
    day_text = dates(at)  # TIME_ZONE is UTC unless set; days are UTC days
    years = np.asarray([d[:4] for d in day_text], dtype=object)
    numbers = np.empty(count, dtype=object)
    sorted_years = years[sort]
    sequence = np.zeros(count, dtype="int64")
    for year in np.unique(sorted_years):
        where = np.flatnonzero(sorted_years == year)
        sequence[where] = np.arange(1, len(where) + 1)
    numbers[sort] = _join(sorted_years, "-", np.char.zfill(sequence.astype(str), 6))
    orders["number"] = numbers
    age = orders["age"]
    roll = generator.random(count)
    status = np.full(count, OrderStatus.DELIVERED.value, dtype=object)
    repeat = ~orders["first"]
    status[(age > 10 * DAY) & repeat & (roll < 0.03)] = OrderStatus.CANCELLED.value
    status[(age > 10 * DAY) & repeat & (roll >= 0.03) & (roll < 0.05)] = OrderStatus.RETURNED.value
    recent = (age <= 10 * DAY) & (age > 3 * DAY)
    status[recent] = np.where(roll[recent] < 0.5, OrderStatus.PAID.value, OrderStatus.PLACED.value)
    status[age <= 3 * DAY] = OrderStatus.PLACED.value
    status[orders["quote"]] = OrderStatus.QUOTE.value
    settled = np.isin(status, [OrderStatus.DELIVERED.value, OrderStatus.RETURNED.value])
    changed = at + np.where(settled, generator.integers(DAY, 6 * DAY, count), 0)
    changed = np.minimum(changed, int(time.time()))
    made: Made = orders["made"]
    contact_ids = made.contact_ids[made_contact]
    owners = made.owner_ids[made_contact]
    company = made.company_ids[made_contact]
    company = np.where(generator.random(count) < 0.5, company, -1)
    owner = _nullable(owners)
    subtotal, total = orders["subtotal"], orders["total"]
    total_text = _money(total)
    orders["total_text"] = total_text
    created_text, changed_text = timestamps(at), timestamps(changed)
    columns = {
        "id": ids,
        "number": numbers,
        "contact_id": contact_ids,
        "company_id": _nullable(company),
        "owner_id": owner,
        "status": status,
        "order_date": day_text,
        "currency": "EUR",
        "subtotal": _money(subtotal),
        "discount": _money(subtotal - total),
        "total": total_text,
        "exchange_rate": "1",
        "total_base": total_text,
        "status_changed_at": changed_text,
        "created_at": created_text,
        "updated_at": changed_text,
        "created_by_id": owner,
        "updated_by_id": owner,
    }
    line_order = orders["line_order"]
    # Positions within each order: lines were stacked slot by slot.
    line_sort = np.lexsort((np.arange(len(line_order)), ids[line_order]))
    line_order_sorted = line_order[line_sort]
    starts = np.r_[0, np.flatnonzero(np.diff(ids[line_order_sorted])) + 1]
    position = np.arange(len(line_sort)) - np.repeat(starts, np.diff(np.r_[starts, len(line_sort)]))
    skus = orders["line_sku"][line_sort].tolist()
    product_id = {sku: pk for sku, (pk, _, _) in products.items()}
    product_name = {sku: name for sku, (_, _, name) in products.items()}
    line_columns = {
        "order_id": ids[line_order_sorted],
        "position": position + 1,
        "product_id": [product_id[s] for s in skus],
        "description": [product_name[s] for s in skus],
        "quantity": orders["line_quantity"][line_sort].astype(str),
        "unit_price": _money(orders["line_price"][line_sort]),
        "discount_percent": orders["line_discount"][line_sort].astype(str),
        "line_total": _money(orders["line_net"][line_sort]),
    }

    def reorder(values: Any) -> np.ndarray[Any, Any]:
        return np.asarray(values, dtype=object)[sort]

    with writer.indexes_deferred(Order, OrderLine):
        writer.insert(
            Order,
            {k: reorder(v) if _is_column(v, count) else v for k, v in columns.items()},
            rows=count,
        )
        writer.insert(OrderLine, line_columns, rows=len(line_sort), label="order lines")
    writer.reset_sequences(Order, OrderLine)


def _is_column(value: Any, count: int) -> bool:
    return not isinstance(value, str) and hasattr(value, "__len__") and len(value) == count


def _timeline(
    context: DemoContext,
    writer: BulkWriter,
    generator: np.random.Generator,
    made: Made,
    orders: dict[str, Any],
    now: int,
) -> None:
    """Conversations (calls, e-mails, meetings...) plus one entry per order; last activity."""
    from rapport.interactions.models import Interaction
    from rapport.trading.models import Order

    n = len(made.contact_ids)
    order_count = len(orders["contact"])
    wanted = max(TOUCHPOINTS_PER_CONTACT * n - order_count, 0)
    keys = min(max(n // CONTACTS_PER_KEY_ACCOUNT, 1 if n >= CONTACTS_PER_KEY_ACCOUNT else 0), n)
    talk = np.asarray([TALK[s] for s in STAGES])[made.stage]
    ordinary = max(wanted - keys * KEY_ACCOUNT_TOUCHPOINTS, 0)
    mean = talk / talk.sum() * ordinary
    shape = 1.2  # negative binomial: most a few, some many
    counts = generator.negative_binomial(shape, shape / (shape + mean))
    customers = np.flatnonzero(np.asarray(STAGES)[made.stage] == LifecycleStage.CUSTOMER)
    counts[customers[:keys]] = KEY_ACCOUNT_TOUCHPOINTS
    who = np.repeat(np.arange(n), counts)
    m = len(who)
    start = np.maximum(made.created[who], now - HISTORY_YEARS * YEAR)
    span = np.maximum(now - start, 60)
    when = now - (span * generator.random(m) ** 1.6).astype("int64")

    kinds = _pick(generator, [share for _, share, _, _, _ in CONVERSATIONS], m)
    kind = np.asarray([k for k, _, _, _, _ in CONVERSATIONS], dtype=object)[kinds]
    channel = np.empty(m, dtype=object)
    direction = np.empty(m, dtype=object)
    subject = np.empty(m, dtype=object)
    outcome = np.full(m, "", dtype=object)
    minutes = np.full(m, -1, dtype="int64")
    for number, (name, _, channels, directions, subjects) in enumerate(CONVERSATIONS):
        rows = np.flatnonzero(kinds == number)
        channel[rows] = np.asarray(channels, dtype=object)[
            generator.integers(0, len(channels), len(rows))
        ]
        direction[rows] = np.asarray(directions, dtype=object)[
            generator.integers(0, len(directions), len(rows))
        ]
        subject[rows] = np.asarray(subjects, dtype=object)[
            generator.integers(0, len(subjects), len(rows))
        ]
        if name == "call":
            outcome[rows] = np.asarray(
                ["connected", "connected", "connected", "left_message", "no_answer", "interested"],
                dtype=object,
            )[generator.integers(0, 6, len(rows))]
            minutes[rows] = np.where(
                outcome[rows] == "connected",
                np.asarray([2, 5, 8, 12, 20, 30])[generator.integers(0, 6, len(rows))],
                1,
            )
        elif name == "meeting":
            outcome[rows] = np.asarray(["interested", "follow_up", "done"], dtype=object)[
                generator.integers(0, 3, len(rows))
            ]
            minutes[rows] = np.asarray([30, 45, 60, 90])[generator.integers(0, 4, len(rows))]
    body = np.asarray(BODIES, dtype=object)[generator.integers(0, len(BODIES), m)]
    owner = made.owner_ids[who]

    # Orders' entries, as trading.services writes them (no owner, the order as source).
    order_type = ContentType.objects.get_for_model(Order).pk
    quote = orders["quote"]
    order_ids = orders["ids"]
    order_subject = (
        _join(
            np.where(quote, "Quote ", "Order "),
            np.asarray(orders["number"], dtype=object),
            np.where(quote, " sent: ", " placed: "),
            np.asarray(orders.get("total_text", []), dtype=object),
            " EUR",
        )
        if order_count
        else np.zeros(0, dtype=object)
    )
    dedupe = (
        _join("order:", order_ids.astype(str), np.where(quote, ":quoted", ":placed"))
        if order_count
        else np.zeros(0, dtype=object)
    )

    all_who = np.concatenate([who, orders["contact"]])
    all_when = np.concatenate([when, orders["at"]])
    sort = np.argsort(all_when, kind="stable")
    total = len(sort)
    is_order = np.concatenate([np.zeros(m, bool), np.ones(order_count, bool)])[sort]

    def stack(conversation: Any, order_value: Any, dtype: Any = object) -> np.ndarray[Any, Any]:
        first = np.asarray(conversation, dtype=dtype)
        second = np.broadcast_to(np.asarray(order_value, dtype=dtype), (order_count,))
        return np.concatenate([first, second])[sort]

    owner_all = stack(owner, -1, "int64")
    owner_column = _nullable(owner_all)
    when_text = timestamps(all_when[sort])
    minutes_all = stack(minutes, -1, "int64")
    first_id = writer.next_id(Interaction)
    columns = {
        "id": np.arange(first_id, first_id + total),
        "kind": stack(kind, "order"),
        "channel": stack(channel, "system"),
        "direction": stack(
            direction, np.where(quote, "outbound", "inbound") if order_count else "inbound"
        ),
        "occurred_at": when_text,
        "contact_id": made.contact_ids[all_who[sort]],
        "subject": stack(subject, order_subject),
        "body": stack(body, ""),
        "outcome": stack(outcome, ""),
        "duration_minutes": _nullable(minutes_all),
        "source_type_id": np.where(is_order, order_type, -1).tolist(),
        "source_id": stack(np.full(m, -1), order_ids, "int64").tolist(),
        "dedupe_key": stack(np.full(m, None, dtype=object), dedupe),
        "owner_id": owner_column,
        "created_by_id": owner_column,
        "updated_by_id": owner_column,
        "created_at": when_text,
        "updated_at": when_text,
    }
    columns["source_type_id"] = [None if v < 0 else v for v in columns["source_type_id"]]
    columns["source_id"] = [None if v < 0 else v for v in columns["source_id"]]
    with writer.indexes_deferred(Interaction):
        writer.insert(Interaction, columns, rows=total, label="timeline entries")
    writer.reset_sequences(Interaction)

    # Last activity: the latest touchpoint of each contact, as the services keep it.
    latest = np.full(n, -1, dtype="int64")
    np.maximum.at(latest, all_who, all_when)
    has = np.flatnonzero(latest >= 0)
    _set_last_activity(made.contact_ids[has], latest[has])
    context.say(
        f"  {total:,} timeline entries ({keys} key accounts with {KEY_ACCOUNT_TOUCHPOINTS:,})"
    )


def _set_last_activity(ids: np.ndarray[Any, Any], seconds: np.ndarray[Any, Any]) -> None:
    from django.db import connection

    rows = list(zip(timestamps(seconds), ids.tolist(), strict=True))
    table = Contact._meta.db_table
    with connection.cursor() as cursor:
        raw = cursor.cursor
        if connection.vendor == "postgresql":
            raw.execute(
                "CREATE TEMPORARY TABLE demo_last (id bigint, at timestamptz) ON COMMIT DROP"
            )
            with raw.copy("COPY demo_last (at, id) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            raw.execute(
                f'UPDATE "{table}" c SET last_activity_at = d.at FROM demo_last d WHERE c.id = d.id'  # noqa: S608 - table name from the model
            )
        else:
            raw.executemany(
                f'UPDATE "{table}" SET last_activity_at = ? WHERE id = ?',  # noqa: S608 - from the model
                rows,
            )
