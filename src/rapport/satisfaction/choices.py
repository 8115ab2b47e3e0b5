from django.db import models


class SurveyKind(models.TextChoices):
    CSAT = "csat", "Satisfaction (CSAT)"
    NPS = "nps", "Recommendation (NPS)"


class SourceKind(models.TextChoices):
    """What an invitation was sent after; manual invitations have none."""

    DELIVERY = "delivery", "Delivery"
    TICKET = "ticket", "Resolved ticket"


class InvitationStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    ANSWERED = "answered", "Answered"
    EXPIRED = "expired", "Expired"


class CsatClass(models.TextChoices):
    DISSATISFIED = "dissatisfied", "Dissatisfied"
    SATISFIED = "satisfied", "Satisfied"
    DELIGHTED = "delighted", "Delighted"


class NpsClass(models.TextChoices):
    DETRACTOR = "detractor", "Detractor"
    PASSIVE = "passive", "Passive"
    PROMOTER = "promoter", "Promoter"


# Invitations that may still be answered.
OPEN_STATUSES = frozenset({InvitationStatus.QUEUED, InvitationStatus.SENT})
