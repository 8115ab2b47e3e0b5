from django.db import models


class StageKind(models.TextChoices):
    """Where a stage leaves a deal: still open, won or lost."""

    OPEN = "open", "Open"
    WON = "won", "Won"
    LOST = "lost", "Lost"


class DealStatus(models.TextChoices):
    OPEN = "open", "Open"
    WON = "won", "Won"
    LOST = "lost", "Lost"


class DealSource(models.TextChoices):
    WEBSITE = "website", "Website"
    REFERRAL = "referral", "Referral"
    EVENT = "event", "Event"
    CAMPAIGN = "campaign", "Campaign"
    COLD_CALL = "cold_call", "Cold call"
    PARTNER = "partner", "Partner"
    EXISTING = "existing", "Existing customer"
    OTHER = "other", "Other"


# The pipeline every Rapport starts with (data migration and first use).
DEFAULT_PIPELINE = "Sales"
DEFAULT_STAGES: tuple[tuple[str, int, str], ...] = (
    ("Qualification", 10, StageKind.OPEN),
    ("Needs analysis", 25, StageKind.OPEN),
    ("Proposal", 50, StageKind.OPEN),
    ("Negotiation", 75, StageKind.OPEN),
    ("Won", 100, StageKind.WON),
    ("Lost", 0, StageKind.LOST),
)
