"""Finding contacts and companies that are probably the same, and the review queue's writes.

A scan has two steps:

* *blocking*: every record gets a few cheap keys (normalised e-mail, e-mail
  domain unless it is a free-mail provider, sorted name tokens, phonetic name
  keys, E.164 phone, birthday, postcode with house number); only records that
  share a key are compared, so the work grows with the number of records,
  not its square. A key shared by more than ``DUPLICATE_MAX_BLOCK`` records
  (a big company's domain, "John Smith") is too common to say anything and is
  skipped; the finer keys still pair the real duplicates inside it.
* *scoring*: each candidate pair is scored field by field with rapidfuzz over
  whole columns at once (``process.cpdist``), and the field similarities are
  combined into a weighted mean. Pairs at or above the threshold are kept.

The same ``find_pairs`` scores the FEBRL benchmark (bench/duplicates_quality.py),
so the precision and recall in the docs are those of this code.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import jellyfish
import numpy as np
import numpy.typing as npt
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler
from rapidfuzz.process import cpdist

from rapport.core.permissions import Action, Role, can, restrict, role_of
from rapport.customers.models import (
    Address,
    Company,
    Contact,
    ContactEmail,
    ContactPhone,
    Membership,
)
from rapport.dataio.models import DuplicateKind, DuplicatePair, PairStatus

if TYPE_CHECKING:
    from rapport.users.models import User

Progress = Callable[[str, int, int], None]

# Free-mail providers: sharing one of these domains says nothing about two people.
FREE_MAIL_DOMAINS = frozenset(
    [
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.co.uk",
        "yahoo.de",
        "yahoo.fr",
        "ymail.com",
        "hotmail.com",
        "hotmail.co.uk",
        "hotmail.de",
        "hotmail.fr",
        "outlook.com",
        "outlook.de",
        "live.com",
        "live.de",
        "msn.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "gmx.de",
        "gmx.net",
        "gmx.at",
        "gmx.ch",
        "gmx.com",
        "web.de",
        "t-online.de",
        "freenet.de",
        "mail.com",
        "mail.ru",
        "yandex.ru",
        "yandex.com",
        "protonmail.com",
        "proton.me",
        "pm.me",
        "posteo.de",
        "mailbox.org",
        "orange.fr",
        "wanadoo.fr",
        "free.fr",
        "laposte.net",
        "sfr.fr",
        "libero.it",
        "virgilio.it",
        "tiscali.it",
        "bluewin.ch",
        "qq.com",
        "163.com",
        "126.com",
        "naver.com",
        "seznam.cz",
        "wp.pl",
        "o2.pl",
        "onet.pl",
        "fastmail.com",
        "zoho.com",
        "tutanota.com",
        "hey.com",
    ]
)
# Words that say what kind of company it is, not which one.
LEGAL_FORMS = frozenset(
    [
        "gmbh",
        "ag",
        "kg",
        "ohg",
        "ug",
        "mbh",
        "co",
        "inc",
        "incorporated",
        "ltd",
        "limited",
        "llc",
        "llp",
        "plc",
        "corp",
        "corporation",
        "company",
        "sa",
        "sas",
        "sarl",
        "srl",
        "spa",
        "bv",
        "nv",
        "oy",
        "ab",
        "as",
        "aps",
        "se",
        "eg",
        "ev",
        "the",
        "and",
        "und",
    ]
)
# How much agreement on each field says: an e-mail or phone is nearly personal, a
# company or an address is shared by many. Set with bench/duplicates_quality.py.
WEIGHTS: dict[str, float] = {
    "name": 3.0,
    "email": 2.0,
    "phone": 2.0,
    "birthday": 1.5,
    "address": 1.5,
    "company": 1.0,
    "domain": 2.5,
}
# Below this much compared weight the score is pulled towards 0.5: a name and
# nothing else to compare is a reason to look, not proof.
MIN_EVIDENCE = 4.0


def threshold() -> float:
    return float(getattr(settings, "DUPLICATE_THRESHOLD", 0.70))


def max_block() -> int:
    return int(getattr(settings, "DUPLICATE_MAX_BLOCK", 40))


# --- normalisation --------------------------------------------------------------

_NOT_WORD = re.compile(r"[^a-z0-9]+")


def fold(text: str) -> str:
    """Lower case, accents off, punctuation to single spaces: 'Müller-Lüdenscheidt' → 'muller
    ludenscheidt'."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text.replace("ß", "ss"))
    ascii_text = decomposed.encode("ascii", "ignore").decode()
    return _NOT_WORD.sub(" ", ascii_text.lower()).strip()


def email_key(email: str) -> str:
    """The mailbox an address reaches: '+tags' off, and gmail's dots off."""
    email = email.strip().lower()
    local, _, domain = email.partition("@")
    if not domain:
        return ""
    local = local.split("+", 1)[0]
    if domain in ("gmail.com", "googlemail.com"):
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def company_name_key(name: str) -> str:
    return " ".join(word for word in fold(name).split() if word not in LEGAL_FORMS)


# --- the records a scan compares --------------------------------------------------


@dataclass
class Records:
    """Columns of the records to compare; position i of every list is one record."""

    ids: list[int]
    first_names: list[str]
    last_names: list[str]
    emails: list[list[str]] = field(default_factory=list)  # all, the primary first
    phones: list[list[str]] = field(default_factory=list)  # E.164
    birthdays: list[str] = field(default_factory=list)  # ISO date or ""
    addresses: list[str] = field(default_factory=list)  # "street postcode city"
    postcodes: list[str] = field(default_factory=list)
    companies: list[str] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)  # companies' web domains
    kind: str = DuplicateKind.CONTACT

    def __len__(self) -> int:
        return len(self.ids)

    def column(self, name: str) -> list[Any]:
        values: list[Any] = getattr(self, name)
        return values if values else [""] * len(self.ids)


@dataclass
class FoundPairs:
    """Candidate pairs (positions into Records, left < right) with their scores."""

    left: npt.NDArray[np.int64]
    right: npt.NDArray[np.int64]
    score: npt.NDArray[np.float64]
    fields: dict[str, npt.NDArray[np.float64]]  # NaN where a field was not compared
    keys: npt.NDArray[np.int64]  # bit mask of BLOCK_KEYS that paired them
    candidates: int = 0
    skipped_blocks: int = 0


BLOCK_KEYS = ("email", "email-domain", "name", "phonetic", "phone", "birthday", "address", "domain")


def _blocking_keys(records: Records) -> dict[str, list[list[str]]]:
    """For each kind of key, the keys of every record (a record may have several)."""
    keys: dict[str, list[list[str]]] = {name: [] for name in BLOCK_KEYS}
    emails = records.column("emails")
    phones = records.column("phones")
    birthdays = records.column("birthdays")
    postcodes = records.column("postcodes")
    addresses = records.column("addresses")
    domains = records.column("domains")
    for i in range(len(records)):
        first, last = fold(records.first_names[i]), fold(records.last_names[i])
        if records.kind == DuplicateKind.COMPANY:
            first = company_name_key(records.first_names[i])
        mails = [email_key(address) for address in emails[i] or ()]
        mails = [mail for mail in mails if mail]
        keys["email"].append(mails)
        mail_domains = {mail.rpartition("@")[2] for mail in mails}
        # A company domain alone pairs all its people with each other; with a
        # name code beside it, only those who might be the same person.
        name_codes = {jellyfish.metaphone(part)[:4] for part in (first, last) if part}
        keys["email-domain"].append(
            [
                f"{domain}|{code}"
                for domain in mail_domains - FREE_MAIL_DOMAINS
                for code in name_codes
            ]
        )
        tokens = sorted((first + " " + last).split())
        keys["name"].append([" ".join(tokens)] if tokens else [])
        phonetic: list[str] = []
        if first and last:
            first_sound, last_sound = jellyfish.soundex(first), jellyfish.soundex(last)
            phonetic.append("|".join(sorted((first_sound, last_sound))))
            phonetic.append(f"{jellyfish.nysiis(last)}|{first[0]}")
            phonetic.append(f"{jellyfish.nysiis(first)}|{last[0]}")
        elif tokens:
            phonetic.append(" ".join(jellyfish.metaphone(token) for token in tokens))
        keys["phonetic"].append(phonetic)
        keys["phone"].append([number for number in phones[i] or () if number])
        initial = (last or first)[:1]
        keys["birthday"].append([f"{birthdays[i]}|{initial}"] if birthdays[i] else [])
        address = fold(addresses[i])
        number = next((token for token in address.split() if token.isdigit()), "")
        keys["address"].append([f"{postcodes[i]}|{number}"] if postcodes[i] and number else [])
        keys["domain"].append([domains[i]] if domains[i] else [])
    return keys


def _candidate_pairs(
    records: Records, progress: Progress | None = None
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], int]:
    """Pair codes (left * n + right) of records sharing a key, with the key bits."""
    n = len(records)
    limit = max_block()
    codes: list[npt.NDArray[np.int64]] = []
    bits: list[npt.NDArray[np.int64]] = []
    skipped = 0
    all_keys = _blocking_keys(records)
    for bit, name in enumerate(BLOCK_KEYS):
        blocks: dict[str, list[int]] = defaultdict(list)
        for position, record_keys in enumerate(all_keys[name]):
            for key in record_keys:
                blocks[key].append(position)
        found: list[int] = []
        for members in blocks.values():
            if len(members) < 2:
                continue
            if len(members) > limit:
                skipped += 1
                continue
            unique = sorted(set(members))
            found.extend(left * n + right for left, right in itertools.combinations(unique, 2))
        if found:
            array = np.unique(np.asarray(found, dtype=np.int64))
            codes.append(array)
            bits.append(np.full(array.shape, 1 << bit, dtype=np.int64))
        if progress is not None:
            progress("blocking", bit + 1, len(BLOCK_KEYS))
    if not codes:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, skipped
    all_codes = np.concatenate(codes)
    all_bits = np.concatenate(bits)
    unique_codes, inverse = np.unique(all_codes, return_inverse=True)
    key_bits = np.zeros(unique_codes.shape, dtype=np.int64)
    np.bitwise_or.at(key_bits, inverse, all_bits)
    return unique_codes, key_bits, skipped


def _similarity(
    left: Sequence[str], right: Sequence[str], scorer: Callable[..., float]
) -> npt.NDArray[np.float64]:
    """Similarity 0..1 of left[i] and right[i]; NaN where either side is empty."""
    result = np.asarray(cpdist(left, right, scorer=scorer, workers=1), dtype=np.float64) / 100.0
    present = np.fromiter(
        (bool(a) and bool(b) for a, b in zip(left, right, strict=True)),
        dtype=bool,
        count=len(left),
    )
    result[~present] = np.nan
    return result


VectorScorer = Callable[[list[str], list[str]], npt.NDArray[np.float64]]


def _best_of(
    left: Sequence[Sequence[str]], right: Sequence[Sequence[str]], scorer: VectorScorer
) -> npt.NDArray[np.float64]:
    """For multi-valued fields (e-mails, phones): the best match of any two values."""
    flat_left: list[str] = []
    flat_right: list[str] = []
    owner: list[int] = []
    for index, (values_a, values_b) in enumerate(zip(left, right, strict=True)):
        if values_a and values_b:
            for a, b in itertools.product(values_a, values_b):
                flat_left.append(a)
                flat_right.append(b)
                owner.append(index)
    best = np.full(len(left), np.nan)
    if owner:
        scores = scorer(flat_left, flat_right)
        best_known = np.full(len(left), -1.0)
        np.maximum.at(best_known, np.asarray(owner), scores)
        best = np.where(best_known < 0, np.nan, best_known)
    return best


def _email_similarity(left: list[str], right: list[str]) -> npt.NDArray[np.float64]:
    """Same mailbox → 1; else how alike the parts before the @ are, halved across domains.

    Comparing whole addresses would call p1@firm.example and p2@firm.example alike.
    """
    split_a = [value.rpartition("@") for value in left]
    split_b = [value.rpartition("@") for value in right]
    local = np.asarray(
        cpdist([a[0] for a in split_a], [b[0] for b in split_b], scorer=fuzz.ratio, workers=1),
        dtype=np.float64,
    )
    same_domain = np.asarray([a[2] for a in split_a]) == np.asarray([b[2] for b in split_b])
    same = np.asarray(left) == np.asarray(right)
    return np.where(same, 1.0, local / 100.0 * np.where(same_domain, 0.9, 0.5))


def _phone_similarity(left: list[str], right: list[str]) -> npt.NDArray[np.float64]:
    """Same number → 1; same last 7 digits (another country or area prefix) → 0.8; else 0.

    Phone numbers one digit apart are different lines, not typos worth a match.
    """
    a, b = np.asarray(left), np.asarray(right)
    tail_a = np.asarray([value[-7:] for value in left])
    tail_b = np.asarray([value[-7:] for value in right])
    return np.where(a == b, 1.0, np.where(tail_a == tail_b, 0.8, 0.0))


def _part_similarity(
    records: Records, left: npt.NDArray[np.int64], right: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """First and last names compared one by one (Jaro-Winkler, kind to typos at the end),
    also crosswise for swapped fields; NaN unless both records have both names."""
    firsts = [fold(name) for name in records.first_names]
    lasts = [fold(name) for name in records.last_names]
    first_a, first_b = [firsts[i] for i in left.tolist()], [firsts[i] for i in right.tolist()]
    last_a, last_b = [lasts[i] for i in left.tolist()], [lasts[i] for i in right.tolist()]
    scorer = JaroWinkler.normalized_similarity

    def pairwise(a: list[str], b: list[str]) -> npt.NDArray[np.float64]:
        return np.asarray(cpdist(a, b, scorer=scorer, workers=1), dtype=np.float64)

    straight = (pairwise(first_a, first_b) + pairwise(last_a, last_b)) / 2
    crossed = (pairwise(first_a, last_b) + pairwise(last_a, first_b)) / 2
    complete = np.fromiter(
        (
            bool(fa and fb and la and lb)
            for fa, fb, la, lb in zip(first_a, first_b, last_a, last_b, strict=True)
        ),
        dtype=bool,
        count=len(first_a),
    )
    return np.where(complete, np.maximum(straight, crossed), np.nan)


def _date_similarity(left: Sequence[str], right: Sequence[str]) -> npt.NDArray[np.float64]:
    """Same date → 1; one digit off or day and month swapped (typing slips) → 0.8; else 0.

    A fuzzy ratio would call 1992-11-19 and 1907-12-13 60 % alike, which they are not.
    """
    a = np.asarray([value.ljust(10)[:10] for value in left], dtype="U10")
    b = np.asarray([value.ljust(10)[:10] for value in right], dtype="U10")
    if not len(a):
        return np.empty(0)
    chars_a = a.view(np.uint32).reshape(len(a), 10)
    chars_b = b.view(np.uint32).reshape(len(b), 10)
    differing = (chars_a != chars_b).sum(axis=1)
    month_a, day_a = chars_a[:, 5:7], chars_a[:, 8:10]
    month_b, day_b = chars_b[:, 5:7], chars_b[:, 8:10]
    swapped = (
        (chars_a[:, :4] == chars_b[:, :4]).all(axis=1)
        & (month_a == day_b).all(axis=1)
        & (day_a == month_b).all(axis=1)
    )
    result = np.where(differing == 0, 1.0, np.where((differing == 1) | swapped, 0.8, 0.0))
    present = (chars_a[:, 0] != ord(" ")) & (chars_b[:, 0] != ord(" "))
    return np.where(present, result, np.nan)


def score_pairs(
    records: Records, left: npt.NDArray[np.int64], right: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.float64], dict[str, npt.NDArray[np.float64]]]:
    """The score of each pair and the similarity of each field (NaN: not compared)."""

    def take(column: Sequence[Any], positions: npt.NDArray[np.int64]) -> list[Any]:
        return [column[p] for p in positions.tolist()]

    names = [
        fold(f"{first} {last}")
        if records.kind == DuplicateKind.CONTACT
        else company_name_key(first)
        for first, last in zip(records.first_names, records.last_names, strict=True)
    ]
    fields: dict[str, npt.NDArray[np.float64]] = {}
    fields["name"] = _similarity(take(names, left), take(names, right), fuzz.token_sort_ratio)
    if records.kind == DuplicateKind.CONTACT:
        fields["name"] = np.fmax(fields["name"], _part_similarity(records, left, right))
    emails = [[email_key(e) for e in values or ()] for values in records.column("emails")]
    if any(emails):
        fields["email"] = _best_of(take(emails, left), take(emails, right), _email_similarity)
    phones = records.column("phones")
    if any(phones):
        fields["phone"] = _best_of(take(phones, left), take(phones, right), _phone_similarity)
    birthdays = records.column("birthdays")
    if any(birthdays):
        fields["birthday"] = _date_similarity(take(birthdays, left), take(birthdays, right))
    for name, attribute, scorer in (
        ("address", "addresses", fuzz.token_set_ratio),
        ("company", "companies", fuzz.token_sort_ratio),
        ("domain", "domains", fuzz.ratio),
    ):
        column = records.column(attribute)
        if name == "address":
            column = [fold(value) for value in column]
        elif name == "company":
            column = [company_name_key(value) for value in column]
        if any(column):
            fields[name] = _similarity(take(column, left), take(column, right), scorer)
    weighted = np.zeros(len(left))
    weight = np.zeros(len(left))
    for name, similarity in fields.items():
        present = ~np.isnan(similarity)
        weighted += np.where(present, similarity * WEIGHTS[name], 0.0)
        weight += np.where(present, WEIGHTS[name], 0.0)
    missing = np.clip(MIN_EVIDENCE - weight, 0.0, None)
    score = (weighted + 0.5 * missing) / np.maximum(weight + missing, 1e-9)
    return score, fields


def find_pairs(
    records: Records, *, cutoff: float | None = None, progress: Progress | None = None
) -> FoundPairs:
    """Pairs of records at or above the threshold (``cutoff``, by default the setting)."""
    limit = threshold() if cutoff is None else cutoff
    n = max(len(records), 1)
    codes, key_bits, skipped = _candidate_pairs(records, progress)
    left, right = codes // n, codes % n
    score, fields = score_pairs(records, left, right)
    if progress is not None:
        progress("scoring", 1, 1)
    keep = score >= limit
    return FoundPairs(
        left=left[keep],
        right=right[keep],
        score=score[keep],
        fields={name: values[keep] for name, values in fields.items()},
        keys=key_bits[keep],
        candidates=len(codes),
        skipped_blocks=skipped,
    )


# --- loading records from the database --------------------------------------------


def contact_records() -> Records:
    """Every live contact, in a handful of queries (no per-contact query)."""
    rows = list(
        Contact.objects.filter(deleted_at__isnull=True)
        .order_by("id")
        .values_list("id", "first_name", "last_name", "birthday")
    )
    position = {row[0]: index for index, row in enumerate(rows)}
    size = len(rows)
    emails: list[list[str]] = [[] for _ in range(size)]
    phones: list[list[str]] = [[] for _ in range(size)]
    addresses = [""] * size
    postcodes = [""] * size
    companies = [""] * size
    live = Q(contact__deleted_at__isnull=True)
    for contact_id, email in (
        ContactEmail.objects.filter(live)
        .order_by("-is_primary", "id")
        .values_list("contact_id", "email")
    ):
        emails[position[contact_id]].append(email)
    for contact_id, number in (
        ContactPhone.objects.filter(live)
        .order_by("-is_primary", "id")
        .values_list("contact_id", "number")
    ):
        phones[position[contact_id]].append(number)
    for contact_id, street, postcode, city in (
        Address.objects.filter(live, contact__isnull=False)
        .order_by("-id")
        .values_list("contact_id", "street", "postal_code", "city")
    ):
        # Newest first, so the oldest (usually the main) address is the one left.
        addresses[position[contact_id]] = f"{street} {postcode} {city}".strip()
        postcodes[position[contact_id]] = postcode.strip().lower()
    for contact_id, company_name in (
        Membership.objects.filter(live, company__deleted_at__isnull=True)
        .order_by("is_primary", "-id")
        .values_list("contact_id", "company__name")
    ):
        companies[position[contact_id]] = company_name
    return Records(
        ids=[row[0] for row in rows],
        first_names=[row[1] for row in rows],
        last_names=[row[2] for row in rows],
        emails=emails,
        phones=phones,
        birthdays=[row[3].isoformat() if row[3] else "" for row in rows],
        addresses=addresses,
        postcodes=postcodes,
        companies=companies,
        kind=DuplicateKind.CONTACT,
    )


def company_records() -> Records:
    rows = list(
        Company.objects.filter(deleted_at__isnull=True)
        .order_by("id")
        .values_list("id", "name", "domain")
    )
    position = {row[0]: index for index, row in enumerate(rows)}
    addresses = [""] * len(rows)
    postcodes = [""] * len(rows)
    for company_id, street, postcode, city in (
        Address.objects.filter(company__isnull=False, company__deleted_at__isnull=True)
        .order_by("-id")
        .values_list("company_id", "street", "postal_code", "city")
    ):
        addresses[position[company_id]] = f"{street} {postcode} {city}".strip()
        postcodes[position[company_id]] = postcode.strip().lower()
    return Records(
        ids=[row[0] for row in rows],
        first_names=[row[1] for row in rows],
        last_names=[""] * len(rows),
        addresses=addresses,
        postcodes=postcodes,
        domains=[row[2].lower() for row in rows],
        kind=DuplicateKind.COMPANY,
    )


# --- the scan: storing what was found ----------------------------------------------


@dataclass
class ScanResult:
    kind: str
    records: int
    candidates: int
    found: int
    created: int
    updated: int
    removed: int
    skipped_blocks: int


def scan(kind: str, *, progress: Progress | None = None) -> ScanResult:
    """Find the duplicates of every live contact (or company) and refresh the queue.

    New pairs are added, open ones get their new score, open pairs no longer
    found (a record changed or went to the trash) leave the queue. Dismissed
    and merged pairs keep their status: a dismissed pair never comes back.
    """
    if kind not in DuplicateKind.values:
        raise ValidationError({"kind": [f"Unknown kind {kind!r}: use contact or company."]})
    records = contact_records() if kind == DuplicateKind.CONTACT else company_records()
    found = find_pairs(records, progress=progress)
    a_field, b_field = _pair_fields(kind)
    ids = np.asarray(records.ids, dtype=np.int64)
    first_ids = ids[found.left].tolist() if len(found.left) else []
    second_ids = ids[found.right].tolist() if len(found.right) else []
    wanted: dict[tuple[int, int], tuple[float, dict[str, Any]]] = {}
    field_names = list(found.fields)
    field_values = {name: found.fields[name].tolist() for name in field_names}
    keys = found.keys.tolist()
    scores = found.score.tolist()
    for index, (a, b) in enumerate(zip(first_ids, second_ids, strict=True)):
        reasons = {
            "fields": {
                name: round(field_values[name][index], 3)
                for name in field_names
                if field_values[name][index] == field_values[name][index]  # not NaN
            },
            "keys": [name for bit, name in enumerate(BLOCK_KEYS) if keys[index] >> bit & 1],
        }
        wanted[(a, b)] = (round(scores[index], 4), reasons)
    now = timezone.now()
    created = updated = removed = 0
    with transaction.atomic():
        existing = {
            (a, b): (pk, status)
            for pk, a, b, status in DuplicatePair.objects.filter(kind=kind).values_list(
                "pk", f"{a_field}_id", f"{b_field}_id", "status"
            )
        }
        stale = [
            pk
            for pair, (pk, status) in existing.items()
            if status == PairStatus.OPEN and pair not in wanted
        ]
        for chunk in _chunks(stale, 500):
            # Only still-open ones: a pair merged or dismissed meanwhile keeps its verdict.
            removed += DuplicatePair.objects.filter(pk__in=chunk, status=PairStatus.OPEN).delete()[
                0
            ]
        to_update: list[DuplicatePair] = []
        to_create: list[DuplicatePair] = []
        for (a, b), (score, reasons) in wanted.items():
            known = existing.get((a, b))
            if known is None:
                to_create.append(
                    DuplicatePair(
                        kind=kind,
                        score=score,
                        reasons=reasons,
                        found_at=now,
                        **{f"{a_field}_id": a, f"{b_field}_id": b},
                    )
                )
            elif known[1] == PairStatus.OPEN:
                to_update.append(DuplicatePair(pk=known[0], score=score, reasons=reasons))
        # A scan running at the same time may have stored the same new pair first.
        DuplicatePair.objects.bulk_create(to_create, batch_size=500, ignore_conflicts=True)
        DuplicatePair.objects.bulk_update(to_update, ["score", "reasons"], batch_size=500)
        created, updated = len(to_create), len(to_update)
    if progress is not None:
        progress("saving", 1, 1)
    return ScanResult(
        kind=kind,
        records=len(records),
        candidates=found.candidates,
        found=len(wanted),
        created=created,
        updated=updated,
        removed=removed,
        skipped_blocks=found.skipped_blocks,
    )


def _chunks(items: Sequence[int], size: int) -> Iterable[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _pair_fields(kind: str) -> tuple[str, str]:
    return (
        ("contact_a", "contact_b") if kind == DuplicateKind.CONTACT else ("company_a", "company_b")
    )


# --- the review queue ---------------------------------------------------------------

REVIEWERS = {Role.ADMIN, Role.MANAGER, Role.SALES}


def may_review(user: Any) -> bool:
    """Admins and managers review every pair; sales the pairs of records they may see."""
    return role_of(user) in REVIEWERS


def pairs(viewer: Any, kind: str, status: str | None = PairStatus.OPEN) -> QuerySet[DuplicatePair]:
    """The pairs ``viewer`` may review, both records visible to them.

    Open pairs need both records live; merged ones are listed with the loser in
    the trash (for admins and managers, who may undo).
    """
    if not may_review(viewer):
        return DuplicatePair.objects.none()
    a_field, b_field = _pair_fields(kind)
    model = Contact if kind == DuplicateKind.CONTACT else Company
    rows = DuplicatePair.objects.filter(kind=kind)
    if status is not None:
        rows = rows.filter(status=status)
    if role_of(viewer) == Role.SALES:
        visible = restrict(model.objects.all(), viewer, Action.VIEW).values("pk")
        rows = rows.filter(**{f"{a_field}__in": visible, f"{b_field}__in": visible})
    elif status == PairStatus.OPEN:
        rows = rows.filter(
            **{f"{a_field}__deleted_at__isnull": True, f"{b_field}__deleted_at__isnull": True}
        )
    return rows.select_related(f"{a_field}__owner", f"{b_field}__owner", "decided_by").order_by(
        "-score", "id"
    )


def authorise_pair(actor: User | None, pair: DuplicatePair, action: Action) -> None:
    """Reviewing a pair needs the right to ``action`` both records."""
    if actor is None:
        return
    if not may_review(actor) or not (
        can(actor, action, pair.first) and can(actor, action, pair.second)
    ):
        raise PermissionDenied("You may not review this pair.")


def dismiss(actor: User | None, pair: DuplicatePair) -> DuplicatePair:
    """'Not a duplicate': the pair leaves the queue and later scans leave it out."""
    authorise_pair(actor, pair, Action.CHANGE)
    with transaction.atomic():
        locked = DuplicatePair.objects.select_for_update().get(pk=pair.pk)
        if locked.status != PairStatus.OPEN:
            raise ValidationError(
                {"status": [f"This pair is already {locked.get_status_display().lower()}."]}
            )
        DuplicatePair.objects.filter(pk=pair.pk).update(
            status=PairStatus.DISMISSED, decided_at=timezone.now(), decided_by=actor
        )
    pair.refresh_from_db()
    return pair


def reopen(actor: User | None, pair: DuplicatePair) -> DuplicatePair:
    """Put a dismissed pair back in the queue (a mistaken 'not a duplicate')."""
    authorise_pair(actor, pair, Action.CHANGE)
    if pair.status != PairStatus.DISMISSED:
        raise ValidationError({"status": ["Only a dismissed pair can be reopened."]})
    DuplicatePair.objects.filter(pk=pair.pk).update(
        status=PairStatus.OPEN, decided_at=timezone.now(), decided_by=actor
    )
    pair.refresh_from_db()
    return pair


def queue_scan(kind: str) -> None:
    """Run a scan in the background once the current transaction commits."""
    from rapport.dataio.duplicate_tasks import scan_duplicates

    if kind not in DuplicateKind.values:
        raise ValidationError({"kind": [f"Unknown kind {kind!r}: use contact or company."]})
    transaction.on_commit(lambda: scan_duplicates(kind))
