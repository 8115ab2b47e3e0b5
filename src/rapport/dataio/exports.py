"""Exports of the contact and company lists as CSV, XLSX, JSON and vCard 4.0, streamed.

Rows come from the lists' own restricted querysets (``customers.queries``
with ``Action.EXPORT``) filtered by the lists' FilterSets, so an export holds
exactly what its list shows the user. Columns are the import's fields, so an
exported file imports back unchanged.
"""

from __future__ import annotations

import csv
import json
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from django.db.models import Prefetch, QuerySet
from django.http import QueryDict

from rapport.core import custom_fields
from rapport.core.lists import safe_cell
from rapport.core.permissions import Action
from rapport.customers import queries as customer_queries
from rapport.customers.filtersets import CompanyFilterSet, ContactFilterSet
from rapport.customers.models import Contact, Membership
from rapport.dataio import mapping
from rapport.dataio.choices import Entity

CHUNK = 2000
FORMATS = ("csv", "xlsx", "json", "vcf")


@dataclass(frozen=True)
class ExportColumn:
    header: str
    value: Callable[[Any], Any]


def _emails(contact: Contact) -> list[str]:
    return [e.email for e in contact.emails.all()]  # primary first (model ordering)


def _phones(contact: Contact) -> list[str]:
    return [p.number for p in contact.phones.all()]


def _company(contact: Contact) -> str:
    memberships = list(contact.memberships.all())
    return memberships[0].company.name if memberships else ""


def _nth(getter: Callable[[Any], list[str]], index: int) -> Callable[[Any], str]:
    return lambda row: (getter(row)[index : index + 1] or [""])[0]


def _tags(row: Any) -> str:
    return "; ".join(tag.name for tag in row.tags.all())


def _owner(row: Any) -> str:
    return row.owner.email if row.owner else ""


CONTACT_COLUMNS = (
    ExportColumn("External id", lambda c: c.external_id or ""),
    ExportColumn("First name", lambda c: c.first_name),
    ExportColumn("Last name", lambda c: c.last_name),
    ExportColumn("E-mail", _nth(_emails, 0)),
    ExportColumn("E-mail 2", _nth(_emails, 1)),
    ExportColumn("Phone", _nth(_phones, 0)),
    ExportColumn("Phone 2", _nth(_phones, 1)),
    ExportColumn("Job title", lambda c: c.job_title),
    ExportColumn("Company", _company),
    ExportColumn("Birthday", lambda c: c.birthday.isoformat() if c.birthday else ""),
    ExportColumn("Language", lambda c: c.language),
    ExportColumn("Source", lambda c: c.source),
    ExportColumn("Notes", lambda c: c.notes),
    ExportColumn("Lifecycle stage", lambda c: c.lifecycle_stage),
    ExportColumn("Tags", _tags),
    ExportColumn("Owner", _owner),
)
COMPANY_COLUMNS = (
    ExportColumn("External id", lambda c: c.external_id or ""),
    ExportColumn("Name", lambda c: c.name),
    ExportColumn("Domain", lambda c: c.domain),
    ExportColumn("Industry", lambda c: c.industry),
    ExportColumn("Annual revenue", lambda c: "" if c.annual_revenue is None else c.annual_revenue),
    ExportColumn("Currency", lambda c: c.currency),
    ExportColumn("Notes", lambda c: c.notes),
    ExportColumn("Lifecycle stage", lambda c: c.lifecycle_stage),
    ExportColumn("Tags", _tags),
    ExportColumn("Owner", _owner),
)


def columns(entity: str) -> list[ExportColumn]:
    base = CONTACT_COLUMNS if entity == Entity.CONTACTS else COMPANY_COLUMNS
    extra = [
        ExportColumn(definition.label, _custom(definition.key))
        for definition in custom_fields.definitions(mapping.custom_field_target(entity))
    ]
    return [*base, *extra]


def _custom(key: str) -> Callable[[Any], Any]:
    def value(row: Any) -> Any:
        stored = row.custom_fields.get(key, "")
        return "; ".join(stored) if isinstance(stored, list) else stored

    return value


def rows(viewer: Any, entity: str, params: QueryDict) -> QuerySet[Any]:
    """What the list shows ``viewer`` for these filters, as they may export it.

    Raises ValidationError for filters that are not valid.
    """
    from django.core.exceptions import ValidationError

    if entity == Entity.CONTACTS:
        queryset: QuerySet[Any] = customer_queries.contacts(viewer, Action.EXPORT).prefetch_related(
            "emails", "phones",
            Prefetch("memberships", queryset=Membership.objects.select_related("company")),
        )  # fmt: skip
        filterset: Any = ContactFilterSet(params, queryset=queryset)
        order = ("full_name", "id")
    else:
        queryset = customer_queries.companies(viewer, Action.EXPORT)
        filterset = CompanyFilterSet(params, queryset=queryset)
        order = ("name", "id")
    if not filterset.is_valid():
        raise ValidationError(filterset.errors)
    return filterset.qs.order_by(*order)


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(entity: str, queryset: QuerySet[Any]) -> Iterator[str]:
    chosen = columns(entity)
    writer = csv.writer(_Echo())
    yield "\ufeff"  # spreadsheet apps then read UTF-8 correctly
    yield writer.writerow([column.header for column in chosen])
    for row in queryset.iterator(chunk_size=CHUNK):
        yield writer.writerow([safe_cell(column.value(row)) for column in chosen])


def json_lines(entity: str, queryset: QuerySet[Any]) -> Iterator[str]:
    """A JSON array of objects, written one record at a time."""
    chosen = columns(entity)
    yield "["
    first = True
    for row in queryset.iterator(chunk_size=CHUNK):
        record = {column.header: _json(column.value(row)) for column in chosen}
        yield ("\n" if first else ",\n") + json.dumps(record, ensure_ascii=False)
        first = False
    yield "\n]\n"


def _json(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


def xlsx_file(entity: str, queryset: QuerySet[Any]) -> IO[bytes]:
    """A spooled XLSX file written in openpyxl's write-only mode (rows go straight to disk)."""
    from openpyxl import Workbook

    chosen = columns(entity)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(entity.capitalize())
    sheet.append([column.header for column in chosen])
    for row in queryset.iterator(chunk_size=CHUNK):
        # Strings starting with "=" would be stored as formulas: safe_cell defuses them.
        sheet.append([safe_cell(column.value(row)) for column in chosen])
    target = tempfile.TemporaryFile()  # noqa: SIM115 - the response closes it
    workbook.save(target)
    target.seek(0)
    return target


# --- vCard 4.0 (RFC 6350) --------------------------------------------------------------


def vcard_lines(queryset: QuerySet[Contact]) -> Iterator[str]:
    for contact in queryset.iterator(chunk_size=CHUNK):
        yield vcard(contact)


def vcard(contact: Contact) -> str:
    lines = ["BEGIN:VCARD", "VERSION:4.0"]
    lines.append(f"FN:{_escape(contact.full_name)}")
    lines.append(f"N:{_escape(contact.last_name)};{_escape(contact.first_name)};;;")
    for index, email in enumerate(contact.emails.all()):
        lines.append(f"EMAIL;PREF={index + 1}:{_escape(email.email)}")
    for index, phone in enumerate(contact.phones.all()):
        lines.append(f"TEL;VALUE=uri;PREF={index + 1}:tel:{phone.number}")
    company = _company(contact)
    if company:
        lines.append(f"ORG:{_escape(company)}")
    if contact.job_title:
        lines.append(f"TITLE:{_escape(contact.job_title)}")
    if contact.birthday:
        lines.append(f"BDAY:{contact.birthday:%Y%m%d}")
    if contact.notes:
        lines.append(f"NOTE:{_escape(contact.notes)}")
    tags = [tag.name for tag in contact.tags.all()]
    if tags:
        lines.append("CATEGORIES:" + ",".join(_escape(tag) for tag in tags))
    if contact.external_id:
        lines.append(f"UID:{_escape(contact.external_id)}")
    lines.append("END:VCARD")
    return "".join(_fold(line) + "\r\n" for line in lines)


def _escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\")
        .replace(",", "\\,")
        .replace(";", "\\;")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def _fold(line: str, limit: int = 75) -> str:
    """Lines longer than 75 octets continue on the next line after a space (RFC 6350 3.2)."""
    encoded = line.encode()
    if len(encoded) <= limit:
        return line
    parts: list[str] = []
    current = ""
    size = 0
    for char in line:
        width = len(char.encode())
        if size + width > (limit if not parts else limit - 1):
            parts.append(current)
            current, size = "", 0
        current += char
        size += width
    parts.append(current)
    return "\r\n ".join(parts)
