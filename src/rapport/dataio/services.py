"""The only write path for imports: jobs, mappings, and the batch upsert of rows.

A row is validated with the same normalisers the customers' services use
(``normalise_email``, ``normalise_phone``, ``normalise_domain``, custom
field ``clean_values``); valid rows are written in bulk per batch, with their
audit history (``bulk_create_with_history``), lifecycle entries and search
documents, so a file of 100,000 contacts does not take 100,000 round trips.

Every batch is one transaction and the job's ``committed_rows`` moves in the
same transaction, so a crash loses no committed batch and a resumed job
starts after the last one. Rows are matched to existing records by external
id or e-mail (contacts) / domain (companies), so importing a file again
changes nothing and never makes a second contact for a known e-mail.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
import secrets
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import partial
from itertools import islice
from pathlib import Path
from typing import IO, Any

import phonenumbers
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import File
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Lower
from django.utils import timezone
from phonenumbers.phonemetadata import PhoneMetadata
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from rapport.catalog.models import Product
from rapport.core import custom_fields
from rapport.core.lists import safe_cell
from rapport.core.models import CustomFieldDefinition
from rapport.core.permissions import Action, authorise, can, role_of
from rapport.core.services import attribute_change
from rapport.customers import search as customer_search
from rapport.customers import services as customer_services
from rapport.customers.choices import LifecycleStage
from rapport.customers.models import (
    Company,
    Contact,
    ContactEmail,
    ContactPhone,
    LifecycleChange,
    Membership,
    Tag,
)
from rapport.customers.services import normalise_domain, normalise_email, normalise_phone
from rapport.dataio import bulk, exports, mapping, readers
from rapport.dataio.choices import Entity, JobStatus, MatchOn
from rapport.dataio.models import (
    ExportFormat,
    ExportJob,
    ExportStatus,
    ImportJob,
    ImportRowError,
    SavedMapping,
)
from rapport.interactions.choices import Channel, Direction, InteractionKind
from rapport.interactions.models import Interaction
from rapport.interactions.services import record_interaction
from rapport.search import index
from rapport.search.models import SearchDocument, SearchTerm
from rapport.trading import services as trading_services
from rapport.trading.choices import OrderStatus
from rapport.trading.models import Order
from rapport.users.models import User


def batch_size() -> int:
    # Each batch is one transaction: a few thousand rows make the commits a
    # small part of the time and still leave little to redo after a crash.
    return int(getattr(settings, "DATAIO_BATCH_SIZE", 5000))


FORMULA_STARTS = {"=", "+", "-", "@"}
DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%Y/%m/%d", "%Y%m%d")
TAG_SPLIT = re.compile(r"[;,]")
STAGE_WORDS = {
    **{value: value for value in LifecycleStage.values},
    **{label.lower(): value for value, label in LifecycleStage.choices},
    # HubSpot's internal names for its stages
    "marketingqualifiedlead": LifecycleStage.LEAD,
    "salesqualifiedlead": LifecycleStage.LEAD,
    "opportunity": LifecycleStage.PROSPECT,
}
LIMITS = {
    "first_name": 100, "last_name": 100, "job_title": 150, "language": 10, "source": 100,
    "company": 200, "external_id": 100, "name": 200, "industry": 100,
}  # fmt: skip


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    reason: str


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    invalid: int = 0
    errors: list[tuple[RowError, list[str]]] = field(default_factory=list)

    def add(self, other: Counts) -> None:
        self.created += other.created
        self.updated += other.updated
        self.skipped += other.skipped
        self.invalid += other.invalid
        self.errors += other.errors


@dataclass
class Plan:
    """How a file's columns fill records, and what the import has seen so far."""

    entity: str
    headers: list[str]
    columns: dict[str, str]
    match_on: str = MatchOn.EMAIL
    actor: User | None = None
    reason: str = "Imported"
    definitions: list[CustomFieldDefinition] = field(default_factory=list)
    owners: dict[str, User] = field(default_factory=dict)
    # Keys (e-mails, external ids, domains) of rows before: a file names each record once.
    seen: dict[str, int] = field(default_factory=dict)
    normalisers: Normalisers = field(default_factory=lambda: Normalisers())

    def __post_init__(self) -> None:
        index_of = {header: position for position, header in enumerate(self.headers)}
        self.cells = [(index_of[header], header, target) for header, target in self.columns.items()]
        self.definitions = custom_fields.definitions(mapping.custom_field_target(self.entity))
        if "owner" in self.columns.values():
            self.owners = {user.email.lower(): user for user in User.objects.filter(is_active=True)}

    def header_of(self, target: str) -> str:
        return next((header for header, mapped in self.columns.items() if mapped == target), "")

    def values(self, row: list[str]) -> dict[str, str]:
        return {target: _unguarded(row[position].strip()) for position, _, target in self.cells}


def _unguarded(cell: str) -> str:
    """Undo the apostrophe exports put before formula-like cells ('+4930…, '=x), for round trips."""
    if cell.startswith("'") and cell[1:2] in FORMULA_STARTS:
        return cell[1:]
    return cell


# --- checking e-mails and phones --------------------------------------------------
#
# The customers' normalisers (email_validator, phonenumbers) cost 15-25 µs a
# value, which alone would cap an import below its target rate. ``Normalisers``
# gives exactly their answers, faster: each distinct input is checked once per
# import, and values already in canonical form take a short path that makes the
# same decision with a cheap check (tests/dataio/test_import_normalisers.py
# compares both paths on a corpus of tricky inputs). Anything the short path is
# not sure about goes through the full normaliser, so refusals and their messages
# always come from ``rapport.customers.services``.

PLAIN_LOCAL_PART = re.compile(r"[A-Za-z0-9_+\-]+(?:\.[A-Za-z0-9_+\-]+)*")
CANONICAL_PHONE = re.compile(r"\+([1-9][0-9]{2,17})")
# "+49 30 1234567", "+1-202-555-0100": E.164 digits grouped by single spaces or hyphens.
SPACED_PHONE = re.compile(r"\+[1-9](?:[ -]?[0-9])+")
MEMO_LIMIT = 200_000  # distinct values remembered per import before starting afresh


@dataclass(frozen=True)
class Phone:
    e164: str
    national: str  # what search indexes besides the E.164 digits


class Normalisers:
    def __init__(self) -> None:
        self.emails: dict[str, str | list[str]] = {}
        self.phones: dict[str, Phone | list[str]] = {}
        # Domain as written (ASCII) → its normalised form, for domains that
        # email_validator accepted in a full check of an address.
        self.domains: dict[str, str] = {}

    def email(self, raw: str) -> str:
        known = self.emails.get(raw)
        if known is None:
            known = self._email(raw)
            if len(self.emails) >= MEMO_LIMIT:
                self.emails.clear()
            self.emails[raw] = known
        if isinstance(known, list):
            raise ValidationError(known)
        return known

    def _email(self, raw: str) -> str | list[str]:
        text = raw.strip()
        local, at, domain = text.rpartition("@")
        if at and PLAIN_LOCAL_PART.fullmatch(local) and len(text) <= 254:
            known_domain = self.domains.get(domain)
            if known_domain is not None and len(local) + 1 + len(known_domain) <= 254:
                # A plain dot-atom local part is valid whatever the domain, and this
                # exact domain passed the full check: the full path returns this.
                return f"{local}@{known_domain}".lower()
        try:
            address = normalise_email(raw)
        except ValidationError as error:
            return error.messages
        if at and PLAIN_LOCAL_PART.fullmatch(local) and domain.isascii():
            self.domains[domain] = address.rpartition("@")[2]
        return address

    def phone(self, raw: str) -> Phone:
        known = self.phones.get(raw)
        if known is None:
            known = self._phone(raw)
            if len(self.phones) >= MEMO_LIMIT:
                self.phones.clear()
            self.phones[raw] = known
        if isinstance(known, list):
            raise ValidationError(known)
        return known

    def _phone(self, raw: str) -> Phone | list[str]:
        canonical = canonical_phone(raw)
        if canonical is not None:
            return canonical
        try:
            e164 = normalise_phone(raw)
        except ValidationError as error:
            return error.messages
        again = canonical_phone(e164)
        if again is not None:
            return again
        # The national number search indexes, as the customers' search finds it.
        try:
            national = str(phonenumbers.parse(e164).national_number)
        except phonenumbers.NumberParseException:
            national = ""
        return Phone(e164, national)


_PREFIX_PATTERNS: dict[int, re.Pattern[str] | None] = {}


def canonical_phone(raw: str) -> Phone | None:
    """What ``normalise_phone`` returns for an E.164 number (perhaps grouped), or None.

    Grouping by single spaces or hyphens only separates digits: phonenumbers drops
    them before it reads the number. None means "not sure" (the caller runs the
    full parse), never "invalid". The checks mirror what ``phonenumbers.parse``
    does with a "+digits" string: the country code is the first 1-3 digits naming
    one, a national number starting with the country's national prefix could be
    rewritten (so it is left to the full path, as is a leading zero), and the
    length must be possible for the country (the library's own
    ``is_possible_number``).
    """
    if SPACED_PHONE.fullmatch(raw):
        raw = raw.replace(" ", "").replace("-", "")
    match = CANONICAL_PHONE.fullmatch(raw)
    if match is None:
        return None
    digits = match[1]
    for size in (1, 2, 3):
        code = int(digits[:size])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return None
    national = digits[size:]
    if not 2 <= len(national) <= 17 or national.startswith("0"):
        return None
    if code not in _PREFIX_PATTERNS:
        region = phonenumbers.region_code_for_country_code(code)
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, region)
        prefix = None if metadata is None else metadata.national_prefix_for_parsing
        if metadata is None:
            _PREFIX_PATTERNS[code] = re.compile("")  # matches everything: always the full path
        else:
            _PREFIX_PATTERNS[code] = re.compile(prefix) if prefix else None
    pattern = _PREFIX_PATTERNS[code]
    if pattern is not None and pattern.match(national):
        return None
    number = phonenumbers.PhoneNumber(country_code=code, national_number=int(national))
    if not phonenumbers.is_possible_number(number):
        return None
    return Phone(raw, national)


class RowInvalid(Exception):
    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors


# --- jobs and mappings -------------------------------------------------------------


def start_import(actor: User | None, *, entity: str, upload: IO[bytes], filename: str) -> ImportJob:
    """Keep the uploaded file and read its header; the job then waits for a mapping."""
    authorise(actor, Action.ADD, ImportJob)
    if entity not in {value for value, _ in mapping.IMPORT_ENTITIES}:
        raise ValidationError({"entity": [f"Rapport cannot import {entity!r} (yet)."]})
    job = ImportJob(entity=entity, filename=Path(filename).name[:255], created_by=actor)
    job.file.save(job.filename or "upload", File(upload), save=False)
    try:
        table = readers.open_table(job.file.path, job.filename)
        table.rows.close()
    except readers.FileProblem as problem:
        job.file.delete(save=False)
        raise ValidationError({"file": [str(problem)]}) from None
    job.file_format = table.file_format
    job.encoding = table.encoding
    job.delimiter = table.delimiter
    job.headers = table.headers
    job.columns = mapping.propose(entity, table.headers)
    job.match_on = MatchOn.EXTERNAL_ID if "external_id" in job.columns.values() else MatchOn.EMAIL
    job.save()
    return job


def set_mapping(
    actor: User | None,
    job: ImportJob,
    columns: dict[str, str],
    *,
    match_on: str,
    save_as: str = "",
) -> ImportJob:
    authorise(actor, Action.CHANGE, job)
    if job.status in {JobStatus.QUEUED, JobStatus.RUNNING}:
        raise ValidationError({"columns": ["The import is running; wait until it is done."]})
    if match_on not in MatchOn.values:
        raise ValidationError({"match_on": [f"Unknown choice {match_on!r}."]})
    try:
        cleaned = mapping.check(job.entity, columns, job.headers)
    except ValueError as error:
        raise ValidationError({"columns": [str(error)]}) from None
    with transaction.atomic():
        ImportJob.objects.filter(pk=job.pk).update(columns=cleaned, match_on=match_on)
        job.columns, job.match_on = cleaned, match_on
        if save_as.strip():
            save_mapping(actor, name=save_as, entity=job.entity, columns=cleaned, match_on=match_on)
    return job


def save_mapping(
    actor: User | None, *, name: str, entity: str, columns: dict[str, str], match_on: str
) -> SavedMapping:
    """Keep a mapping under a name for the next file; the same name replaces it."""
    authorise(actor, Action.ADD, SavedMapping)
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationError({"save_as": ["Give the mapping a name of at most 100 characters."]})
    if match_on not in MatchOn.values:
        raise ValidationError({"match_on": [f"Unknown choice {match_on!r}."]})
    with transaction.atomic():
        saved, created = SavedMapping.objects.get_or_create(
            entity=entity,
            name=name,
            defaults={"columns": columns, "match_on": match_on, "created_by": actor},
        )
        if not created:
            saved.columns, saved.match_on, saved.updated_at = columns, match_on, timezone.now()
            saved.save(update_fields=["columns", "match_on", "updated_at"])
    return saved


def apply_saved_mapping(actor: User | None, job: ImportJob, saved: SavedMapping) -> ImportJob:
    """Use a saved mapping for the columns this file has (others stay ignored)."""
    if saved.entity != job.entity:
        raise ValidationError({"mapping": [f"{saved.name} is a mapping for {saved.entity}."]})
    columns = {header: target for header, target in saved.columns.items() if header in job.headers}
    return set_mapping(actor, job, columns, match_on=saved.match_on)


def queue_import(actor: User | None, job: ImportJob, *, dry_run: bool) -> ImportJob:
    """Run the job in the background (dry run: count and check, write nothing)."""
    authorise(actor, Action.CHANGE, job)
    if not job.columns:
        raise ValidationError({"columns": ["Map the file's columns first."]})
    if job.status in {JobStatus.QUEUED, JobStatus.RUNNING}:
        raise ValidationError({"status": ["The import is already running."]})
    if job.status == JobStatus.DONE and not dry_run:
        raise ValidationError({"status": ["This file is imported already."]})
    from rapport.dataio import tasks

    with transaction.atomic():
        resuming = job.status == JobStatus.FAILED and not job.dry_run and not dry_run
        ImportJob.objects.filter(pk=job.pk).update(
            status=JobStatus.QUEUED, dry_run=dry_run, message=""
        )
        job.status, job.dry_run = JobStatus.QUEUED, dry_run
        job_id = job.pk
        transaction.on_commit(lambda: tasks.run_import_job(job_id, resume=resuming))
    return job


def run_import(
    job: ImportJob, *, resume: bool = False, progress: Callable[[ImportJob], None] | None = None
) -> ImportJob:
    """Import (or with ``job.dry_run`` check) the job's file batch by batch.

    With ``resume`` a job that stopped part-way goes on after its last committed
    batch; otherwise it starts from the first row.
    """
    path = job.file.path
    start_after = job.committed_rows if resume and not job.dry_run else 0
    now = timezone.now()
    reset: dict[str, Any] = {"status": JobStatus.RUNNING, "started_at": now, "message": ""}
    if not start_after:
        reset |= {
            "processed_rows": 0,
            "committed_rows": 0,
            "created": 0,
            "updated": 0,
            "skipped": 0,
            "invalid": 0,
            "finished_at": None,
        }
        ImportRowError.objects.filter(job=job).delete()
    ImportJob.objects.filter(pk=job.pk).update(**reset)
    job.refresh_from_db()
    try:
        # A first pass reads the whole file, so a problem on its last line (bad
        # encoding, a row a million columns wide) stops the import before any write.
        total = sum(1 for _ in _table(job, path).rows)
        ImportJob.objects.filter(pk=job.pk).update(total_rows=total)
        job.total_rows = total
        plan = Plan(
            entity=job.entity,
            headers=job.headers,
            columns=job.columns,
            match_on=job.match_on,
            actor=job.created_by,
            reason=f"Imported from {job.filename}",
        )
        rows = _table(job, path).rows
        if start_after:
            # Rows of the committed batches still name their keys: a later row
            # repeating one is refused as in an uninterrupted run.
            for line, cells in islice(rows, start_after):
                _remember_keys(plan, line, plan.values(cells))
        done = start_after
        for batch in _batches(rows, batch_size(), _group_key(plan)):
            done += len(batch)
            with transaction.atomic():
                counts = import_batch(plan, batch)
                if job.dry_run:
                    transaction.set_rollback(True)
                else:
                    _record(job, counts, done, committed=True)
            if job.dry_run:
                _record(job, counts, done, committed=False)
            job.refresh_from_db()
            if progress is not None:
                progress(job)
    except readers.FileProblem as problem:
        return _finish(job, JobStatus.FAILED, str(problem))
    except Exception as error:
        _finish(job, JobStatus.FAILED, f"The import stopped: {error}. Resume it to go on.")
        raise
    if job.dry_run:
        return _finish(job, JobStatus.CHECKED, "Dry run: nothing was written.")
    return _finish(job, JobStatus.DONE, "")


def _table(job: ImportJob, path: str) -> readers.Table:
    table = readers.open_table(path, job.filename)
    if table.headers != job.headers:
        table.rows.close()
        raise readers.FileProblem("The file changed since it was uploaded; upload it again.")
    return table


def _batches(
    rows: Iterator[tuple[int, list[str]]],
    size: int,
    group: Callable[[list[str]], str] | None = None,
) -> Iterator[list[tuple[int, list[str]]]]:
    """Batches of ``size`` rows; with ``group``, rows of one group never straddle two."""
    carry: list[tuple[int, list[str]]] = []
    while batch := carry + list(islice(rows, size - len(carry))):
        carry = []
        if group is not None:
            last = group(batch[-1][1])
            for row in rows:
                if group(row[1]) != last:
                    carry = [row]
                    break
                batch.append(row)
        yield batch


def _group_key(plan: Plan) -> Callable[[list[str]], str] | None:
    """Orders: the lines of one order (same reference) go into the same batch."""
    if plan.entity != mapping.ORDERS or "order_ref" not in plan.columns.values():
        return None
    position = plan.headers.index(plan.header_of("order_ref"))
    return lambda cells: cells[position].strip()


def _record(job: ImportJob, counts: Counts, done: int, *, committed: bool) -> None:
    changes: dict[str, Any] = {
        "processed_rows": done,
        "created": F("created") + counts.created,
        "updated": F("updated") + counts.updated,
        "skipped": F("skipped") + counts.skipped,
        "invalid": F("invalid") + counts.invalid,
    }
    if committed:
        changes["committed_rows"] = done
    ImportJob.objects.filter(pk=job.pk).update(**changes)
    ImportRowError.objects.bulk_create(
        [
            ImportRowError(
                job=job,
                row_number=error.line,
                column=error.column,
                reason=error.reason,
                values=cells,
            )
            for error, cells in counts.errors
        ]
    )


def _finish(job: ImportJob, status: str, message: str) -> ImportJob:
    ImportJob.objects.filter(pk=job.pk).update(
        status=status, message=message, finished_at=timezone.now()
    )
    job.refresh_from_db()
    return job


def error_rows_csv(job: ImportJob) -> Iterator[str]:
    """The invalid rows as they were, with the reason in a last column: fix and re-import."""

    class Echo:
        def write(self, value: str) -> str:
            return value

    writer = csv.writer(Echo())
    yield "\ufeff"
    yield writer.writerow([*job.headers, "Row", "Problem"])
    by_row: dict[int, tuple[list[str], list[str]]] = {}
    for error in ImportRowError.objects.filter(job=job).order_by("row_number", "id").iterator():
        cells, reasons = by_row.setdefault(error.row_number, (list(error.values), []))
        reasons.append(f"{error.column}: {error.reason}" if error.column else error.reason)
    for row_number, (cells, reasons) in by_row.items():
        yield writer.writerow(
            [*(safe_cell(cell) for cell in cells), row_number, "; ".join(reasons)]
        )


# --- one batch ---------------------------------------------------------------------


def import_batch(plan: Plan, batch: list[tuple[int, list[str]]]) -> Counts:
    """Validate and write one batch of rows (call inside a transaction)."""
    if plan.entity == Entity.PRODUCTS:
        authorise(plan.actor, Action.ADD, Product)
        return _products(plan, batch)
    if plan.entity == Entity.INTERACTIONS:
        authorise(plan.actor, Action.ADD, Interaction)
        return _interactions(plan, batch)
    if plan.entity == mapping.ORDERS:
        authorise(plan.actor, Action.ADD, Order)
        return _orders(plan, batch)
    authorise(plan.actor, Action.ADD, Contact if plan.entity == Entity.CONTACTS else Company)
    if plan.entity == Entity.CONTACTS:
        return _contacts(plan, batch)
    return _companies(plan, batch)


@dataclass
class ContactRow:
    line: int
    cells: list[str]
    given: dict[str, str]
    fields: dict[str, Any]
    emails: list[str]
    phones: list[str]
    tags: list[str]
    company: str
    stage: str | None
    custom: dict[str, Any]
    nationals: list[str] = field(default_factory=list)


def _clean_contact(plan: Plan, line: int, cells: list[str]) -> ContactRow:
    given = plan.values(cells)
    errors: list[RowError] = []

    def fail(target: str, reason: str) -> None:
        errors.append(RowError(line, plan.header_of(target), reason))

    for target, limit in LIMITS.items():
        if len(given.get(target, "")) > limit:
            fail(target, f"longer than {limit} characters")
    emails: list[str] = []
    for target in ("email", "email_2"):
        if given.get(target):
            try:
                address = plan.normalisers.email(given[target])
            except ValidationError as error:
                fail(target, _message(error))
            else:
                if address not in emails:
                    emails.append(address)
    phones: list[str] = []
    nationals: list[str] = []
    for target in ("phone", "phone_2"):
        if given.get(target):
            try:
                number = plan.normalisers.phone(given[target])
            except ValidationError as error:
                fail(target, _message(error))
            else:
                if number.e164 not in phones:
                    phones.append(number.e164)
                    nationals.append(number.national)
    first, last = given.get("first_name", ""), given.get("last_name", "")
    if not first and not last and given.get("full_name"):
        first, _, last = given["full_name"].rpartition(" ")
        if not first:
            first, last = last, ""
    if len(first) > 100 or len(last) > 100:
        fail("full_name", "a name longer than 100 characters")
    fields: dict[str, Any] = {}
    if "first_name" in given or "full_name" in given:
        fields["first_name"] = first
    if "last_name" in given or "full_name" in given:
        fields["last_name"] = last
    for target in ("job_title", "language", "source", "notes"):
        if target in given:
            fields[target] = given[target]
    if given.get("external_id"):
        fields["external_id"] = given["external_id"]
    if given.get("birthday"):
        try:
            fields["birthday"] = parse_date(given["birthday"])
        except ValueError as error:
            fail("birthday", str(error))
    if given.get("owner"):
        owner = plan.owners.get(given["owner"].lower())
        if owner is None:
            fail("owner", f"no Rapport user with the e-mail {given['owner']!r} (unknown owner)")
        else:
            fields["owner"] = owner
    stage = None
    if given.get("lifecycle_stage"):
        stage = STAGE_WORDS.get(re.sub(r"[^a-z]", "", given["lifecycle_stage"].lower()))
        if stage is None:
            fail("lifecycle_stage", f"unknown stage {given['lifecycle_stage']!r}")
    custom = _custom(plan, given, fail)
    if not first and not last and not emails and not errors:
        errors.append(RowError(line, "", "a contact needs at least a name or an e-mail address"))
    _check_seen(plan, line, [f"email:{e}" for e in emails], fields.get("external_id"), errors)
    if errors:
        raise RowInvalid(errors)
    tags = _split_tags(given.get("tags", ""), fail)
    if errors:
        raise RowInvalid(errors)
    return ContactRow(
        line, cells, given, fields, emails, phones, tags, given.get("company", ""), stage, custom,
        nationals,
    )  # fmt: skip


def _custom(plan: Plan, given: dict[str, str], fail: Callable[[str, str], None]) -> dict[str, Any]:
    raw = {
        target.removeprefix(mapping.CUSTOM_PREFIX): value
        for target, value in given.items()
        if target.startswith(mapping.CUSTOM_PREFIX) and value
    }
    if not raw:
        return {}
    by_key = {definition.key: definition for definition in plan.definitions}
    cleaned: dict[str, Any] = {}
    for key, value in raw.items():
        definition = by_key.get(key)
        if definition is None:
            fail(f"{mapping.CUSTOM_PREFIX}{key}", f"no custom field {key!r}")
            continue
        try:
            cleaned[key] = custom_fields.convert(definition, value)
        except ValidationError as error:
            fail(f"{mapping.CUSTOM_PREFIX}{key}", _message(error))
    return cleaned


def _split_tags(raw: str, fail: Callable[[str, str], None]) -> list[str]:
    tags = [tag.strip() for tag in TAG_SPLIT.split(raw) if tag.strip()]
    for tag in tags:
        if len(tag) > 60:
            fail("tags", f"tag {tag[:20]}… is longer than 60 characters")
    return tags


def _check_seen(
    plan: Plan, line: int, keys: list[str], external_id: str | None, errors: list[RowError]
) -> None:
    if external_id:
        keys = [*keys, f"external_id:{external_id}"]
    for key in keys:
        earlier = plan.seen.get(key)
        if earlier is not None and earlier != line:
            what, _, value = key.partition(":")
            column = plan.header_of("email" if what == "email" else what)
            errors.append(
                RowError(line, column, f"{value} is already in row {earlier} of this file")
            )
    if not errors:
        for key in keys:
            plan.seen[key] = line


def _remember_keys(plan: Plan, line: int, given: dict[str, str]) -> None:
    for target in ("email", "email_2"):
        if given.get(target):
            with suppress(ValidationError):  # an invalid row was refused, not remembered
                plan.seen[f"email:{plan.normalisers.email(given[target])}"] = line
    if given.get("external_id"):
        plan.seen[f"external_id:{given['external_id']}"] = line
    if given.get("domain"):
        with suppress(ValidationError):
            plan.seen[f"domain:{normalise_domain(given['domain'])}"] = line


def _contacts(plan: Plan, batch: list[tuple[int, list[str]]]) -> Counts:
    counts = Counts()
    valid: list[ContactRow] = []
    for line, cells in batch:
        try:
            valid.append(_clean_contact(plan, line, cells))
        except RowInvalid as invalid:
            counts.invalid += 1
            counts.errors += [(error, cells) for error in invalid.errors]
    owners_of_email = dict(
        ContactEmail.objects.filter(email__in=[e for row in valid for e in row.emails]).values_list(
            "email", "contact_id"
        )
    )
    external_ids = [row.fields["external_id"] for row in valid if "external_id" in row.fields]
    owner_of_external: dict[str, int] = {
        external: pk
        for external, pk in Contact.objects.filter(external_id__in=external_ids).values_list(
            "external_id", "pk"
        )
        if external
    }
    creates: list[ContactRow] = []
    matches: dict[int, ContactRow] = {}
    for row in valid:
        try:
            target = _match_contact(plan, row, owners_of_email, owner_of_external)
        except RowInvalid as invalid:
            counts.invalid += 1
            counts.errors += [(error, row.cells) for error in invalid.errors]
            continue
        if target is None:
            try:
                row.custom = custom_fields.clean_values(
                    mapping.custom_field_target(plan.entity), row.custom, fields=plan.definitions
                )
            except ValidationError as error:
                counts.invalid += 1
                counts.errors.append((RowError(row.line, "", _message(error)), row.cells))
                continue
            creates.append(row)
        else:
            matches[target] = row
    companies = _companies_by_name(plan, [row.company for row in valid if row.company])
    _create_contacts(plan, creates, companies)
    counts.created += len(creates)
    updated, skipped, refused = _update_contacts(plan, matches, companies)
    counts.updated += updated
    counts.skipped += skipped
    for row, problem in refused:
        counts.invalid += 1
        counts.errors.append((problem, row.cells))
    return counts


def _match_contact(
    plan: Plan, row: ContactRow, by_email: dict[str, int], by_external: dict[str, int]
) -> int | None:
    external = row.fields.get("external_id")
    email_owners = {by_email[e] for e in row.emails if e in by_email}
    if len(email_owners) > 1:
        raise RowInvalid(
            [RowError(row.line, plan.header_of("email_2"), "the e-mails belong to two contacts")]
        )
    by_mail = next(iter(email_owners), None)
    by_id = by_external.get(external) if external else None
    if by_id is not None and by_mail is not None and by_id != by_mail:
        raise RowInvalid(
            [
                RowError(
                    row.line,
                    plan.header_of("email"),
                    f"the e-mail belongs to another contact than external id {external}",
                )
            ]
        )
    if plan.match_on == MatchOn.EMAIL and by_id is not None and by_mail is None and row.emails:
        raise RowInvalid(
            [
                RowError(
                    row.line,
                    plan.header_of("external_id"),
                    f"external id {external} is used by another contact",
                )
            ]
        )
    return by_id if by_id is not None else by_mail


def _companies_by_name(plan: Plan, names: list[str]) -> dict[str, Company]:
    """The live companies with these names (any case), creating those that are missing."""
    wanted = {name.strip().lower(): name.strip() for name in names if name.strip()}
    if not wanted:
        return {}
    found: dict[str, Company] = {}
    for company in (
        Company.objects.filter(deleted_at__isnull=True)
        .annotate(key=Lower("name"))
        .filter(key__in=list(wanted))
        .order_by("pk")
    ):
        found.setdefault(company.name.lower(), company)
    for key, name in wanted.items():
        if key not in found:
            found[key] = customer_services.create_company(plan.actor, name=name, reason=plan.reason)
    return found


def _create_contacts(plan: Plan, rows: list[ContactRow], companies: dict[str, Company]) -> None:
    if not rows:
        return
    now = timezone.now()
    actor_id = plan.actor.pk if plan.actor is not None else None
    values = []
    for row in rows:
        first = row.fields.get("first_name", "")
        last = row.fields.get("last_name", "")
        owner = row.fields.get("owner")
        values.append(
            {
                "first_name": first,
                "last_name": last,
                "full_name": " ".join(part for part in (first, last) if part) or row.emails[0],
                "email": row.emails[0] if row.emails else "",
                "phone": row.phones[0] if row.phones else "",
                "job_title": row.fields.get("job_title", ""),
                "birthday": row.fields.get("birthday"),
                "language": row.fields.get("language", ""),
                "source": row.fields.get("source", ""),
                "notes": row.fields.get("notes", ""),
                "owner_id": owner.pk if owner is not None else None,
                "lifecycle_stage": row.stage or LifecycleStage.LEAD,
                "external_id": row.fields.get("external_id"),
                "custom_fields": row.custom,
                "created_at": now,
                "updated_at": now,
                "created_by_id": actor_id,
                "updated_by_id": actor_id,
                "version": 1,
                "deleted_at": None,
                "last_activity_at": None,
                "time_zone": "",
            }
        )
    audit = partial(bulk.insert_with_history, actor_id=actor_id, reason=plan.reason, when=now)
    pks = audit(Contact, values)
    emails: list[dict[str, Any]] = []
    phones: list[dict[str, Any]] = []
    memberships: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    tagged: list[dict[str, Any]] = []
    tags = _tags(plan, [tag for row in rows for tag in row.tags])
    for pk, row, value in zip(pks, rows, values, strict=True):
        emails += [
            {"contact_id": pk, "email": address, "label": "work", "is_primary": position == 0}
            for position, address in enumerate(row.emails)
        ]
        phones += [
            {"contact_id": pk, "number": number, "label": "work", "is_primary": position == 0}
            for position, number in enumerate(row.phones)
        ]
        changes.append(
            {"contact_id": pk, "company_id": None, "from_stage": "",
             "to_stage": value["lifecycle_stage"], "changed_at": now,
             "changed_by_id": actor_id, "reason": plan.reason}
        )  # fmt: skip
        if row.company:
            company = companies[row.company.strip().lower()]
            memberships.append(
                {"contact_id": pk, "company_id": company.pk, "role": "", "is_primary": True,
                 "created_at": now}
            )  # fmt: skip
        tagged += [
            {"contact_id": pk, "tag_id": tags[tag.lower()].pk} for tag in dict.fromkeys(row.tags)
        ]
    audit(ContactEmail, emails)
    audit(ContactPhone, phones)
    audit(Membership, memberships)
    bulk.insert(LifecycleChange, changes, returning=False)
    bulk.insert(Contact.tags.through, tagged, returning=False)
    _index_new(
        [
            index.Document(
                kind=customer_search.CONTACT,
                object_id=pk,
                title=value["full_name"],
                subtitle=value["email"] or value["job_title"],
                # The keys customers.search.contact_document gives, built without
                # a model instance and without parsing each phone number again.
                keys=[
                    *_tokens(value["full_name"]),
                    *(key for address in row.emails for key in _email_keys(address)),
                    *(
                        key
                        for number, national in zip(row.phones, row.nationals, strict=True)
                        for key in index.phone_keys(number, national)
                    ),
                ],
                words=[value["first_name"], value["last_name"]],
            )
            for pk, row, value in zip(pks, rows, values, strict=True)
        ]
    )


def _tokens(text: str) -> list[str]:
    """``search.index.tokens``, without its Unicode decomposition for plain ASCII text."""
    return index.TOKEN.findall(text.lower()) if text.isascii() else index.tokens(text)


def _email_keys(address: str) -> list[str]:
    """``search.index.email_keys``, with the ASCII shortcut of ``_tokens``."""
    if not address.isascii():
        return index.email_keys(address)
    local, _, domain = address.lower().partition("@")
    parts = index.TOKEN.findall(local)
    return [*parts, "".join(parts), *index.TOKEN.findall(domain)]


def _index_new(documents: list[index.Document]) -> None:
    """What ``search.index.bulk_index`` writes for new records, in multi-row statements."""
    now = timezone.now()
    bulk.insert(
        SearchDocument,
        [
            {
                "kind": document.kind,
                "object_id": document.object_id,
                "title": document.title[:300],
                "subtitle": document.subtitle[:300],
                "keys": " ".join(dict.fromkeys(document.keys)),
                "updated_at": now,
            }
            for document in documents
        ],
    )
    names = {raw for document in documents for raw in document.words}
    fresh = {word for raw in names for word in _tokens(raw) if len(word) >= 3 and word.isalpha()}
    bulk.insert_new(SearchTerm, [{"term": word[:100]} for word in sorted(fresh)])


def _update_contacts(
    plan: Plan, matches: dict[int, ContactRow], companies: dict[str, Company]
) -> tuple[int, int, list[tuple[ContactRow, RowError]]]:
    if not matches:
        return 0, 0, []
    actor = plan.actor
    pks = list(matches)
    contacts = {contact.pk: contact for contact in Contact.objects.filter(pk__in=pks)}
    # What each contact has, as plain values in one query per relation: prefetching
    # model instances costs more than the rest of an unchanged row's check.
    emails_of: dict[int, set[str]] = {}
    for pk, address in ContactEmail.objects.filter(contact_id__in=pks).values_list(
        "contact_id", "email"
    ):
        emails_of.setdefault(pk, set()).add(address)
    phones_of: dict[int, set[str]] = {}
    for pk, number in ContactPhone.objects.filter(contact_id__in=pks).values_list(
        "contact_id", "number"
    ):
        phones_of.setdefault(pk, set()).add(number)
    tags_of: dict[int, set[str]] = {}
    for pk, name in Contact.tags.through.objects.filter(contact_id__in=pks).values_list(
        "contact_id", "tag__name"
    ):
        tags_of.setdefault(pk, set()).add(name.lower())
    companies_of: dict[int, set[int]] = {}
    for pk, company_id in Membership.objects.filter(contact_id__in=pks).values_list(
        "contact_id", "company_id"
    ):
        companies_of.setdefault(pk, set()).add(company_id)
    now = timezone.now()
    changed: list[Contact] = []
    changed_fields: set[str] = set()
    refused: list[tuple[ContactRow, RowError]] = []
    skipped = 0
    new_emails: list[ContactEmail] = []
    new_phones: list[ContactPhone] = []
    new_memberships: list[Membership] = []
    tags = _tags(plan, [tag for row in matches.values() for tag in row.tags])
    stage_moves: list[tuple[Contact, ContactRow]] = []
    touched: list[Contact] = []
    for pk, row in matches.items():
        contact = contacts[pk]
        if contact.deleted_at is not None:
            refused.append(
                (
                    row,
                    RowError(
                        row.line,
                        plan.header_of("email"),
                        f"matches {contact} in the trash; restore it first",
                    ),
                )
            )
            continue
        if actor is not None and not can(actor, Action.CHANGE, contact):
            refused.append((row, RowError(row.line, "", f"you may not change {contact}")))
            continue
        values = dict(row.fields)
        if row.custom:
            merged = custom_fields.clean_values(
                mapping.custom_field_target(plan.entity),
                row.custom,
                current=contact.custom_fields,
                fields=plan.definitions,
            )
            values["custom_fields"] = merged
        differing = {
            name: value
            for name, value in values.items()
            if value not in ("", None) and getattr(contact, name) != value
        }
        have_emails = emails_of.get(pk, set())
        have_phones = phones_of.get(pk, set())
        have_tags = tags_of.get(pk, set())
        have_companies = companies_of.get(pk, set())
        extra_emails = [e for e in row.emails if e not in have_emails]
        extra_phones = [p for p in row.phones if p not in have_phones]
        extra_tags = [t for t in dict.fromkeys(row.tags) if t.lower() not in have_tags]
        company = companies.get(row.company.strip().lower()) if row.company else None
        join = company is not None and company.pk not in have_companies
        moves = row.stage is not None and row.stage != contact.lifecycle_stage
        if not (differing or extra_emails or extra_phones or extra_tags or join or moves):
            skipped += 1
            continue
        touched.append(contact)
        if differing:
            if "first_name" in differing or "last_name" in differing:
                first = differing.get("first_name", contact.first_name)
                last = differing.get("last_name", contact.last_name)
                differing["full_name"] = " ".join(p for p in (first, last) if p) or contact.email
            for name, value in differing.items():
                setattr(contact, name, value)
            contact.updated_at, contact.updated_by = now, actor
            contact.version += 1
            changed.append(contact)
            changed_fields.update(differing)
        new_emails += [
            ContactEmail(contact=contact, email=e, is_primary=not have_emails and i == 0)
            for i, e in enumerate(extra_emails)
        ]
        new_phones += [
            ContactPhone(contact=contact, number=p, is_primary=not have_phones and i == 0)
            for i, p in enumerate(extra_phones)
        ]
        if join and company is not None:
            new_memberships.append(
                Membership(contact=contact, company=company, is_primary=not have_companies)
            )
        if extra_tags:
            contact.tags.add(*[tags[t.lower()] for t in extra_tags])
        if moves:
            stage_moves.append((contact, row))
    if changed:
        bulk_update_with_history(
            changed,
            Contact,
            [*sorted(changed_fields), "updated_at", "updated_by", "version"],
            default_user=actor,
            default_change_reason=plan.reason,
            default_date=now,
        )
    for model, objects in (
        (ContactEmail, new_emails),
        (ContactPhone, new_phones),
        (Membership, new_memberships),
    ):
        bulk_create_with_history(
            objects, model, default_user=actor, default_change_reason=plan.reason, default_date=now
        )
    for contact, row in stage_moves:
        # Always with a reason, so the service's rule for customers going back holds.
        customer_services.change_stage(actor, contact, row.stage or "", reason=plan.reason)
    for contact in touched:
        if new_emails or new_phones:
            _sync_primary(contact)
        customer_search.reindex_contact(contact)
    return len(touched), skipped, refused


def _sync_primary(contact: Contact) -> None:
    email = contact.emails.filter(is_primary=True).values_list("email", flat=True).first() or ""
    phone = contact.phones.filter(is_primary=True).values_list("number", flat=True).first() or ""
    if (email, phone) != (contact.email, contact.phone):
        Contact.objects.filter(pk=contact.pk).update(email=email, phone=phone)
        contact.email, contact.phone = email, phone


def _tags(plan: Plan, names: Iterable[str]) -> dict[str, Tag]:
    wanted = list(dict.fromkeys(name for name in names if name))
    if not wanted:
        return {}
    found: dict[str, Tag] = {
        tag.name.lower(): tag
        for tag in Tag.objects.annotate(key=Lower("name")).filter(
            key__in=[name.lower() for name in wanted]
        )
    }
    for name in wanted:
        if name.lower() not in found:
            found[name.lower()] = customer_services.create_tag(plan.actor, name)
    return found


# --- companies -----------------------------------------------------------------------


@dataclass
class CompanyRow:
    line: int
    cells: list[str]
    fields: dict[str, Any]
    tags: list[str]
    stage: str | None
    custom: dict[str, Any]


def _clean_company(plan: Plan, line: int, cells: list[str]) -> CompanyRow:
    given = plan.values(cells)
    errors: list[RowError] = []

    def fail(target: str, reason: str) -> None:
        errors.append(RowError(line, plan.header_of(target), reason))

    for target, limit in LIMITS.items():
        if len(given.get(target, "")) > limit:
            fail(target, f"longer than {limit} characters")
    fields: dict[str, Any] = {}
    if not given.get("name"):
        fail("name", "a company needs a name")
    else:
        fields["name"] = given["name"]
    for target in ("industry", "notes"):
        if target in given:
            fields[target] = given[target]
    if given.get("external_id"):
        fields["external_id"] = given["external_id"]
    if given.get("domain"):
        try:
            fields["domain"] = normalise_domain(given["domain"])
        except ValidationError as error:
            fail("domain", _message(error))
    if given.get("annual_revenue"):
        try:
            fields["annual_revenue"] = parse_amount(given["annual_revenue"])
        except ValueError as error:
            fail("annual_revenue", str(error))
    if given.get("currency"):
        code = given["currency"].strip().upper()
        if len(code) != 3 or not code.isalpha():
            fail("currency", f"{code!r} is not an ISO 4217 currency code like EUR")
        fields["currency"] = code
    elif "annual_revenue" in fields:
        fields["currency"] = settings.BASE_CURRENCY
    if given.get("owner"):
        owner = plan.owners.get(given["owner"].lower())
        if owner is None:
            fail("owner", f"no Rapport user with the e-mail {given['owner']!r} (unknown owner)")
        else:
            fields["owner"] = owner
    stage = None
    if given.get("lifecycle_stage"):
        stage = STAGE_WORDS.get(re.sub(r"[^a-z]", "", given["lifecycle_stage"].lower()))
        if stage is None:
            fail("lifecycle_stage", f"unknown stage {given['lifecycle_stage']!r}")
    custom = _custom(plan, given, fail)
    keys = [f"domain:{fields['domain']}"] if fields.get("domain") else []
    if not keys and not fields.get("external_id") and fields.get("name"):
        keys = [f"name:{fields['name'].lower()}"]
    _check_seen(plan, line, keys, fields.get("external_id"), errors)
    if errors:
        raise RowInvalid(errors)
    tags = _split_tags(given.get("tags", ""), fail)
    if errors:
        raise RowInvalid(errors)
    return CompanyRow(line, cells, fields, tags, stage, custom)


def _companies(plan: Plan, batch: list[tuple[int, list[str]]]) -> Counts:
    counts = Counts()
    valid: list[CompanyRow] = []
    for line, cells in batch:
        try:
            valid.append(_clean_company(plan, line, cells))
        except RowInvalid as invalid:
            counts.invalid += 1
            counts.errors += [(error, cells) for error in invalid.errors]
    live = Company.objects.filter(deleted_at__isnull=True)
    by_domain = dict(
        live.filter(
            domain__in=[r.fields["domain"] for r in valid if r.fields.get("domain")]
        ).values_list("domain", "pk")
    )
    by_external = dict(
        Company.objects.filter(
            external_id__in=[r.fields["external_id"] for r in valid if r.fields.get("external_id")]
        ).values_list("external_id", "pk")
    )
    by_name: dict[str, int] = {}
    for name, pk in (
        live.annotate(key=Lower("name"))
        .filter(key__in=[r.fields["name"].lower() for r in valid], domain="")
        .values_list("key", "pk")
    ):
        by_name.setdefault(name, pk)
    creates: list[CompanyRow] = []
    matches: dict[int, CompanyRow] = {}
    for row in valid:
        external, domain = row.fields.get("external_id"), row.fields.get("domain")
        by_id = by_external.get(external) if external else None
        by_key = by_domain.get(domain) if domain else by_name.get(row.fields["name"].lower())
        if by_id is not None and by_key is not None and by_id != by_key:
            counts.invalid += 1
            counts.errors.append(
                (
                    RowError(
                        row.line,
                        plan.header_of("domain"),
                        f"another company than external id {external} has this domain",
                    ),
                    row.cells,
                )
            )
            continue
        if plan.match_on == MatchOn.EMAIL and by_id is not None and by_key is None and domain:
            counts.invalid += 1
            counts.errors.append(
                (
                    RowError(
                        row.line,
                        plan.header_of("external_id"),
                        f"external id {external} is used by another company",
                    ),
                    row.cells,
                )
            )
            continue
        target = by_id if by_id is not None else by_key
        if target is None:
            try:
                row.custom = custom_fields.clean_values(
                    mapping.custom_field_target(plan.entity), row.custom, fields=plan.definitions
                )
            except ValidationError as error:
                counts.invalid += 1
                counts.errors.append((RowError(row.line, "", _message(error)), row.cells))
                continue
            creates.append(row)
        else:
            matches[target] = row
    _create_companies(plan, creates)
    counts.created += len(creates)
    updated, skipped = _update_companies(plan, matches)
    counts.updated += updated
    counts.skipped += skipped
    return counts


def _create_companies(plan: Plan, rows: list[CompanyRow]) -> None:
    if not rows:
        return
    now, actor = timezone.now(), plan.actor
    companies = [
        Company(
            name=row.fields["name"],
            domain=row.fields.get("domain", ""),
            industry=row.fields.get("industry", ""),
            annual_revenue=row.fields.get("annual_revenue"),
            currency=row.fields.get("currency", ""),
            notes=row.fields.get("notes", ""),
            owner=row.fields.get("owner"),
            lifecycle_stage=row.stage or LifecycleStage.LEAD,
            external_id=row.fields.get("external_id"),
            custom_fields=row.custom,
            created_at=now,
            updated_at=now,
            created_by=actor,
            updated_by=actor,
        )
        for row in rows
    ]
    bulk_create_with_history(
        companies, Company, default_user=actor, default_change_reason=plan.reason, default_date=now
    )
    LifecycleChange.objects.bulk_create(
        [
            LifecycleChange(
                company=company,
                to_stage=company.lifecycle_stage,
                changed_by=actor,
                reason=plan.reason,
                changed_at=now,
            )
            for company in companies
        ]
    )
    tags = _tags(plan, [tag for row in rows for tag in row.tags])
    Company.tags.through.objects.bulk_create(
        [
            Company.tags.through(company_id=company.pk, tag_id=tags[tag.lower()].pk)
            for company, row in zip(companies, rows, strict=True)
            for tag in dict.fromkeys(row.tags)
        ],
        ignore_conflicts=True,
    )
    index.bulk_index([customer_search.company_document(company) for company in companies])


def _update_companies(plan: Plan, matches: dict[int, CompanyRow]) -> tuple[int, int]:
    if not matches:
        return 0, 0
    now, actor = timezone.now(), plan.actor
    changed: list[Company] = []
    changed_fields: set[str] = set()
    skipped = 0
    tags = _tags(plan, [tag for row in matches.values() for tag in row.tags])
    touched = 0
    for company in Company.objects.filter(pk__in=list(matches)).prefetch_related("tags"):
        row = matches[company.pk]
        if company.deleted_at is not None or (
            actor is not None and not can(actor, Action.CHANGE, company)
        ):
            skipped += 1
            continue
        values = dict(row.fields)
        if row.custom:
            values["custom_fields"] = custom_fields.clean_values(
                mapping.custom_field_target(plan.entity),
                row.custom,
                current=company.custom_fields,
                fields=plan.definitions,
            )
        differing = {
            name: value
            for name, value in values.items()
            if value not in ("", None) and getattr(company, name) != value
        }
        have_tags = {t.name.lower() for t in company.tags.all()}
        extra_tags = [t for t in dict.fromkeys(row.tags) if t.lower() not in have_tags]
        moves = row.stage is not None and row.stage != company.lifecycle_stage
        if not (differing or extra_tags or moves):
            skipped += 1
            continue
        touched += 1
        if differing:
            for name, value in differing.items():
                setattr(company, name, value)
            company.updated_at, company.updated_by = now, actor
            company.version += 1
            changed.append(company)
            changed_fields.update(differing)
        if extra_tags:
            company.tags.add(*[tags[t.lower()] for t in extra_tags])
        if moves:
            customer_services.change_stage(actor, company, row.stage or "", reason=plan.reason)
        customer_search.reindex_company(company)
    if changed:
        bulk_update_with_history(
            changed,
            Company,
            [*sorted(changed_fields), "updated_at", "updated_by", "version"],
            default_user=actor,
            default_change_reason=plan.reason,
            default_date=now,
        )
    return touched, skipped


# --- products ------------------------------------------------------------------------
#
# Catalogs are hundreds of rows, not hundreds of thousands: each row goes through
# the catalog's own create/update service, which keeps its rules (e.g. a new
# service interval reschedules every owner's next service).

PRODUCT_NUMBERS = ("service_interval_days", "warranty_months")


def _clean_product_row(plan: Plan, line: int, cells: list[str]) -> dict[str, Any]:
    given = plan.values(cells)
    errors: list[RowError] = []
    values: dict[str, Any] = {}
    for target, raw in given.items():
        if target in PRODUCT_NUMBERS:
            if raw and not raw.isdigit():
                errors.append(
                    RowError(line, plan.header_of(target), f"{raw!r} is not a whole number")
                )
            elif raw:
                values[target] = int(raw)
        elif target == "unit_price":
            try:
                values[target] = parse_amount(raw) if raw else None
            except ValueError as error:
                errors.append(RowError(line, plan.header_of(target), str(error)))
        elif target == "active":
            if raw:
                lowered = raw.lower()
                if lowered not in custom_fields.TRUE_TEXT | custom_fields.FALSE_TEXT:
                    errors.append(
                        RowError(line, plan.header_of(target), f"{raw!r} is not yes or no")
                    )
                values[target] = lowered in custom_fields.TRUE_TEXT
        elif raw or target == "description":
            values[target] = raw
    if not given.get("sku"):
        errors.append(RowError(line, plan.header_of("sku"), "a product needs a SKU"))
    if not errors:
        _check_seen(plan, line, [f"sku:{values['sku'].upper()}"], None, errors)
    if errors:
        raise RowInvalid(errors)
    return values


def _products(plan: Plan, batch: list[tuple[int, list[str]]]) -> Counts:
    from rapport.catalog import services as catalog_services

    counts = Counts()
    for line, cells in batch:
        try:
            values = _clean_product_row(plan, line, cells)
            existing = Product.objects.filter(sku=values["sku"].upper()).first()
            if existing is not None and existing.deleted_at is not None:
                raise ValidationError({"sku": [f"{existing} is in the trash; restore it first"]})
            with transaction.atomic():
                if existing is None:
                    if values.get("unit_price") is None:
                        raise ValidationError({"unit_price": ["a new product needs a price"]})
                    catalog_services.create_product(
                        plan.actor,
                        catalog_services.ProductInput(**values),
                        reason=plan.reason,
                    )
                    counts.created += 1
                    continue
                changes = {
                    name: value
                    for name, value in values.items()
                    if value is not None and name != "sku" and getattr(existing, name) != value
                }
                if not changes:
                    counts.skipped += 1
                    continue
                catalog_services.update_product(plan.actor, existing, changes)
                counts.updated += 1
        except RowInvalid as invalid:
            counts.invalid += 1
            counts.errors += [(error, cells) for error in invalid.errors]
        except ValidationError as error:
            counts.invalid += 1
            for name, messages in _by_field(error).items():
                counts.errors.append(
                    (RowError(line, plan.header_of(name), " ".join(messages)), cells)
                )
    return counts


# --- timeline entries -------------------------------------------------------------------
#
# Each row is one touchpoint written by ``record_interaction`` with a dedupe key
# (the activity id of the source system, else a digest of contact, kind, time and
# subject), so importing the same activities again writes nothing twice.

KIND_WORDS = {
    **{value: value for value in InteractionKind.values},
    **{label.lower(): value for value, label in InteractionKind.choices},
    "e-mail": InteractionKind.EMAIL, "phonecall": InteractionKind.CALL,
    "phone call": InteractionKind.CALL, "lunch": InteractionKind.MEETING,
    "task": InteractionKind.NOTE, "comment": InteractionKind.NOTE,
}  # fmt: skip


def parse_moment(raw: str) -> datetime:
    text = raw.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            moment = datetime.combine(parse_date(text), datetime.min.time())
        except ValueError:
            raise ValueError(
                f"{raw!r} is a time in an unknown format (use YYYY-MM-DD HH:MM or a date)"
            ) from None
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


def _choice(raw: str, choices: Any, words: dict[str, str] | None = None) -> str | None:
    text = raw.strip().lower()
    lookup = words or {
        **{value: value for value in choices.values},
        **{label.lower(): value for value, label in choices.choices},
    }
    return lookup.get(text)


def _interactions(plan: Plan, batch: list[tuple[int, list[str]]]) -> Counts:
    import hashlib

    counts = Counts()
    given_rows = [(line, cells, plan.values(cells)) for line, cells in batch]
    emails: list[str] = []
    for _, _, given in given_rows:
        if given.get("contact_email"):
            with suppress(ValidationError):  # reported per row below
                emails.append(plan.normalisers.email(given["contact_email"]))
    by_email = {
        row.email: row.contact
        for row in ContactEmail.objects.filter(email__in=emails).select_related("contact")
    }
    external_ids = [
        g["contact_external_id"] for _, _, g in given_rows if g.get("contact_external_id")
    ]
    by_external = {c.external_id: c for c in Contact.objects.filter(external_id__in=external_ids)}
    for line, cells, given in given_rows:
        errors: list[RowError] = []

        def fail(
            target: str, reason: str, line: int = line, errors: list[RowError] = errors
        ) -> None:
            errors.append(RowError(line, plan.header_of(target), reason))

        contact = None
        if given.get("contact_external_id"):
            contact = by_external.get(given["contact_external_id"])
            if contact is None:
                fail(
                    "contact_external_id",
                    f"no contact with external id {given['contact_external_id']!r}",
                )
        elif given.get("contact_email"):
            try:
                contact = by_email.get(plan.normalisers.email(given["contact_email"]))
            except ValidationError as error:
                fail("contact_email", _message(error))
            else:
                if contact is None:
                    fail("contact_email", f"no contact with the e-mail {given['contact_email']!r}")
        else:
            fail("contact_email", "the row names no contact")
        if contact is not None and contact.deleted_at is not None:
            fail("contact_email", f"{contact} is in the trash")
        kind = _choice(given.get("kind", ""), InteractionKind, KIND_WORDS)
        if kind is None:
            fail("kind", f"unknown kind {given.get('kind', '')!r}")
        occurred_at = None
        try:
            occurred_at = parse_moment(given.get("occurred_at", ""))
        except ValueError as error:
            fail("occurred_at", str(error))
        channel = direction = ""
        if given.get("channel"):
            channel = _choice(given["channel"], Channel) or ""
            if not channel:
                fail("channel", f"unknown channel {given['channel']!r}")
        if given.get("direction"):
            direction = _choice(given["direction"], Direction) or ""
            if not direction:
                fail("direction", f"unknown direction {given['direction']!r}")
        duration = None
        if given.get("duration_minutes"):
            if not given["duration_minutes"].isdigit():
                fail("duration_minutes", f"{given['duration_minutes']!r} is not a whole number")
            else:
                duration = int(given["duration_minutes"])
        subject = given.get("subject", "")
        if not subject:
            fail("subject", "an entry needs a subject")
        if errors or contact is None or kind is None or occurred_at is None:
            counts.invalid += 1
            counts.errors += [(error, cells) for error in errors]
            continue
        if given.get("external_id"):
            key = f"import:{given['external_id']}"[:120]
        else:
            digest = hashlib.sha256(
                f"{contact.pk}|{kind}|{occurred_at.isoformat()}|{subject}".encode()
            ).hexdigest()
            key = f"import:{digest}"
        if Interaction.objects.filter(dedupe_key=key).exists():
            counts.skipped += 1
            continue
        try:
            with transaction.atomic():
                record_interaction(
                    plan.actor, kind=kind, subject=subject, contact=contact,
                    occurred_at=occurred_at, body=given.get("body", ""), channel=channel,
                    direction=direction, duration_minutes=duration, dedupe_key=key,
                )  # fmt: skip
        except ValidationError as error:
            counts.invalid += 1
            for name, messages in _by_field(error).items():
                counts.errors.append(
                    (RowError(line, plan.header_of(name), " ".join(messages)), cells)
                )
            continue
        counts.created += 1
    return counts


# --- orders with lines ------------------------------------------------------------------
#
# One row per order line; the rows sharing an order number make one order,
# created by the trading service (``create_order``: its checks of customer,
# products, prices and its timeline entry all hold). The order number of the
# file is kept as the dedupe key of an "imported" timeline entry pointing at
# the order, so importing the file again skips the orders it brought before.

ORDER_STATUS_WORDS = {
    "quote": OrderStatus.QUOTE, "quoted": OrderStatus.QUOTE, "draft": OrderStatus.QUOTE,
    "placed": OrderStatus.PLACED, "open": OrderStatus.PLACED, "confirmed": OrderStatus.PLACED,
    "order": OrderStatus.PLACED, "": OrderStatus.PLACED,
}  # fmt: skip
ORDER_FIELDS = ("contact_email", "contact_external_id", "company", "order_date", "status",
                "currency", "notes", "owner")  # fmt: skip


def order_key(reference: str) -> str:
    return f"import:order:{reference}"


@dataclass
class OrderGroup:
    reference: str
    rows: list[tuple[int, list[str], dict[str, str]]] = field(default_factory=list)


def parse_quantity(raw: str) -> Decimal:
    text = raw.strip().replace(",", ".")
    try:
        quantity = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{raw!r} is not a number (quantity)") from None
    if not quantity.is_finite() or quantity <= 0 or quantity >= 10**9:
        raise ValueError(f"{raw!r} is not a quantity more than 0")
    if quantity != quantity.quantize(Decimal("0.001")):
        raise ValueError(f"{raw!r} has more than 3 decimals")
    return quantity


def _orders(plan: Plan, batch: list[tuple[int, list[str]]]) -> Counts:
    counts = Counts()
    groups: dict[str, OrderGroup] = {}
    for line, cells in batch:
        given = plan.values(cells)
        reference = given.get("order_ref", "")
        if not reference or len(reference) > 100:
            counts.invalid += 1
            reason = "the row names no order number" if not reference else "longer than 100"
            counts.errors.append((RowError(line, plan.header_of("order_ref"), reason), cells))
            continue
        groups.setdefault(reference, OrderGroup(reference)).rows.append((line, cells, given))
    emails: list[str] = []
    for group in groups.values():
        for _, _, given in group.rows:
            if given.get("contact_email"):
                with suppress(ValidationError):  # reported per row below
                    emails.append(plan.normalisers.email(given["contact_email"]))
    by_email = {
        row.email: row.contact
        for row in ContactEmail.objects.filter(email__in=emails).select_related("contact")
    }
    wanted = [g["contact_external_id"] for gr in groups.values() for _, _, g in gr.rows
              if g.get("contact_external_id")]  # fmt: skip
    by_external = {
        c.external_id: c for c in Contact.objects.filter(external_id__in=wanted) if c.external_id
    }
    names = {g["company"].lower() for gr in groups.values() for _, _, g in gr.rows
             if g.get("company")}  # fmt: skip
    by_company: dict[str, Company] = {}
    for company in (
        Company.objects.filter(deleted_at__isnull=True)
        .annotate(key=Lower("name"))
        .filter(key__in=names)
        .order_by("pk")
    ):
        by_company.setdefault(company.name.lower(), company)
    skus = {g["sku"].upper() for gr in groups.values() for _, _, g in gr.rows if g.get("sku")}
    products = {product.sku.upper(): product for product in Product.objects.filter(sku__in=skus)}
    imported = {
        key
        for key in Interaction.objects.filter(
            dedupe_key__in=[order_key(reference) for reference in groups]
        ).values_list("dedupe_key", flat=True)
        if key
    }
    for group in groups.values():
        _import_order(plan, group, counts, by_email, by_external, by_company, products, imported)
    return counts


def _import_order(
    plan: Plan,
    group: OrderGroup,
    counts: Counts,
    by_email: dict[str, Contact],
    by_external: dict[str, Contact],
    by_company: dict[str, Company],
    products: dict[str, Product],
    imported: set[str],
) -> None:
    errors: list[RowError] = []
    first_line = group.rows[0][0]

    def fail(line: int, target: str, reason: str) -> None:
        errors.append(RowError(line, plan.header_of(target), reason))

    earlier = plan.seen.get(f"order:{group.reference}")
    if earlier is not None and earlier != first_line:
        for line, _, _ in group.rows:
            fail(line, "order_ref", f"order {group.reference} is already in row {earlier}; "
                 "keep the lines of an order together")  # fmt: skip
    else:
        plan.seen[f"order:{group.reference}"] = first_line
    header: dict[str, str] = {}
    for line, _, given in group.rows:
        for name in ORDER_FIELDS:
            value = given.get(name, "")
            if value and header.setdefault(name, value).casefold() != value.casefold():
                fail(line, name, f"the order's other rows say {header[name]!r}")
    contact: Contact | None = None
    company: Company | None = None
    if header.get("contact_external_id"):
        contact = by_external.get(header["contact_external_id"])
        if contact is None:
            fail(first_line, "contact_external_id",
                 f"no contact with external id {header['contact_external_id']!r}")  # fmt: skip
    elif header.get("contact_email"):
        try:
            contact = by_email.get(plan.normalisers.email(header["contact_email"]))
        except ValidationError as error:
            fail(first_line, "contact_email", _message(error))
        else:
            if contact is None:
                fail(first_line, "contact_email",
                     f"no contact with the e-mail {header['contact_email']!r}")  # fmt: skip
    if header.get("company"):
        company = by_company.get(header["company"].lower())
        if company is None:
            fail(first_line, "company", f"no company named {header['company']!r}")
    if contact is None and company is None and not errors:
        fail(first_line, "contact_email", "the order names no customer")
    order_date = None
    if header.get("order_date"):
        try:
            order_date = parse_date(header["order_date"])
        except ValueError as error:
            fail(first_line, "order_date", str(error))
    status = ORDER_STATUS_WORDS.get(header.get("status", "").strip().lower())
    if status is None:
        fail(first_line, "status", f"unknown status {header['status']!r} (use quote or placed)")
    owner = None
    if header.get("owner"):
        owner = plan.owners.get(header["owner"].lower())
        if owner is None:
            unknown = f"no Rapport user with the e-mail {header['owner']!r} (unknown owner)"
            fail(first_line, "owner", unknown)
    lines: list[trading_services.LineInput] = []
    for line, _, given in group.rows:
        product = products.get(given.get("sku", "").upper())
        if not given.get("sku"):
            fail(line, "sku", "the line names no product")
        elif product is None:
            fail(line, "sku", f"no product with SKU {given['sku']!r}")
        quantity = price = None
        discount = Decimal(0)
        try:
            quantity = parse_quantity(given.get("quantity", ""))
        except ValueError as error:
            fail(line, "quantity", str(error))
        if given.get("unit_price"):
            try:
                price = parse_amount(given["unit_price"])
            except ValueError as error:
                fail(line, "unit_price", str(error))
        if given.get("discount_percent"):
            try:
                discount = parse_amount(given["discount_percent"].rstrip("% "))
            except ValueError as error:
                fail(line, "discount_percent", str(error))
        if product is not None and quantity is not None:
            lines.append(
                trading_services.LineInput(
                    product=product, quantity=quantity, unit_price=price,
                    discount_percent=discount, description=given.get("description", ""),
                )
            )  # fmt: skip
    rows = len(group.rows)
    if not errors and order_key(group.reference) in imported:
        counts.skipped += rows
        return
    if not errors:
        try:
            with transaction.atomic():
                order = trading_services.create_order(
                    plan.actor,
                    trading_services.OrderInput(
                        contact=contact, company=company, lines=lines, order_date=order_date,
                        currency=header.get("currency", "") or settings.BASE_CURRENCY,
                        status=status or OrderStatus.PLACED, owner=owner,
                        notes=header.get("notes", ""),
                    ),
                    reason=plan.reason,
                )  # fmt: skip
                record_interaction(
                    plan.actor,
                    kind=InteractionKind.NOTE,
                    subject=f"Order {order.number} imported (number {group.reference} "
                    "in the file)",
                    contact=contact, company=company, channel=Channel.SYSTEM, source=order,
                    dedupe_key=order_key(group.reference),
                )  # fmt: skip
        except (ValidationError, PermissionDenied) as error:
            reasons = (
                {"": [str(error)]} if isinstance(error, PermissionDenied) else _by_field(error)
            )
            for name, messages in reasons.items():
                target = {"lines": "sku", "contact": "contact_email"}.get(name, name)
                fail(first_line, target, " ".join(messages))
        else:
            counts.created += rows
            return
    by_line: dict[int, list[RowError]] = {}
    for problem in errors:
        by_line.setdefault(problem.line, []).append(problem)
    for line, cells, _ in group.rows:
        # Every row of a refused order is listed, so the downloaded error file
        # holds the whole order to fix and import again.
        mine = by_line.get(line) or [
            RowError(line, plan.header_of("order_ref"), f"order {group.reference} is refused")
        ]
        counts.invalid += 1
        counts.errors += [(problem, cells) for problem in mine]


# --- values --------------------------------------------------------------------------


def parse_date(raw: str) -> date:
    text = raw.strip()
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()  # noqa: DTZ007 - a date, no time
        except ValueError:
            continue
    raise ValueError(f"{raw!r} is a date in an unknown format (use YYYY-MM-DD or DD.MM.YYYY)")


def parse_amount(raw: str) -> Decimal:
    """1234.5, 1,234.50, 1.234,50 and 1 234,50 are all 1234.50."""
    text = re.sub(r"[\s\u00a0'$€£¥]", "", raw.strip())
    if "," in text and "." in text:
        decimal_mark = "," if text.rindex(",") > text.rindex(".") else "."
        text = text.replace("." if decimal_mark == "," else ",", "").replace(",", ".")
    elif text.count(",") == 1 and len(text.split(",")[1]) != 3:
        text = text.replace(",", ".")
    else:
        text = text.replace(",", "")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{raw!r} is not a number (amount)") from None
    if not amount.is_finite() or abs(amount) >= Decimal(10) ** 14:
        raise ValueError(f"{raw!r} is not an amount Rapport can keep")
    return amount.quantize(Decimal("0.01"))


def _by_field(error: ValidationError) -> dict[str, list[str]]:
    return error.message_dict if hasattr(error, "error_dict") else {"": error.messages}


def _message(error: ValidationError | PermissionDenied) -> str:
    if isinstance(error, PermissionDenied):
        return str(error)
    return " ".join(error.messages)


def read_rows(path: Path | str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and all rows of a small file (tests, previews)."""
    table = readers.open_table(path)
    return table.headers, list(table.rows)


def preview(job: ImportJob, limit: int = 3) -> list[list[str]]:
    """The first rows of the file, to show beside the mapping."""
    try:
        table = readers.open_table(job.file.path, job.filename)
    except (readers.FileProblem, OSError):
        return []
    rows = [cells for _, cells in islice(table.rows, limit)]
    table.rows.close()
    return rows


# --- "Export everything" ----------------------------------------------------------------
#
# 'Export everything': start the job, write the ZIP in the background, expire old files.
#
# ``start_export`` records who asked (the job's audit history) and queues
# ``tasks.run_export_job`` after commit. ``run_export`` writes one CSV or JSON
# per list the requester may export (the same rows and bytes as that list's
# export, see ``exports``) into a ZIP under a temporary name and renames it only
# when complete, so a half-written file is never offered. ``expire_exports``
# (a periodic job) deletes files older than ``DATAIO_EXPORT_KEEP_DAYS``.

export_logger = logging.getLogger(__name__)

DEFAULT_KEEP_DAYS = 7
PROGRESS_EVERY = 1000  # rows between progress updates
PARTIAL_SUFFIX = ".partial"
ORPHAN_AFTER = timedelta(days=1)  # a crashed worker's temporary file


class ExportProblem(Exception):
    """Why an export could not be written, in words for the requester."""


def keep_days() -> int:
    return int(getattr(settings, "DATAIO_EXPORT_KEEP_DAYS", DEFAULT_KEEP_DAYS))


def export_dir() -> Path:
    configured = getattr(settings, "DATAIO_EXPORT_DIR", "")
    return Path(configured) if configured else Path(settings.DATA_DIR) / "exports"


def _export_plan(viewer: Any) -> list[dict[str, Any]]:
    return [
        {"key": spec.key, "label": spec.label, "rows": None, "written": 0, "done": False}
        for spec in exports.exportable(viewer)
    ]


def start_export(actor: User, *, file_type: str = ExportFormat.CSV) -> ExportJob:
    """Queue an export of every list ``actor`` may export; the file is theirs alone."""
    authorise(actor, Action.ADD, ExportJob)
    if file_type not in ExportFormat.values:
        raise ValidationError({"file_type": [f"{file_type!r} is not csv or json."]})
    plan = _export_plan(actor)
    if not plan:
        raise ValidationError("Your role may not export any list.")
    active = (ExportStatus.QUEUED, ExportStatus.RUNNING)
    if ExportJob.objects.filter(requested_by=actor, status__in=active).exists():
        raise ValidationError("Your previous export is still being written: wait for it.")
    from rapport.dataio import tasks

    with transaction.atomic():
        job = ExportJob(requested_by=actor, file_type=file_type, entities=plan)
        attribute_change(job, actor, f"Export everything ({file_type.upper()}) requested")
        job.save(force_insert=True)
        job_id = job.pk
        transaction.on_commit(lambda: tasks.run_export_job(job_id))
    return job


def _save_export(job: ExportJob, reason: str) -> None:
    attribute_change(job, None, reason)
    job.save()


def _export_progress(job: ExportJob) -> None:
    """Progress only: no audit row for each step."""
    ExportJob.objects.filter(pk=job.pk).update(
        entities=job.entities, written_rows=job.written_rows, total_rows=job.total_rows
    )


def _counted(
    lines: Iterator[str], fixed: int, job: ExportJob, entry: dict[str, Any], *, end: str = ""
) -> Iterator[str]:
    """Pass ``lines`` through, counting the rows after the ``fixed`` leading ones."""
    for position, line in enumerate(lines):
        yield line
        if position >= fixed and line != end:
            entry["written"] += 1
            job.written_rows += 1
            if job.written_rows % PROGRESS_EVERY == 0:
                _export_progress(job)


def _member_lines(job: ExportJob, key: str, entry: dict[str, Any]) -> Iterator[str]:
    rows = exports.rows(job.requested_by, key)
    if job.file_type == ExportFormat.JSON:
        # "[", one line per record, then the closing "\n]\n".
        return _counted(exports.json_lines(key, rows), 1, job, entry, end=exports.JSON_END)
    return _counted(exports.csv_lines(key, rows), 2, job, entry)  # BOM, header


def run_export(job: ExportJob) -> ExportJob:
    """Write the ZIP (the worker calls this); failures are recorded on the job."""
    if job.status not in (ExportStatus.QUEUED, ExportStatus.RUNNING):
        return job
    job.status, job.started_at, job.error = ExportStatus.RUNNING, timezone.now(), ""
    _save_export(job, "Export everything started")
    directory = export_dir()
    name = f"rapport-export-{job.pk}-{secrets.token_hex(12)}.zip"
    partial = directory / (name + PARTIAL_SUFFIX)
    try:
        viewer = job.requested_by
        if viewer is None or role_of(viewer) is None:
            raise ExportProblem("The person who asked for this export no longer has an account.")
        allowed = {spec.key for spec in exports.exportable(viewer)}
        # What the requester may export now, not when they asked.
        job.entities = [entry for entry in job.entities if entry["key"] in allowed]
        if not job.entities:
            raise ExportProblem("Your role may no longer export any list.")
        for entry in job.entities:
            entry["rows"] = exports.rows(viewer, entry["key"]).count()
        job.total_rows = sum(entry["rows"] for entry in job.entities)
        job.written_rows = 0
        _export_progress(job)
        directory.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for entry in job.entities:
                member = f"{entry['key']}.{job.file_type}"
                with (
                    archive.open(member, "w", force_zip64=True) as raw,
                    io.TextIOWrapper(raw, encoding="utf-8", newline="") as text,
                ):
                    for line in _member_lines(job, entry["key"], entry):
                        text.write(line)
                entry["done"] = True
                _export_progress(job)
        os.replace(partial, directory / name)
    except Exception as error:  # every failure is shown to the requester
        partial.unlink(missing_ok=True)
        if not isinstance(error, ExportProblem):
            export_logger.exception("Export job %s failed", job.pk)
        job.status, job.finished_at, job.file_name = ExportStatus.FAILED, timezone.now(), ""
        job.error = str(error) or error.__class__.__name__
        _save_export(job, f"Export everything failed: {job.error}"[:100])
        return job
    now = timezone.now()
    job.status, job.finished_at, job.file_name = ExportStatus.DONE, now, name
    job.file_size = (directory / name).stat().st_size
    job.expires_at = now + timedelta(days=keep_days())
    files = len(job.entities)
    _save_export(job, f"Export everything written: {job.written_rows} rows in {files} files")
    return job


def export_path(job: ExportJob) -> Path | None:
    """The finished file, or None (not done, expired, or gone from the disk)."""
    if not job.downloadable or job.expires_at is None or job.expires_at <= timezone.now():
        return None
    path = export_dir() / Path(job.file_name).name
    return path if path.is_file() else None


def expire_exports(now: datetime | None = None) -> int:
    """Delete the files past ``expires_at``, fail jobs a stopped worker left running, and
    remove crashed runs' temporary files. Returns how many files expired."""
    now = now or timezone.now()
    directory = export_dir()
    expired = 0
    for job in ExportJob.objects.filter(status=ExportStatus.DONE, expires_at__lte=now):
        if job.file_name:
            (directory / Path(job.file_name).name).unlink(missing_ok=True)
        job.status, job.file_name = ExportStatus.EXPIRED, ""
        _save_export(job, f"Export file deleted after {keep_days()} days")
        expired += 1
    # A worker stopped mid-run (killed, machine restarted) leaves its job running:
    # after a day it is failed, so its requester may start another.
    stuck = ExportJob.objects.filter(
        status__in=(ExportStatus.QUEUED, ExportStatus.RUNNING), created_at__lte=now - ORPHAN_AFTER
    )
    for job in stuck:
        job.status, job.finished_at = ExportStatus.FAILED, now
        job.error = "The export was interrupted (the background worker stopped)."
        _save_export(job, "Export everything interrupted")
    if directory.is_dir():
        cutoff = time.time() - ORPHAN_AFTER.total_seconds()
        for leftover in directory.glob(f"*{PARTIAL_SUFFIX}"):
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink(missing_ok=True)
    return expired
