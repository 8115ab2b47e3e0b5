"""Which record field each column of a file fills, and the proposal made from header names.

Header names are compared after dropping case, accents, punctuation and the
object prefixes other CRMs put in their exports ("Person - Email" in
Pipedrive, "E-mail 1 - Value" in Google Contacts), so one table of synonyms
covers HubSpot, Salesforce, Pipedrive, Zoho and Google Contacts.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from rapport.core import custom_fields
from rapport.core.models import CustomFieldTarget
from rapport.dataio.choices import Entity

CUSTOM_PREFIX = "cf:"
IGNORE = ""


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    help: str = ""


CONTACT_TARGETS = (
    Target("external_id", "External id", "the id in the system the file comes from"),
    Target("first_name", "First name"),
    Target("last_name", "Last name"),
    Target("full_name", "Full name", "split into first and last name when those are not mapped"),
    Target("email", "E-mail (primary)"),
    Target("email_2", "E-mail (other)"),
    Target("phone", "Phone (primary)"),
    Target("phone_2", "Phone (other)"),
    Target("job_title", "Job title"),
    Target("company", "Company name", "linked to the company of that name, created if missing"),
    Target("birthday", "Birthday", "YYYY-MM-DD or DD.MM.YYYY"),
    Target("language", "Language"),
    Target("source", "Source"),
    Target("notes", "Notes"),
    Target("lifecycle_stage", "Lifecycle stage"),
    Target("tags", "Tags", "separated by ; or ,"),
    Target("owner", "Owner", "the owner's e-mail address in Rapport"),
)
COMPANY_TARGETS = (
    Target("external_id", "External id", "the id in the system the file comes from"),
    Target("name", "Name"),
    Target("domain", "Domain / website"),
    Target("industry", "Industry"),
    Target("annual_revenue", "Annual revenue"),
    Target("currency", "Currency"),
    Target("notes", "Notes"),
    Target("lifecycle_stage", "Lifecycle stage"),
    Target("tags", "Tags", "separated by ; or ,"),
    Target("owner", "Owner", "the owner's e-mail address in Rapport"),
)

PRODUCT_TARGETS = (
    Target("sku", "SKU", "the product's code; finds the product to update"),
    Target("name", "Name"),
    Target("unit_price", "Unit price"),
    Target("currency", "Currency"),
    Target("category", "Category"),
    Target("description", "Description"),
    Target("active", "Active", "yes/no"),
    Target("service_interval_days", "Service interval (days)"),
    Target("warranty_months", "Warranty (months)"),
)

INTERACTION_TARGETS = (
    Target("external_id", "Activity id", "makes a re-import skip entries it brought before"),
    Target("contact_email", "Contact's e-mail", "finds the contact"),
    Target("contact_external_id", "Contact's external id", "finds the contact"),
    Target("kind", "Kind", "call, meeting, e-mail, note, ..."),
    Target("occurred_at", "When", "YYYY-MM-DD HH:MM, or a date"),
    Target("subject", "Subject"),
    Target("body", "Notes"),
    Target("channel", "Channel"),
    Target("direction", "Direction"),
    Target("duration_minutes", "Duration (minutes)"),
)

# Orders come one row per line; the rows of an order share its reference.
ORDERS = Entity.ORDERS
ORDER_TARGETS = (
    Target("order_ref", "Order number", "the order's number in the file; groups its lines"),
    Target("contact_email", "Customer's e-mail", "finds the contact"),
    Target("contact_external_id", "Customer's external id", "finds the contact"),
    Target("company", "Company name", "finds the company (exact name, any case)"),
    Target("order_date", "Order date", "YYYY-MM-DD or DD.MM.YYYY; today when empty"),
    Target("status", "Status", "quote or placed (default)"),
    Target("currency", "Currency", "ISO code such as EUR; the base currency when empty"),
    Target("sku", "Product SKU", "finds the product of the line"),
    Target("quantity", "Quantity"),
    Target("unit_price", "Unit price", "the product's price when empty"),
    Target("discount_percent", "Discount %"),
    Target("description", "Line description", "the product's name when empty"),
    Target("notes", "Order notes"),
    Target("owner", "Owner", "the e-mail of the Rapport user who took the order"),
)

# Normalised header → target. Normalised: lower-case ASCII letters and digits only.
CONTACT_SYNONYMS: dict[str, str] = {
    # Rapport's own exports and plain spreadsheets
    "externalid": "external_id", "id": "external_id", "firstname": "first_name",
    "lastname": "last_name", "name": "full_name", "fullname": "full_name", "email": "email",
    "emailaddress": "email", "mail": "email", "email2": "email_2", "otheremail": "email_2",
    "phone": "phone", "telephone": "phone", "phonenumber": "phone", "tel": "phone",
    "mobile": "phone_2", "mobilephone": "phone_2", "phone2": "phone_2", "jobtitle": "job_title",
    "title": "job_title", "position": "job_title", "company": "company",
    "companyname": "company", "organization": "company", "organisation": "company",
    "birthday": "birthday", "birthdate": "birthday", "dateofbirth": "birthday",
    "language": "language", "source": "source", "notes": "notes", "note": "notes",
    "description": "notes", "lifecyclestage": "lifecycle_stage", "stage": "lifecycle_stage",
    "tags": "tags", "labels": "tags", "owner": "owner", "owneremail": "owner",
    # HubSpot
    "recordid": "external_id", "contactid": "external_id", "mobilephonenumber": "phone_2",
    "contactowner": "owner", "originalsource": "source", "additionalemailaddresses": "email_2",
    "associatedcompany": "company", "preferredlanguage": "language",
    # Salesforce
    "leadsource": "source", "accountname": "company", "email2address": "email_2",
    "leadid": "external_id", "leadowner": "owner",
    # Pipedrive ("Person - ..." with the prefix dropped)
    "organizationname": "company", "label": "tags",
    # Zoho
    "secondaryemail": "email_2", "salutationfirstname": "first_name",
    # Google Contacts (new and old export formats)
    "givenname": "first_name", "familyname": "last_name", "email1value": "email",
    "email2value": "email_2", "phone1value": "phone", "phone2value": "phone_2",
    "organization1name": "company", "organization1title": "job_title",
    "organizationtitle": "job_title", "groupmembership": "tags",
}  # fmt: skip
COMPANY_SYNONYMS: dict[str, str] = {
    "externalid": "external_id", "id": "external_id", "recordid": "external_id",
    "companyid": "external_id", "accountid": "external_id", "organizationid": "external_id",
    "name": "name", "companyname": "name", "accountname": "name", "organization": "name",
    "organizationname": "name", "company": "name", "domain": "domain",
    "companydomainname": "domain", "website": "domain", "websiteurl": "domain", "url": "domain",
    "industry": "industry", "annualrevenue": "annual_revenue", "revenue": "annual_revenue",
    "currency": "currency", "notes": "notes", "description": "notes",
    "lifecyclestage": "lifecycle_stage", "stage": "lifecycle_stage", "tags": "tags",
    "labels": "tags", "owner": "owner", "companyowner": "owner", "accountowner": "owner",
}  # fmt: skip
PRODUCT_SYNONYMS: dict[str, str] = {
    "sku": "sku", "productcode": "sku", "itemcode": "sku", "articlenumber": "sku",
    "code": "sku", "partnumber": "sku", "name": "name", "productname": "name",
    "itemname": "name", "price": "unit_price", "unitprice": "unit_price",
    "listprice": "unit_price", "currency": "currency", "category": "category",
    "productcategory": "category", "productfamily": "category", "description": "description",
    "active": "active", "isactive": "active", "serviceintervaldays": "service_interval_days",
    "serviceinterval": "service_interval_days", "warrantymonths": "warranty_months",
    "warranty": "warranty_months",
}  # fmt: skip
INTERACTION_SYNONYMS: dict[str, str] = {
    "activityid": "external_id", "id": "external_id", "externalid": "external_id",
    "engagementid": "external_id", "email": "contact_email", "contactemail": "contact_email",
    "personemail": "contact_email", "emailaddress": "contact_email",
    "contactid": "contact_external_id", "personid": "contact_external_id",
    "recordid": "contact_external_id", "type": "kind", "activitytype": "kind", "kind": "kind",
    "date": "occurred_at", "activitydate": "occurred_at", "occurredat": "occurred_at",
    "when": "occurred_at", "datetime": "occurred_at", "timestamp": "occurred_at",
    "duedate": "occurred_at", "subject": "subject", "title": "subject", "notes": "body",
    "note": "body", "body": "body", "description": "body", "comments": "body",
    "channel": "channel", "direction": "direction", "duration": "duration_minutes",
    "durationminutes": "duration_minutes",
}  # fmt: skip
ORDER_SYNONYMS: dict[str, str] = {
    # plain spreadsheets, WooCommerce, Shopify ("Name" is "#1001" there), Salesforce, Zoho
    "ordernumber": "order_ref", "orderno": "order_ref", "orderid": "order_ref",
    "orderref": "order_ref", "orderreference": "order_ref", "order": "order_ref",
    "name": "order_ref", "sonumber": "order_ref", "salesorderid": "order_ref",
    "invoicenumber": "order_ref", "email": "contact_email", "customeremail": "contact_email",
    "billingemail": "contact_email", "contactemail": "contact_email",
    "emailaddress": "contact_email", "customerid": "contact_external_id",
    "contactid": "contact_external_id", "company": "company", "companyname": "company",
    "accountname": "company", "organization": "company", "billingcompany": "company",
    "orderdate": "order_date", "date": "order_date", "createdat": "order_date",
    "ordercreateddate": "order_date", "orderstartdate": "order_date",
    "status": "status", "orderstatus": "status", "currency": "currency",
    "sku": "sku", "productcode": "sku", "lineitemsku": "sku", "itemcode": "sku",
    "articlenumber": "sku", "partnumber": "sku", "quantity": "quantity", "qty": "quantity",
    "lineitemquantity": "quantity", "unitprice": "unit_price", "price": "unit_price",
    "lineitemprice": "unit_price", "itemcost": "unit_price", "listprice": "unit_price",
    "discount": "discount_percent", "discountpercent": "discount_percent",
    "linedescription": "description", "lineitemname": "description",
    "productname": "description", "itemname": "description", "notes": "notes",
    "note": "notes", "owner": "owner", "salesrep": "owner", "orderowner": "owner",
}  # fmt: skip
PREFIXES = ("person", "organization", "contact", "account", "company", "lead")


# Entities the import reads: the choices of ImportJob.entity.
IMPORT_ENTITIES: tuple[tuple[str, str], ...] = tuple(
    (str(value), str(label)) for value, label in Entity.choices
)


def targets(entity: str) -> tuple[Target, ...]:
    if entity == Entity.CONTACTS:
        return CONTACT_TARGETS
    if entity == Entity.INTERACTIONS:
        return INTERACTION_TARGETS
    if entity == ORDERS:
        return ORDER_TARGETS
    return PRODUCT_TARGETS if entity == Entity.PRODUCTS else COMPANY_TARGETS


def custom_field_target(entity: str) -> str:
    """Products have no custom fields: their target has no definitions."""
    if entity == Entity.CONTACTS:
        return CustomFieldTarget.CONTACT
    return CustomFieldTarget.COMPANY if entity == Entity.COMPANIES else f"none:{entity}"


def choices(entity: str) -> list[tuple[str, str]]:
    """Everything a column can be mapped to, custom fields included."""
    options = [(IGNORE, "— ignore —")] + [(target.key, target.label) for target in targets(entity)]
    for definition in custom_fields.definitions(custom_field_target(entity)):
        options.append((f"{CUSTOM_PREFIX}{definition.key}", f"{definition.label} (custom)"))
    return options


def normalise_header(header: str) -> str:
    text = unicodedata.normalize("NFKD", header).encode("ascii", "ignore").decode().lower()
    # "Person - Email" → "email"; "Organization - Name" stays meaningful for companies.
    head, sep, rest = text.partition(" - ")
    if sep and head.strip() in PREFIXES and rest.strip():
        text = rest if not rest.strip().startswith("value") else text
    return re.sub(r"[^a-z0-9]", "", text)


def propose(entity: str, headers: list[str]) -> dict[str, str]:
    """A target for each header Rapport recognises; each target is proposed once."""
    synonyms = {
        "contacts": CONTACT_SYNONYMS,
        "products": PRODUCT_SYNONYMS,
        "interactions": INTERACTION_SYNONYMS,
        ORDERS: ORDER_SYNONYMS,
    }.get(str(entity), COMPANY_SYNONYMS)
    custom = {
        normalise_header(definition.key): f"{CUSTOM_PREFIX}{definition.key}"
        for definition in custom_fields.definitions(custom_field_target(entity))
    }
    custom.update(
        {
            normalise_header(definition.label): f"{CUSTOM_PREFIX}{definition.key}"
            for definition in custom_fields.definitions(custom_field_target(entity))
        }
    )
    proposal: dict[str, str] = {}
    taken: set[str] = set()
    for header in headers:
        key = normalise_header(header)
        target = synonyms.get(key) or custom.get(key, IGNORE)
        if target and target not in taken:
            proposal[header] = target
            taken.add(target)
    return proposal


def check(entity: str, columns: dict[str, str], headers: list[str]) -> dict[str, str]:
    """The mapping without ignored columns, or ValueError naming what is wrong."""
    known = {key for key, _ in choices(entity)}
    cleaned: dict[str, str] = {}
    used: dict[str, str] = {}
    for header, target in columns.items():
        if not target:
            continue
        if header not in headers:
            raise ValueError(f"The file has no column {header!r}.")
        if target not in known:
            raise ValueError(f"{target!r} is not a field of {entity}.")
        if target in used:
            raise ValueError(f"Columns {used[target]!r} and {header!r} both fill {target}.")
        used[target] = header
        cleaned[header] = target
    if not cleaned:
        raise ValueError("Map at least one column to a field.")
    if entity == Entity.COMPANIES and "name" not in used:
        raise ValueError("Map a column to the company name.")
    if entity == Entity.INTERACTIONS and not {"contact_email", "contact_external_id"} & set(used):
        raise ValueError("Map a column to the contact's e-mail or external id.")
    if entity == Entity.INTERACTIONS and not {"kind", "occurred_at", "subject"} <= set(used):
        raise ValueError("Map columns to the kind, the time and the subject.")
    if entity == ORDERS and not {"order_ref", "sku", "quantity"} <= set(used):
        raise ValueError("Map columns to the order number, the product SKU and the quantity.")
    if entity == ORDERS and not {"contact_email", "contact_external_id", "company"} & set(used):
        raise ValueError("Map a column to the customer's e-mail, external id or company.")
    if entity == Entity.PRODUCTS and not {"sku", "name"} <= set(used):
        raise ValueError("Map a column to the SKU and one to the name.")
    if entity == Entity.CONTACTS and not {"first_name", "last_name", "full_name", "email"} & set(
        used
    ):
        raise ValueError("Map a column to a name or the e-mail.")
    return cleaned
