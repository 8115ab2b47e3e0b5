"""Exports of every list (contacts, companies, products, orders and their lines, the
installed base, timeline entries, tasks, deals, tickets) as CSV, XLSX and JSON, and of
contacts as vCard 4.0, streamed.

Rows come from each list's own restricted queryset (the app's ``queries`` with
``Action.EXPORT``) filtered by the list's FilterSet and sorted like the list, so an
export holds exactly what its list shows the user. Contacts, companies and products
export under the import's headers, so an exported file imports back unchanged.

Values keep their type until the writer: text is defused against formula injection
(``safe_cell``) in CSV and XLSX; dates and times are ISO 8601; amounts are decimals
beside a currency column; JSON keeps the text as it is (it is data, not a sheet).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.db.models import Model, Prefetch, QuerySet
from django.http import HttpRequest, QueryDict
from django.utils import timezone

from rapport.catalog import queries as catalog_queries
from rapport.catalog import tables as catalog_tables
from rapport.catalog.filtersets import ProductFilterSet
from rapport.catalog.models import Product
from rapport.core import custom_fields
from rapport.core.lists import STATE_PARAMS, ListSpec, safe_cell
from rapport.core.models import CustomFieldTarget
from rapport.core.permissions import Action, can
from rapport.customers import queries as customer_queries
from rapport.customers.filtersets import CompanyFilterSet, ContactFilterSet
from rapport.customers.models import Company, Contact, Membership
from rapport.dataio import mapping
from rapport.dataio.choices import Entity
from rapport.interactions import queries as interaction_queries
from rapport.interactions.filtersets import InteractionFilterSet
from rapport.interactions.models import Interaction
from rapport.reminders import queries as task_queries
from rapport.reminders import tables as task_tables
from rapport.reminders.filtersets import TaskFilterSet
from rapport.reminders.models import Task
from rapport.sales import queries as sales_queries
from rapport.sales import tables as sales_tables
from rapport.sales.filtersets import DealFilterSet
from rapport.sales.models import Deal
from rapport.service import queries as service_queries
from rapport.service import tables as service_tables
from rapport.service.filtersets import TicketFilterSet
from rapport.service.models import Ticket
from rapport.trading import queries as trading_queries
from rapport.trading import tables as trading_tables
from rapport.trading.filtersets import AssetFilterSet, OrderFilterSet
from rapport.trading.models import Asset, Order, OrderLine

CHUNK = 2000
FORMATS = ("csv", "xlsx", "json", "vcf")
TABLE_FORMATS = ("csv", "xlsx", "json")
JSON_END = "\n]\n"


@dataclass(frozen=True)
class ExportColumn:
    header: str
    value: Callable[[Any], Any]


# --- shared cell helpers -----------------------------------------------------------------


def _user(attribute: str) -> Callable[[Any], str]:
    """A user's e-mail (unique, and what the imports take to find a user)."""

    def value(row: Any) -> str:
        user = getattr(row, attribute)
        return user.email if user is not None else ""

    return value


def _name(attribute: str) -> Callable[[Any], str]:
    def value(row: Any) -> str:
        record = getattr(row, attribute)
        return str(record) if record is not None else ""

    return value


def _display(name: str) -> Callable[[Any], str]:
    """The readable label of a choice field."""
    return lambda row: getattr(row, f"get_{name}_display")() if getattr(row, name) else ""


def _field(name: str) -> Callable[[Any], Any]:
    return lambda row: getattr(row, name)


def _yes_no(name: str) -> Callable[[Any], str]:
    return lambda row: "yes" if getattr(row, name) else "no"


def _custom(key: str) -> Callable[[Any], Any]:
    def value(row: Any) -> Any:
        stored = row.custom_fields.get(key, "")
        return "; ".join(str(item) for item in stored) if isinstance(stored, list) else stored

    return value


def _custom_columns(target: str) -> list[ExportColumn]:
    return [
        ExportColumn(definition.label, _custom(definition.key))
        for definition in custom_fields.definitions(target)
    ]


def _tags(row: Any) -> str:
    return "; ".join(tag.name for tag in row.tags.all())


# --- contacts and companies (the import's columns) ---------------------------------------


def _emails(contact: Contact) -> list[str]:
    return [e.email for e in contact.emails.all()]  # primary first (model ordering)


def _phones(contact: Contact) -> list[str]:
    return [p.number for p in contact.phones.all()]


def _company(contact: Contact) -> str:
    memberships = list(contact.memberships.all())
    return memberships[0].company.name if memberships else ""


def _nth(getter: Callable[[Any], list[str]], index: int) -> Callable[[Any], str]:
    return lambda row: (getter(row)[index : index + 1] or [""])[0]


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
    ExportColumn("Birthday", lambda c: c.birthday),
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
    ExportColumn("Annual revenue", lambda c: c.annual_revenue),
    ExportColumn("Currency", lambda c: c.currency),
    ExportColumn("Notes", lambda c: c.notes),
    ExportColumn("Lifecycle stage", lambda c: c.lifecycle_stage),
    ExportColumn("Tags", _tags),
    ExportColumn("Owner", _owner),
)

# --- products (the import's columns first) -----------------------------------------------

PRODUCT_COLUMNS = (
    ExportColumn("SKU", _field("sku")),
    ExportColumn("Name", _field("name")),
    ExportColumn("Unit price", _field("unit_price")),
    ExportColumn("Currency", _field("currency")),
    ExportColumn("Category", _field("category")),
    ExportColumn("Description", _field("description")),
    ExportColumn("Active", _yes_no("active")),
    ExportColumn("Service interval (days)", _field("service_interval_days")),
    ExportColumn("Warranty (months)", _field("warranty_months")),
    ExportColumn("Kind", _display("kind")),
    ExportColumn("Renews every (months)", _field("renewal_months")),
    ExportColumn("Upgrade to (SKU)", lambda p: p.upgrade_to.sku if p.upgrade_to else ""),
    ExportColumn("Created", _field("created_at")),
    ExportColumn("Updated", _field("updated_at")),
)

# --- orders, their lines, the installed base ---------------------------------------------


def _contact_email(holder: Callable[[Any], Any]) -> Callable[[Any], str]:
    def value(row: Any) -> str:
        contact = holder(row).contact
        return contact.email if contact is not None else ""

    return value


ORDER_COLUMNS = (
    ExportColumn("Order number", _field("number")),
    ExportColumn("Order date", _field("order_date")),
    ExportColumn("Status", _display("status")),
    ExportColumn("Contact", _name("contact")),
    ExportColumn("Customer e-mail", _contact_email(lambda order: order)),
    ExportColumn("Company", _name("company")),
    ExportColumn("Currency", _field("currency")),
    ExportColumn("Subtotal", _field("subtotal")),
    ExportColumn("Discount", _field("discount")),
    ExportColumn("Total", _field("total")),
    ExportColumn("Exchange rate", _field("exchange_rate")),
    ExportColumn("Total (base currency)", _field("total_base")),
    ExportColumn("Owner", _user("owner")),
    ExportColumn("Order notes", _field("notes")),
    ExportColumn("Created", _field("created_at")),
    ExportColumn("Updated", _field("updated_at")),
)
ORDER_LINE_COLUMNS = (
    ExportColumn("Order number", lambda line: line.order.number),
    ExportColumn("Order date", lambda line: line.order.order_date),
    ExportColumn("Status", lambda line: line.order.get_status_display()),
    ExportColumn("Customer e-mail", _contact_email(lambda line: line.order)),
    ExportColumn("Company", lambda line: str(line.order.company or "")),
    ExportColumn("Line", _field("position")),
    ExportColumn("Product SKU", lambda line: line.product.sku if line.product else ""),
    ExportColumn("Line description", _field("description")),
    ExportColumn("Quantity", _field("quantity")),
    ExportColumn("Unit price", _field("unit_price")),
    ExportColumn("Discount %", _field("discount_percent")),
    ExportColumn("Line total", _field("line_total")),
    ExportColumn("Currency", lambda line: line.order.currency),
)
ASSET_COLUMNS = (
    ExportColumn("Product SKU", lambda asset: asset.product.sku),
    ExportColumn("Product", lambda asset: asset.product.name),
    ExportColumn("Serial", _field("serial")),
    ExportColumn("Unit", _field("unit")),
    ExportColumn("Contact", _name("contact")),
    ExportColumn("Customer e-mail", _contact_email(lambda asset: asset)),
    ExportColumn("Company", _name("company")),
    ExportColumn("Order number", lambda asset: asset.order.number if asset.order else ""),
    ExportColumn("Bought on", _field("bought_on")),
    ExportColumn("Installed on", _field("installed_on")),
    ExportColumn("Warranty until", _field("warranty_end")),
    ExportColumn("Renews on", _field("renewal_on")),
    ExportColumn("Last service", _field("last_serviced_on")),
    ExportColumn("Next service due", _field("next_service_due")),
    ExportColumn("Notes", _field("notes")),
)

# --- timeline, tasks, deals, tickets -----------------------------------------------------

INTERACTION_COLUMNS = (
    ExportColumn("When", _field("occurred_at")),
    ExportColumn("Kind", _display("kind")),
    ExportColumn("Channel", _display("channel")),
    ExportColumn("Direction", _display("direction")),
    ExportColumn("Contact", _name("contact")),
    ExportColumn("Contact's e-mail", _contact_email(lambda entry: entry)),
    ExportColumn("Company", _name("company")),
    ExportColumn("Subject", _field("subject")),
    ExportColumn("Notes", _field("body")),
    ExportColumn("Outcome", _display("outcome")),
    ExportColumn("Duration (minutes)", _field("duration_minutes")),
    ExportColumn("Who had it", _user("owner")),
    ExportColumn("Logged by", _user("created_by")),
)


def _task_status(task: Task) -> str:
    if task.is_done:
        return "Done"
    return "Overdue" if task.is_overdue else "Open"


TASK_COLUMNS = (
    ExportColumn("Task", _field("title")),
    ExportColumn("Due date", _field("due_date")),
    ExportColumn("Due time", _field("due_time")),
    ExportColumn("Priority", _display("priority")),
    ExportColumn("Status", _task_status),
    ExportColumn("Assignee", _user("assignee")),
    ExportColumn("Contact", _name("contact")),
    ExportColumn("Company", _name("company")),
    ExportColumn("Notes", _field("notes")),
    ExportColumn("Repeats", _field("recurrence")),  # the RRULE, as the task page shows it
    ExportColumn("Done at", _field("done_at")),
    ExportColumn("Done by", _user("done_by")),
    ExportColumn("Asked by", _user("owner")),
    ExportColumn("Created", _field("created_at")),
)
DEAL_COLUMNS = (
    ExportColumn("Deal", _field("name")),
    ExportColumn("Pipeline", lambda deal: deal.pipeline.name),
    ExportColumn("Stage", lambda deal: deal.stage.name),
    ExportColumn("Status", _display("status")),
    ExportColumn("Contact", _name("contact")),
    ExportColumn("Company", _name("company")),
    ExportColumn("Amount", _field("amount")),
    ExportColumn("Currency", _field("currency")),
    ExportColumn("Exchange rate", _field("exchange_rate")),
    ExportColumn("Amount (base currency)", _field("amount_base")),
    ExportColumn("Expected close", _field("expected_close")),
    ExportColumn("Closed on", _field("closed_on")),
    ExportColumn("Source", _display("source")),
    ExportColumn("Lost reason", _field("lost_reason")),
    ExportColumn("Next step", _field("next_step")),
    ExportColumn("Next step due", _field("next_step_due")),
    ExportColumn("Owner", _user("owner")),
    ExportColumn("Notes", _field("notes")),
    ExportColumn("Last activity", _field("last_activity_at")),
    ExportColumn("Created", _field("created_at")),
    ExportColumn("Updated", _field("updated_at")),
)
TICKET_COLUMNS = (
    ExportColumn("Ticket", _field("reference")),
    ExportColumn("Subject", _field("subject")),
    ExportColumn("Description", _field("description")),
    ExportColumn("Status", _display("status")),
    ExportColumn("Priority", _display("priority")),
    ExportColumn("Channel", _display("channel")),
    ExportColumn("Contact", _name("contact")),
    ExportColumn("Company", _name("company")),
    ExportColumn("Requester e-mail", _field("requester_email")),
    ExportColumn("Assignee", _user("assignee")),
    ExportColumn("Team", lambda ticket: ticket.team.name if ticket.team else ""),
    ExportColumn("SLA policy", _name("sla_policy")),
    ExportColumn("First response due", _field("first_response_due")),
    ExportColumn("First response at", _field("first_response_at")),
    ExportColumn("Resolution due", _field("resolution_due")),
    ExportColumn("Resolved at", _field("resolved_at")),
    ExportColumn("Closed at", _field("closed_at")),
    ExportColumn("Created", _field("created_at")),
    ExportColumn("Updated", _field("updated_at")),
)


# --- the registry --------------------------------------------------------------------------


def _contacts(viewer: Any, action: Action) -> QuerySet[Any]:
    return customer_queries.contacts(viewer, action).prefetch_related(
        "emails", "phones",
        Prefetch("memberships", queryset=Membership.objects.select_related("company")),
    )  # fmt: skip


def _order_lines(viewer: Any, action: Action) -> QuerySet[Any]:
    """Lines are filtered through their orders (see ``rows``): here, the orders."""
    return trading_queries.orders(viewer, action)


def _assets(viewer: Any, action: Action) -> QuerySet[Any]:
    return trading_queries.assets(viewer, action).select_related("order")


def _tickets(viewer: Any, action: Action) -> QuerySet[Any]:
    return service_queries.tickets(viewer, action)


@dataclass(frozen=True)
class ExportSpec:
    """One exportable list: whose rows, filtered how, sorted how, in which columns."""

    key: str
    label: str
    model: type[Model]
    queryset: Callable[[Any, Action], QuerySet[Any]]
    filterset: Any
    base_columns: tuple[ExportColumn, ...]
    order: tuple[str, ...]
    list_spec: ListSpec | None = None  # the web list whose ``sort`` the export follows
    custom_target: str = ""
    list_url: str = ""

    def columns(self) -> list[ExportColumn]:
        extra = _custom_columns(self.custom_target) if self.custom_target else []
        return [*self.base_columns, *extra]

    def allowed(self, viewer: Any) -> bool:
        return can(viewer, Action.EXPORT, self.model)


SPECS: dict[str, ExportSpec] = {
    spec.key: spec
    for spec in (
        ExportSpec(
            Entity.CONTACTS, "Contacts", Contact, _contacts, ContactFilterSet, CONTACT_COLUMNS,
            ("full_name", "id"), custom_target=mapping.custom_field_target(Entity.CONTACTS),
            list_url="customers:contacts",
        ),
        ExportSpec(
            Entity.COMPANIES, "Companies", Company, customer_queries.companies, CompanyFilterSet,
            COMPANY_COLUMNS, ("name", "id"),
            custom_target=mapping.custom_field_target(Entity.COMPANIES),
            list_url="customers:companies",
        ),
        ExportSpec(
            "products", "Products", Product, catalog_queries.products, ProductFilterSet,
            PRODUCT_COLUMNS, ("name", "id"), catalog_tables.PRODUCTS, list_url="catalog:products",
        ),
        ExportSpec(
            "orders", "Orders", Order, trading_queries.orders, OrderFilterSet, ORDER_COLUMNS,
            ("-order_date", "-id"), trading_tables.ORDERS, list_url="trading:orders",
        ),
        ExportSpec(
            "order_lines", "Order lines", OrderLine, _order_lines, OrderFilterSet,
            ORDER_LINE_COLUMNS, ("-order__order_date", "-order_id", "position", "id"),
            list_url="trading:orders",
        ),
        ExportSpec(
            "assets", "Installed base", Asset, _assets, AssetFilterSet, ASSET_COLUMNS,
            ("next_service_due", "id"), trading_tables.ASSETS, list_url="trading:assets",
        ),
        ExportSpec(
            "interactions", "Timeline entries", Interaction, interaction_queries.interactions,
            InteractionFilterSet, INTERACTION_COLUMNS, ("-occurred_at", "-id"),
        ),
        ExportSpec(
            "tasks", "Tasks", Task, task_queries.tasks, TaskFilterSet, TASK_COLUMNS,
            ("due_at", "id"), task_tables.TASKS, list_url="reminders:tasks",
        ),
        ExportSpec(
            "deals", "Deals", Deal, sales_queries.deals, DealFilterSet, DEAL_COLUMNS,
            ("expected_close", "id"), sales_tables.DEALS, custom_target=CustomFieldTarget.DEAL,
            list_url="sales:deals",
        ),
        ExportSpec(
            "tickets", "Tickets", Ticket, _tickets, TicketFilterSet, TICKET_COLUMNS,
            ("-id",), service_tables.TICKETS, list_url="service:tickets",
        ),
    )
}  # fmt: skip


def spec_for(key: str) -> ExportSpec | None:
    return SPECS.get(key)


def exportable(viewer: Any) -> list[ExportSpec]:
    """The lists ``viewer`` may export, in menu order."""
    return [spec for spec in SPECS.values() if spec.allowed(viewer)]


def columns(entity: str) -> list[ExportColumn]:
    return SPECS[entity].columns()


def _filters_only(params: QueryDict) -> QueryDict:
    filters = params.copy()
    for name in STATE_PARAMS:
        filters.pop(name, None)
    return filters


def _ordering(spec: ExportSpec, params: QueryDict) -> list[str]:
    """The list's sort (``sort=-total``) when it names one, then a unique tie-break."""
    raw = params.get("sort", "")
    if spec.list_spec is not None and raw:
        sortable = spec.list_spec.sortable()
        name = sortable.get(raw.lstrip("-"))
        if name is not None:
            first = f"-{name}" if raw.startswith("-") else name
            return [first, *(part for part in spec.order if part.lstrip("-") != name)]
    return list(spec.order)


def rows(
    viewer: Any, entity: str, params: QueryDict | None = None, request: HttpRequest | None = None
) -> QuerySet[Any]:
    """What the list shows ``viewer`` for these filters, as they may export it, in its order.

    Raises ValidationError for filters that are not valid. The caller checks
    ``Action.EXPORT`` on the model (the queryset is empty without it).
    """
    spec = SPECS[entity]
    params = QueryDict() if params is None else params
    queryset = spec.queryset(viewer, Action.EXPORT)
    filterset = spec.filterset(_filters_only(params), queryset=queryset, request=request)
    if not filterset.is_valid():
        raise ValidationError(filterset.errors)
    chosen: QuerySet[Any] = filterset.qs
    if entity == "order_lines":
        return (
            OrderLine.objects.filter(order__in=chosen.order_by().values("pk"))
            .select_related("order__contact", "order__company", "product")
            .order_by(*spec.order)
        )
    return chosen.order_by(*_ordering(spec, params))


# --- writers -------------------------------------------------------------------------------


def _text(value: Any) -> str:
    """A cell as text: ISO dates and times (local time, with offset), plain decimals."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime) and timezone.is_aware(value):
        return timezone.localtime(value).isoformat()
    if isinstance(value, dt.date | dt.time):  # a datetime is a date too
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def csv_cell(value: Any) -> str:
    """Numbers, dates and times as they are; text defused (``=HYPERLINK(...)`` → ``'=...``)."""
    if isinstance(value, int | float | Decimal | dt.date | dt.time) and not isinstance(value, bool):
        return _text(value)
    return safe_cell(_text(value) if not isinstance(value, str) else value)


def json_value(value: Any) -> Any:
    """JSON keeps numbers, booleans and null; decimals become exact strings, dates ISO."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    return _text(value)


def xlsx_cell(value: Any) -> Any:
    """Spreadsheet cells keep numbers and dates as such; text is defused."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | Decimal):
        return value
    if isinstance(value, dt.datetime):
        # Excel has no time zones: the local time, as the web pages show it.
        return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value
    if isinstance(value, dt.date | dt.time):
        return value
    return safe_cell(value)


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(entity: str, queryset: QuerySet[Any], *, bom: bool = True) -> Iterator[str]:
    chosen = columns(entity)
    writer = csv.writer(_Echo())
    if bom:
        yield "\ufeff"  # spreadsheet apps then read UTF-8 correctly
    yield writer.writerow([column.header for column in chosen])
    for row in queryset.iterator(chunk_size=CHUNK):
        yield writer.writerow([csv_cell(column.value(row)) for column in chosen])


def json_lines(entity: str, queryset: QuerySet[Any]) -> Iterator[str]:
    """A JSON array of objects, written one record at a time."""
    chosen = columns(entity)
    yield "["
    first = True
    for row in queryset.iterator(chunk_size=CHUNK):
        record = {column.header: json_value(column.value(row)) for column in chosen}
        yield ("\n" if first else ",\n") + json.dumps(record, ensure_ascii=False)
        first = False
    yield JSON_END


def xlsx_file(entity: str, queryset: QuerySet[Any]) -> IO[bytes]:
    """A temporary XLSX file written in openpyxl's write-only mode (rows go straight to disk)."""
    from openpyxl import Workbook

    chosen = columns(entity)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(SPECS[entity].label[:31])
    sheet.append([column.header for column in chosen])
    for row in queryset.iterator(chunk_size=CHUNK):
        # Strings starting with "=" would be stored as formulas: safe_cell defuses them.
        sheet.append([xlsx_cell(column.value(row)) for column in chosen])
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
