from django.db import models


class Entity(models.TextChoices):
    CONTACTS = "contacts", "Contacts"
    COMPANIES = "companies", "Companies"
    PRODUCTS = "products", "Products"
    INTERACTIONS = "interactions", "Timeline entries (calls, meetings, e-mails, notes)"
    ORDERS = "orders", "Orders with lines"


class FileFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "Excel (XLSX)"
    VCARD = "vcard", "vCard"


class MatchOn(models.TextChoices):
    """Which key finds the existing record a row updates."""

    EXTERNAL_ID = "external_id", "External id, then e-mail"
    EMAIL = "email", "Primary e-mail (contacts) or domain (companies)"


class JobStatus(models.TextChoices):
    NEW = "new", "Waiting for a mapping"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    CHECKED = "checked", "Dry run done"
    DONE = "done", "Imported"
    FAILED = "failed", "Failed"


ACTIVE_STATUSES = {JobStatus.QUEUED, JobStatus.RUNNING}
