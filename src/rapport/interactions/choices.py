from django.db import models


class InteractionKind(models.TextChoices):
    """What happened: the touchpoints of a customer relationship."""

    INQUIRY = "inquiry", "Inquiry"
    ORDER = "order", "Order"
    DELIVERY = "delivery", "Delivery"
    MAINTENANCE = "maintenance", "Maintenance"
    UPGRADE = "upgrade", "Upgrade"
    SUPPORT = "support", "Support ticket"
    EMAIL = "email", "E-mail"
    CALL = "call", "Call"
    MEETING = "meeting", "Meeting"
    NOTE = "note", "Note"
    SURVEY = "survey", "Survey"
    CAMPAIGN = "campaign", "Campaign"
    REMINDER = "reminder", "Reminder"
    DEAL = "deal", "Deal"
    TASK = "task", "Task"
    LIFECYCLE = "lifecycle", "Stage change"


# What people log by hand; the other kinds are written by the app that owns them.
MANUAL_KINDS = (
    InteractionKind.INQUIRY,
    InteractionKind.EMAIL,
    InteractionKind.CALL,
    InteractionKind.MEETING,
    InteractionKind.NOTE,
    InteractionKind.MAINTENANCE,
)


class Channel(models.TextChoices):
    EMAIL = "email", "E-mail"
    PHONE = "phone", "Phone"
    SMS = "sms", "SMS"
    IN_PERSON = "in_person", "In person"
    VIDEO = "video", "Video call"
    WEB = "web", "Web"
    POST = "post", "Post"
    SYSTEM = "system", "Rapport"


class Direction(models.TextChoices):
    INBOUND = "inbound", "From the customer"
    OUTBOUND = "outbound", "To the customer"
    INTERNAL = "internal", "Internal"


class Outcome(models.TextChoices):
    CONNECTED = "connected", "Connected"
    LEFT_MESSAGE = "left_message", "Left a message"
    NO_ANSWER = "no_answer", "No answer"
    WRONG_NUMBER = "wrong_number", "Wrong number"
    INTERESTED = "interested", "Interested"
    NOT_INTERESTED = "not_interested", "Not interested"
    FOLLOW_UP = "follow_up", "Follow-up needed"
    DONE = "done", "Done"
