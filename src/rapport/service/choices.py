from django.db import models


class TicketStatus(models.TextChoices):
    NEW = "new", "New"
    OPEN = "open", "Open"
    PENDING_CUSTOMER = "pending_customer", "Pending customer"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


# Where a ticket may go from each status. A resolved ticket reopens when the
# customer writes again (or staff reopen it); closed is final, so a later
# e-mail on a closed thread opens a new ticket instead.
TRANSITIONS: dict[str, frozenset[str]] = {
    TicketStatus.NEW: frozenset(
        {TicketStatus.OPEN, TicketStatus.PENDING_CUSTOMER, TicketStatus.RESOLVED,
         TicketStatus.CLOSED}
    ),
    TicketStatus.OPEN: frozenset(
        {TicketStatus.PENDING_CUSTOMER, TicketStatus.RESOLVED, TicketStatus.CLOSED}
    ),
    TicketStatus.PENDING_CUSTOMER: frozenset(
        {TicketStatus.OPEN, TicketStatus.RESOLVED, TicketStatus.CLOSED}
    ),
    TicketStatus.RESOLVED: frozenset({TicketStatus.OPEN, TicketStatus.CLOSED}),
    TicketStatus.CLOSED: frozenset(),
}  # fmt: skip

# Statuses in which the SLA clocks run and the queues show the ticket as work to do.
ACTIVE_STATUSES = frozenset({TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING_CUSTOMER})
DONE_STATUSES = frozenset({TicketStatus.RESOLVED, TicketStatus.CLOSED})


class Priority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class TicketChannel(models.TextChoices):
    EMAIL = "email", "E-mail"
    PHONE = "phone", "Phone"
    WEB = "web", "Web"
    IN_PERSON = "in_person", "In person"


class MessageKind(models.TextChoices):
    REPLY = "reply", "Public reply"
    NOTE = "note", "Internal note"
    INBOUND = "inbound", "From the customer"


class Delivery(models.TextChoices):
    """Where an outgoing reply is on its way to the customer."""

    NOT_SENT = "", "Not e-mailed"
    PENDING = "pending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class AlertKind(models.TextChoices):
    FIRST_RESPONSE_SOON = "first_response_soon", "First response due soon"
    FIRST_RESPONSE_BREACHED = "first_response_breached", "First response overdue"
    RESOLUTION_SOON = "resolution_soon", "Resolution due soon"
    RESOLUTION_BREACHED = "resolution_breached", "Resolution overdue"


class InboundState(models.TextChoices):
    RECEIVED = "received", "Received"
    THREADED = "threaded", "Filed on a ticket"
    FAILED = "failed", "Needs a look"
