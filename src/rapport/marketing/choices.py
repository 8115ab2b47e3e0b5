from django.db import models


class SegmentKind(models.TextChoices):
    DYNAMIC = "dynamic", "Dynamic (rules)"
    STATIC = "static", "Static list (hand-picked)"


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    SCHEDULED = "scheduled", "Scheduled"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    CANCELLED = "cancelled", "Cancelled"


class MessageState(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Being sent"
    SENT = "sent", "Sent"
    BOUNCED = "bounced", "Bounced"
    FAILED = "failed", "Failed"


class UnsubscribeSource(models.TextChoices):
    ONE_CLICK = "one_click", "One-click (mail program)"
    FOOTER = "footer", "Footer link"


# Campaigns whose content and audience may still change.
EDITABLE_CAMPAIGN_STATUSES = frozenset({CampaignStatus.DRAFT, CampaignStatus.SCHEDULED})


class Trigger(models.TextChoices):
    SCORE = "score", "An insight score crosses a threshold"
    SERVICE_DUE = "service_due", "A unit is due for service"
    BIRTHDAY = "birthday", "Birthday"
    CONTACT_CREATED = "contact_created", "A contact is created"
    STAGE_CHANGED = "stage_changed", "The lifecycle stage changes"
    ORDER_PLACED = "order_placed", "An order is placed"
    ORDER_DELIVERED = "order_delivered", "An order is delivered"
    TICKET_RESOLVED = "ticket_resolved", "A ticket is resolved"
    SURVEY_ANSWERED = "survey_answered", "A survey is answered"
    CONTACT_UPDATED = "contact_updated", "A contact is updated"
    RENEWAL_DUE = "renewal_due", "A unit's renewal date is near"


# Triggers fired by one stored event each (its id is the occurrence), only for
# events after the rule was armed (created or enabled).
EVENT_TRIGGERS = frozenset(
    {
        Trigger.CONTACT_CREATED,
        Trigger.STAGE_CHANGED,
        Trigger.ORDER_PLACED,
        Trigger.ORDER_DELIVERED,
        Trigger.TICKET_RESOLVED,
        Trigger.SURVEY_ANSWERED,
        Trigger.CONTACT_UPDATED,
    }
)


class ActionType(models.TextChoices):
    CREATE_TASK = "create_task", "Create a task for the owner"
    SEND_EMAIL = "send_email", "Send an e-mail (a campaign as template)"
    CHANGE_STAGE = "change_stage", "Change the lifecycle stage"
    ADD_TAG = "add_tag", "Add a tag"
    SEND_SURVEY = "send_survey", "Send a survey"
    CHANGE_OWNER = "change_owner", "Change the owner"
    ADD_TO_LIST = "add_to_list", "Add to a static list"
    WEBHOOK = "webhook", "Call a webhook"


class RunOutcome(models.TextChoices):
    SUCCEEDED = "succeeded", "Succeeded"
    RETRYING = "retrying", "Failed, will retry"
    FAILED = "failed", "Failed"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SUCCEEDED = "succeeded", "Delivered"
    FAILED = "failed", "Failed"


# Record events sent to webhook endpoints: "<object>.<what happened>".
WEBHOOK_OBJECTS = ("contact", "company", "deal", "order", "ticket")
WEBHOOK_VERBS = ("created", "updated", "deleted")
WEBHOOK_EVENTS = tuple(f"{name}.{verb}" for name in WEBHOOK_OBJECTS for verb in WEBHOOK_VERBS)
