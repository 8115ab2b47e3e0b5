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

import sys
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from tqdm import tqdm

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
# Rows turned into Python values and written at a time: bounds the memory of large demos.
ROWS_PER_CHUNK = 200_000
CONTACTS_PER_CHUNK = 100_000
# The insert trigger of the search app's SQLite full-text index (table search_fts).
FULL_TEXT_TRIGGER = "search_fts_insert"
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
    """What the first bulk step leaves for the second (kept in ``context.made``).

    The first step also plans every touchpoint (orders and conversations, as
    contact indexes and times), so that each contact is written once with its
    last activity; the second step writes those orders and that timeline.
    """

    contact_ids: np.ndarray[Any, Any]
    owner_ids: np.ndarray[Any, Any]  # -1: no owner
    created: np.ndarray[Any, Any]  # unix seconds
    stage: np.ndarray[Any, Any]  # index into STAGES
    company_ids: np.ndarray[Any, Any]  # -1: no company
    orders: dict[str, Any] = field(default_factory=dict)
    talk_who: np.ndarray[Any, Any] = field(default_factory=lambda: np.zeros(0, dtype="int32"))
    talk_when: np.ndarray[Any, Any] = field(default_factory=lambda: np.zeros(0, dtype="int64"))
    key_accounts: int = 0


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


# After the catalog (25): the orders are planned here, with the products' prices and upgrades.
@register_bulk(26, "companies and contacts", replaces=["companies and contacts"])
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
        "owner_id": _nullable_ids(company_owner),
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
    created = now - HISTORY_YEARS * YEAR + generator.integers(0, HISTORY_YEARS * YEAR, n)
    stage = _pick(generator, [w for _, w in STAGE_WEIGHTS], n)
    owner = owners[generator.integers(0, len(owners), n)]
    # Four in five work at a company; company sizes spread like real ones (log-normal).
    member = generator.random(n) < 0.8
    size = generator.lognormal(0.0, 1.0, c)
    company_of = np.full(n, -1, dtype="int64")
    company_of[member] = company_ids[generator.choice(c, int(member.sum()), p=size / size.sum())]
    domain_pick = generator.integers(0, len(FREEMAIL), n)
    national_numbers = 30_000_000 + generator.integers(0, 9_999_999, n)
    title = generator.integers(0, len(TITLES), n)
    source = generator.integers(0, len(SOURCES), n)
    language = generator.integers(0, 5, n)
    # Every touchpoint is planned before the contacts are written, so that each row goes in
    # with its last activity: updating a million rows afterwards costs more than loading them.
    made = Made(ids, owner, created, stage, company_of)
    _plan_touchpoints(context, generator, made, now)
    last_activity = _last_activity(made)
    pools = {
        "first": np.asarray(first_pool, dtype=object),
        "last": np.asarray(last_pool, dtype=object),
        "ascii_first": np.asarray([_ascii(f) for f in first_pool], dtype=object),
        "ascii_last": np.asarray([_ascii(s) for s in last_pool], dtype=object),
        "freemail": np.asarray(FREEMAIL, dtype=object),
        "title": np.asarray(TITLES, dtype=object),
        "source": np.asarray(SOURCES, dtype=object),
        "language": np.asarray(["en", "de", "fr", "es", "it"], dtype=object),
        "stage": np.asarray(STAGES, dtype=object),
    }
    company_domains = np.asarray(domains, dtype=object)
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
    # A slice of contacts at a time is turned into Python values and written to every
    # table, so memory stays bounded at a million contacts.
    quiet = BulkWriter(progress=False)
    bar = tqdm(
        total=n,
        desc="  contacts (with e-mails, phones, history, companies, consents, tags, search)",
        unit=" contacts",
        unit_scale=True,
        file=sys.stderr,
        disable=None,  # only on a terminal
        mininterval=1.0,
    )
    with writer.indexes_deferred(*related), _full_text_deferred(), bar:
        for begin, end in _slices(n, CONTACTS_PER_CHUNK):
            part = slice(begin, end)
            rows = end - begin
            chunk_ids = ids[part]
            firsts = pools["first"][first[part]]
            lasts = pools["last"][last[part]]
            full = _join(firsts, " ", lasts)
            company_part = company_of[part]
            works = np.flatnonzero(company_part >= 0)
            domain_of = pools["freemail"][domain_pick[part]]
            domain_of[works] = company_domains[company_part[works] - company_ids[0]]
            # The running number makes every address unique, as e-mail addresses are.
            sequence = (chunk_ids - ids[0] + 1).astype(str)
            emails = _join(
                pools["ascii_first"][first[part]],
                ".",
                pools["ascii_last"][last[part]],
                ".",
                sequence,
                "@",
                domain_of,
            )
            national = national_numbers[part].astype(str)
            phones = _join("+49", national)
            created_text = timestamps(created[part])
            last_part = last_activity[part]
            active = np.flatnonzero(last_part >= 0)
            last_text = np.full(rows, None, dtype=object)
            last_text[active] = timestamps(last_part[active])
            titles = pools["title"][title[part]]
            stages = pools["stage"][stage[part]]
            contact_columns = {
                "id": chunk_ids,
                "first_name": firsts,
                "last_name": lasts,
                "full_name": full,
                "email": emails,
                "phone": phones,
                "job_title": titles,
                "source": pools["source"][source[part]],
                "language": pools["language"][language[part]],
                "lifecycle_stage": stages,
                "owner_id": _nullable_ids(owner[part]),
                "created_at": created_text,
                "updated_at": created_text,
            }
            quiet.insert(Contact, contact_columns | {"last_activity_at": last_text}, rows=rows)
            # The "created" entry: the timeline moves last activity later, without history.
            _history(quiet, Contact, contact_columns, rows)
            quiet.insert(
                ContactEmail,
                {"contact_id": chunk_ids, "email": emails, "is_primary": True},
                rows=rows,
            )
            quiet.insert(
                ContactPhone,
                {"contact_id": chunk_ids, "number": phones, "is_primary": True},
                rows=rows,
            )
            quiet.insert(
                LifecycleChange,
                {
                    "contact_id": chunk_ids,
                    "to_stage": stages,
                    "changed_at": created_text,
                    "reason": "Demo data",
                },
                rows=rows,
            )
            quiet.insert(
                Membership,
                {
                    "contact_id": chunk_ids[works],
                    "company_id": company_part[works],
                    "role": titles[works],
                    "is_primary": True,
                    "created_at": np.asarray(created_text, dtype=object)[works],
                },
                rows=len(works),
            )
            _consents(quiet, generator, chunk_ids, created_text)
            _tags(quiet, generator, chunk_ids, tags)
            _contact_search(quiet, chunk_ids, full, emails, national)
            bar.update(rows)
        _company_search(writer, company_ids, company_names, domains, domain_stem)
        _dictionary(
            [first_pool[i] for i in np.unique(first).tolist()]
            + [last_pool[i] for i in np.unique(last).tolist()]
            + company_names.tolist()
        )
    writer.reset_sequences(
        Contact, ContactEmail, ContactPhone, LifecycleChange, Membership, Consent, SearchDocument
    )
    search_index.forget_dictionary()
    writer.analyse(SearchTerm)
    context.made["scale"] = made
    # Steps that come later (tasks, deals...) read companies from here, as after the small demo.
    context.made["companies"] = list(Company.objects.order_by("id")[:5000])
    _say_done(context, f"{c:,} companies, {n:,} contacts", started)


@contextmanager
def _full_text_deferred() -> Iterator[None]:
    """On SQLite, fill the full-text index once after loading instead of row by row.

    The search app's trigger indexes each new document as it is inserted,
    which for a million documents costs a statement journal per row; the
    FTS5 ``rebuild`` reads them all in one pass. The trigger is put back.
    """
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name = %s",
            [FULL_TEXT_TRIGGER],
        )
        found = cursor.fetchone()
        if found:
            cursor.execute(f'DROP TRIGGER "{found[0]}"')
    # No finally: after a failed load the transaction rolls back, trigger included.
    yield
    if found:
        with connection.cursor() as cursor:
            cursor.execute(found[1])
            cursor.execute("INSERT INTO search_fts(search_fts) VALUES ('rebuild')")


def _join(*parts: Any) -> np.ndarray[Any, Any]:
    """Concatenate string columns (or constants) element-wise."""
    result: Any = None
    for part in parts:
        piece = np.asarray(part, dtype=object)
        result = piece if result is None else result + piece
    return np.asarray(result, dtype=object)


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


def _contact_search(writer: BulkWriter, ids: Any, full: Any, emails: Any, national: Any) -> None:
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


def _company_search(
    writer: BulkWriter, company_ids: Any, company_names: Any, domains: Any, domain_stem: Any
) -> None:
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


def _dictionary(names: list[str]) -> None:
    """The typo dictionary's words from the names people and companies were given."""
    words = {
        word
        for raw in set(names)
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
    from rapport.trading.models import TradingSummary
    from rapport.trading.services import refresh_trading_summary

    made: Made | None = context.made.get("scale")
    if made is None:
        context.say("  no bulk-loaded contacts: nothing to do")
        return
    started = time.perf_counter()
    writer = BulkWriter()
    generator = _generator(context)
    orders = made.orders
    if len(orders["contact"]):
        _write_orders(writer, orders, _products())
        # Segment rules read each buyer's orders from the summary the services keep.
        with writer.indexes_deferred(TradingSummary):
            refresh_trading_summary()
    _timeline(context, writer, generator, made, orders)
    _say_done(context, f"{len(orders['contact']):,} orders and the timeline", started)


def _products() -> dict[str, tuple[int, int, str]]:
    """The demo catalog's products by SKU: id, price in cents, name."""
    from rapport.catalog.models import Product

    return {
        sku: (pk, round(price * 100), name)
        for pk, sku, price, name in Product.objects.values_list("pk", "sku", "unit_price", "name")
    }


def _plan_touchpoints(
    context: DemoContext, generator: np.random.Generator, made: Made, now: int
) -> None:
    """Who buys what when, and when we talk to whom: drawn before anything is written."""
    products = _products()
    needed = {sku for sku, _, _ in MAIN_UNITS} | {"SVC-INST", "SVC-MAINT", "SVC-REPAIR"}
    if needed - products.keys():
        made.orders = _no_orders()
        context.say("  no demo catalog: no orders")
    else:
        made.orders = _orders(generator, made, products, now)
    made.talk_who, made.talk_when, made.key_accounts = _conversations(
        generator, made, len(made.orders["contact"]), now
    )


def _last_activity(made: Made) -> np.ndarray[Any, Any]:
    """Each contact's latest touchpoint in unix seconds, -1 for none."""
    latest = np.full(len(made.contact_ids), -1, dtype="int64")
    np.maximum.at(latest, made.talk_who, made.talk_when)
    np.maximum.at(latest, made.orders["contact"], made.orders["at"])
    return latest


def _no_orders() -> dict[str, Any]:
    empty = np.zeros(0, dtype="int64")
    return {
        "contact": empty,
        "at": empty,
        "ids": empty,
        "year": empty,
        "sequence": empty,
        "total": empty,
        "quote": np.zeros(0, dtype=bool),
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
    whole, part = np.divmod(np.asarray(cents, dtype="int64"), 100)
    return [f"{w}.{p:02d}" for w, p in zip(whole.tolist(), part.tolist(), strict=True)]


def _order_numbers(years: np.ndarray[Any, Any], sequence: np.ndarray[Any, Any]) -> list[str]:
    return [f"{y}-{s:06d}" for y, s in zip(years.tolist(), sequence.tolist(), strict=True)]


def _nullable_ids(values: np.ndarray[Any, Any]) -> list[int | None]:
    """Ids with -1 for "none" as Python values, None where -1 (vectorised)."""
    result = np.asarray(values).astype(object)
    result[np.asarray(values) < 0] = None
    return list(result.tolist())


def _slices(total: int, size: int = ROWS_PER_CHUNK) -> list[tuple[int, int]]:
    return [(start, min(start + size, total)) for start in range(0, total, size)]


def _write_orders(writer: BulkWriter, orders: dict[str, Any], products: dict[str, Any]) -> None:
    """Orders and their lines, numbers and amounts as the services keep them, a chunk at a time."""
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
    days = at // DAY  # TIME_ZONE is UTC unless set; days are UTC days
    years = days.astype("datetime64[D]").astype("datetime64[Y]").astype("int64") + 1970
    # Numbered per year in the order they were placed, as the services number them.
    sorted_years = years[sort]
    sequence = np.zeros(count, dtype="int64")
    for year in np.unique(sorted_years):
        where = np.flatnonzero(sorted_years == year)
        sequence[sort[where]] = np.arange(1, len(where) + 1)
    orders["year"], orders["sequence"] = years, sequence
    age = orders["age"]
    roll = generator.random(count)
    statuses = [s.value for s in OrderStatus]
    code = {value: number for number, value in enumerate(statuses)}
    status = np.full(count, code[OrderStatus.DELIVERED.value], dtype="int8")
    repeat = ~orders["first"]
    status[(age > 10 * DAY) & repeat & (roll < 0.03)] = code[OrderStatus.CANCELLED.value]
    status[(age > 10 * DAY) & repeat & (roll >= 0.03) & (roll < 0.05)] = code[
        OrderStatus.RETURNED.value
    ]
    recent = (age <= 10 * DAY) & (age > 3 * DAY)
    status[recent] = np.where(
        roll[recent] < 0.5, code[OrderStatus.PAID.value], code[OrderStatus.PLACED.value]
    )
    status[age <= 3 * DAY] = code[OrderStatus.PLACED.value]
    status[orders["quote"]] = code[OrderStatus.QUOTE.value]
    settled = np.isin(status, [code[OrderStatus.DELIVERED.value], code[OrderStatus.RETURNED.value]])
    changed = at + np.where(settled, generator.integers(DAY, 6 * DAY, count), 0)
    changed = np.minimum(changed, int(time.time()))
    made: Made = orders["made"]
    contact_ids = made.contact_ids[made_contact]
    owners = made.owner_ids[made_contact]
    company = made.company_ids[made_contact]
    company = np.where(generator.random(count) < 0.5, company, -1)
    subtotal, total = orders["subtotal"], orders["total"]
    status_pool = np.asarray(statuses, dtype=object)

    def order_chunks() -> Iterator[tuple[dict[str, Any], int]]:
        for start, end in _slices(count):
            rows = sort[start:end]
            owner = _nullable_ids(owners[rows])
            total_text = _money(total[rows])
            changed_text = timestamps(changed[rows])
            yield (
                {
                    "id": ids[rows],
                    "number": _order_numbers(years[rows], sequence[rows]),
                    "contact_id": contact_ids[rows],
                    "company_id": _nullable_ids(company[rows]),
                    "owner_id": owner,
                    "status": status_pool[status[rows]],
                    "order_date": dates(at[rows]),
                    "currency": "EUR",
                    "subtotal": _money(subtotal[rows]),
                    "discount": _money(subtotal[rows] - total[rows]),
                    "total": total_text,
                    "exchange_rate": "1",
                    "total_base": total_text,
                    "status_changed_at": changed_text,
                    "created_at": timestamps(at[rows]),
                    "updated_at": changed_text,
                    "created_by_id": owner,
                    "updated_by_id": owner,
                },
                end - start,
            )

    line_order = orders["line_order"]
    # Positions within each order: lines were stacked slot by slot.
    line_sort = np.lexsort((np.arange(len(line_order)), ids[line_order]))
    line_order_sorted = line_order[line_sort]
    starts = np.r_[0, np.flatnonzero(np.diff(ids[line_order_sorted])) + 1]
    position = np.arange(len(line_sort)) - np.repeat(starts, np.diff(np.r_[starts, len(line_sort)]))
    skus = sorted(products)
    sku_code = {sku: number for number, sku in enumerate(skus)}
    line_sku = np.asarray([sku_code[s] for s in orders["line_sku"].tolist()], dtype="int16")
    product_id = np.asarray([products[sku][0] for sku in skus], dtype="int64")
    product_name = np.asarray([products[sku][2] for sku in skus], dtype=object)
    lines = len(line_sort)

    def line_chunks() -> Iterator[tuple[dict[str, Any], int]]:
        for start, end in _slices(lines):
            rows = line_sort[start:end]
            sku = line_sku[rows]
            yield (
                {
                    "order_id": ids[line_order[rows]],
                    "position": position[start:end] + 1,
                    "product_id": product_id[sku],
                    "description": product_name[sku],
                    "quantity": orders["line_quantity"][rows].astype(str),
                    "unit_price": _money(orders["line_price"][rows]),
                    "discount_percent": orders["line_discount"][rows].astype(str),
                    "line_total": _money(orders["line_net"][rows]),
                },
                end - start,
            )

    with writer.indexes_deferred(Order, OrderLine):
        writer.insert_chunks(Order, order_chunks(), rows=count)
        writer.insert_chunks(OrderLine, line_chunks(), rows=lines, label="order lines")
    writer.reset_sequences(Order, OrderLine)


def _merge(values: Any, at: Any, others: Any, size: int) -> np.ndarray[Any, Any]:
    """``size`` values: ``values`` at the positions ``at``, ``others`` everywhere else."""
    result = np.empty(size, dtype=object)
    result[:] = others
    result[at] = values
    return result


ORDER_DIRECTIONS = np.asarray(["inbound", "outbound"], dtype=object)  # order, quote


def _conversations(
    generator: np.random.Generator, made: Made, order_count: int, now: int
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], int]:
    """Who we talk to and when (contact indexes, unix seconds), and how many key accounts."""
    n = len(made.contact_ids)
    wanted = max(TOUCHPOINTS_PER_CONTACT * n - order_count, 0)
    keys = min(max(n // CONTACTS_PER_KEY_ACCOUNT, 1 if n >= CONTACTS_PER_KEY_ACCOUNT else 0), n)
    talk = np.asarray([TALK[s] for s in STAGES])[made.stage]
    ordinary = max(wanted - keys * KEY_ACCOUNT_TOUCHPOINTS, 0)
    mean = talk / talk.sum() * ordinary
    shape = 1.2  # negative binomial: most a few, some many
    counts = generator.negative_binomial(shape, shape / (shape + mean))
    customers = np.flatnonzero(np.asarray(STAGES)[made.stage] == LifecycleStage.CUSTOMER)
    counts[customers[:keys]] = KEY_ACCOUNT_TOUCHPOINTS
    who = np.repeat(np.arange(n, dtype="int32"), counts)
    start = np.maximum(made.created[who], now - HISTORY_YEARS * YEAR)
    span = np.maximum(now - start, 60)
    when = now - (span * generator.random(len(who)) ** 1.6).astype("int64")
    return who, when, keys


def _timeline(
    context: DemoContext,
    writer: BulkWriter,
    generator: np.random.Generator,
    made: Made,
    orders: dict[str, Any],
) -> None:
    """The planned conversations (calls, e-mails, meetings...) plus one entry per order.

    Every column is drawn as numbers (indexes into pools of values); the rows
    are sorted by time and only turned into Python values a chunk at a time
    as they are written, so memory stays bounded at ten million entries.
    """
    from rapport.interactions.models import Interaction
    from rapport.trading.models import Order

    who, when, keys = made.talk_who, made.talk_when, made.key_accounts
    m = len(who)

    # Pools of values; the rows hold indexes into them (the last kind is "order").
    kind_pool = [k for k, _, _, _, _ in CONVERSATIONS] + ["order"]
    channel_pool = sorted({c for _, _, channels, _, _ in CONVERSATIONS for c in channels})
    channel_pool.append("system")
    direction_pool = ["outbound", "inbound", "internal"]
    subject_pool = [s for _, _, _, _, subjects in CONVERSATIONS for s in subjects]
    call_outcomes = [
        "connected",
        "connected",
        "connected",
        "left_message",
        "no_answer",
        "interested",
    ]
    meeting_outcomes = ["interested", "follow_up", "done"]
    outcome_pool = ["", *sorted(set(call_outcomes) | set(meeting_outcomes))]

    kinds = _pick(generator, [share for _, share, _, _, _ in CONVERSATIONS], m).astype("int8")
    channel = np.zeros(m, dtype="int8")
    direction = np.zeros(m, dtype="int8")
    subject = np.zeros(m, dtype="int16")
    outcome = np.zeros(m, dtype="int8")
    minutes = np.full(m, -1, dtype="int16")
    first_subject = 0
    for number, (name, _, channels, directions, subjects) in enumerate(CONVERSATIONS):
        rows = np.flatnonzero(kinds == number)
        channel[rows] = np.asarray([channel_pool.index(c) for c in channels])[
            generator.integers(0, len(channels), len(rows))
        ]
        direction[rows] = np.asarray([direction_pool.index(d) for d in directions])[
            generator.integers(0, len(directions), len(rows))
        ]
        subject[rows] = first_subject + generator.integers(0, len(subjects), len(rows))
        first_subject += len(subjects)
        if name == "call":
            said = np.asarray([outcome_pool.index(o) for o in call_outcomes])[
                generator.integers(0, len(call_outcomes), len(rows))
            ]
            outcome[rows] = said
            minutes[rows] = np.where(
                said == outcome_pool.index("connected"),
                np.asarray([2, 5, 8, 12, 20, 30])[generator.integers(0, 6, len(rows))],
                1,
            )
        elif name == "meeting":
            outcome[rows] = np.asarray([outcome_pool.index(o) for o in meeting_outcomes])[
                generator.integers(0, len(meeting_outcomes), len(rows))
            ]
            minutes[rows] = np.asarray([30, 45, 60, 90])[generator.integers(0, 4, len(rows))]
    body = generator.integers(0, len(BODIES), m).astype("int8")

    # Orders' entries, as trading.services writes them (no owner, the order as source).
    order_type = ContentType.objects.get_for_model(Order).pk
    quote = orders["quote"]
    order_ids = orders["ids"]
    all_who = np.concatenate([who, orders["contact"].astype("int32")])
    all_when = np.concatenate([when, orders["at"]])
    # Only the merged copies are needed from here: a million contacts' plan is 120 MB.
    del who, when
    made.talk_who, made.talk_when = all_who[:0], all_when[:0]
    sort = np.argsort(all_when, kind="stable")
    total = len(sort)
    pools = {
        "kind": np.asarray(kind_pool, dtype=object),
        "channel": np.asarray(channel_pool, dtype=object),
        "direction": np.asarray(direction_pool, dtype=object),
        "subject": np.asarray(subject_pool, dtype=object),
        "outcome": np.asarray(outcome_pool, dtype=object),
        "body": np.asarray(BODIES, dtype=object),
    }
    first_id = writer.next_id(Interaction)

    def chunks() -> Iterator[tuple[dict[str, Any], int]]:
        for begin, end in _slices(total):
            rows = sort[begin:end]
            is_order = rows >= m
            talks = np.flatnonzero(~is_order)
            placed = np.flatnonzero(is_order)
            said = rows[talks]
            order = rows[placed] - m
            size = end - begin

            order_quote = quote[order]
            order_id = order_ids[order]
            subjects = _merge(pools["subject"][subject[said]], talks, None, size)
            subjects[placed] = [
                f"{'Quote' if q else 'Order'} {y}-{s:06d} {'sent' if q else 'placed'}: {t} EUR"
                for q, y, s, t in zip(
                    order_quote.tolist(),
                    orders["year"][order].tolist(),
                    orders["sequence"][order].tolist(),
                    _money(orders["total"][order]),
                    strict=True,
                )
            ]
            dedupe = np.full(size, None, dtype=object)
            dedupe[placed] = [
                f"order:{i}:{'quoted' if q else 'placed'}"
                for i, q in zip(order_id.tolist(), order_quote.tolist(), strict=True)
            ]
            owner = np.full(size, -1, dtype="int64")
            owner[talks] = made.owner_ids[all_who[said]]
            owner_column = _nullable_ids(owner)
            duration = np.full(size, -1, dtype="int64")
            duration[talks] = minutes[said]
            source_type = np.full(size, None, dtype=object)
            source_type[placed] = order_type
            source_id = np.full(size, None, dtype=object)
            source_id[placed] = order_id.astype(object)
            direction_column = _merge(pools["direction"][direction[said]], talks, None, size)
            direction_column[placed] = ORDER_DIRECTIONS[order_quote.astype("int8")]
            when_text = timestamps(all_when[rows])
            yield (
                {
                    "id": np.arange(first_id + begin, first_id + end),
                    "kind": _merge(pools["kind"][kinds[said]], talks, "order", size),
                    "channel": _merge(pools["channel"][channel[said]], talks, "system", size),
                    "direction": direction_column,
                    "occurred_at": when_text,
                    "contact_id": made.contact_ids[all_who[rows]],
                    "subject": subjects,
                    "body": _merge(pools["body"][body[said]], talks, "", size),
                    "outcome": _merge(pools["outcome"][outcome[said]], talks, "", size),
                    "duration_minutes": _nullable_ids(duration),
                    "source_type_id": source_type,
                    "source_id": source_id,
                    "dedupe_key": dedupe,
                    "owner_id": owner_column,
                    "created_by_id": owner_column,
                    "updated_by_id": owner_column,
                    "created_at": when_text,
                    "updated_at": when_text,
                },
                size,
            )

    with writer.indexes_deferred(Interaction):
        writer.insert_chunks(Interaction, chunks(), rows=total, label="timeline entries")
    writer.reset_sequences(Interaction)

    context.say(
        f"  {total:,} timeline entries ({keys} key accounts with {KEY_ACCOUNT_TOUCHPOINTS:,})"
    )
