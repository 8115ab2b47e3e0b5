"""Scores per customer from the last analytics refresh, and the refreshes themselves."""

from __future__ import annotations

from django.db import models

from rapport.customers.models import Company, Contact
from rapport.insights.rfm import SEGMENT_LABELS


class RunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class ModelRun(models.Model):
    """One analytics refresh: when, on how much data, the fitted models and their checks."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.RUNNING)
    customers = models.PositiveIntegerField(default=0)
    orders = models.PositiveIntegerField(default=0)
    # Fitted parameters, log-likelihoods, holdout comparison, skipped rows, warnings.
    diagnostics = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["status", "-started_at"], name="insights_run_status_idx")]

    def __str__(self) -> str:
        return f"Refresh {self.started_at:%Y-%m-%d %H:%M} ({self.get_status_display()})"


class TierSatisfaction(models.TextChoices):
    """How satisfied a customer must be for a tier, from their latest CSAT and NPS answers."""

    ANY = "", "Any"
    NOT_UNHAPPY = "not_unhappy", "Not unhappy (no dissatisfied or detractor answer)"
    SATISFIED = "satisfied", "Satisfied or better, by an answer"
    DELIGHTED = "delighted", "Delighted or promoter"


class LoyaltyTier(models.Model):
    """A loyalty level customers reach by predicted value and time with us, set by admins."""

    name = models.CharField(max_length=50, unique=True)
    min_lifetime_value = models.DecimalField(
        max_digits=16, decimal_places=2, default=0, help_text="in the base currency"
    )
    min_tenure_days = models.PositiveIntegerField(default=0, help_text="days since first order")
    min_satisfaction = models.CharField(
        max_length=20, choices=TierSatisfaction.choices, default="", blank=True
    )
    privileges = models.TextField(blank=True, help_text="What staff offer customers of this tier")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-min_lifetime_value", "-min_tenure_days", "name"]

    def __str__(self) -> str:
        return self.name


SEGMENT_CHOICES = [(str(segment), label) for segment, label in SEGMENT_LABELS.items()]


class Scores(models.Model):
    """What a customer is worth and how likely they are still with us (the shared columns)."""

    first_order_on = models.DateField()
    last_order_on = models.DateField()
    purchases = models.PositiveIntegerField(help_text="days with a purchase")
    spend = models.DecimalField(max_digits=16, decimal_places=2, help_text="base currency")
    recency_days = models.PositiveIntegerField()
    recency_score = models.PositiveSmallIntegerField()
    frequency_score = models.PositiveSmallIntegerField()
    monetary_score = models.PositiveSmallIntegerField()
    segment = models.CharField(max_length=20, choices=SEGMENT_CHOICES)
    # Model outputs; NULL when the data could not support the model.
    expected_purchases = models.FloatField(null=True, help_text="over the horizon")
    p_alive = models.FloatField(null=True)
    churn_risk = models.FloatField(null=True)
    expected_order_value = models.DecimalField(max_digits=16, decimal_places=2, null=True)
    lifetime_value = models.DecimalField(max_digits=16, decimal_places=2, null=True)
    value_percentile = models.FloatField(null=True)
    valuable_at_risk = models.BooleanField(default=False)
    recent_spend = models.DecimalField(
        max_digits=16, decimal_places=2, default=0, help_text="last 365 days, base currency"
    )
    loyalty_tier = models.ForeignKey(
        LoyaltyTier, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        abstract = True


class CustomerScore(Scores):
    """A contact's scores from their own orders (one row per buyer)."""

    contact = models.OneToOneField(
        Contact, primary_key=True, on_delete=models.CASCADE, related_name="score"
    )
    # No index: a refresh replaces every row, so all rows name the same run.
    run = models.ForeignKey(
        ModelRun, on_delete=models.CASCADE, related_name="scores", db_index=False
    )
    # Recent spend against the customer's estimated annual spend in our category.
    share_of_business = models.FloatField(null=True)

    class Meta:
        indexes = [
            models.Index(fields=["segment"], name="score_segment_idx"),
            models.Index(fields=["-lifetime_value"], name="score_value_idx"),
            models.Index(fields=["-churn_risk"], name="score_churn_idx"),
            models.Index(fields=["valuable_at_risk"], name="score_at_risk_idx"),
            models.Index(fields=["-expected_purchases"], name="score_expected_idx"),
        ]

    def __str__(self) -> str:
        return f"Scores of contact {self.contact_id}"


class CompanyScore(Scores):
    """A company's scores from every order placed for it, by any of its people."""

    company = models.OneToOneField(
        Company, primary_key=True, on_delete=models.CASCADE, related_name="score"
    )
    run = models.ForeignKey(
        ModelRun, on_delete=models.CASCADE, related_name="company_scores", db_index=False
    )

    class Meta:
        indexes = [
            models.Index(fields=["segment"], name="company_score_segment_idx"),
            models.Index(fields=["-lifetime_value"], name="company_score_value_idx"),
            models.Index(fields=["-churn_risk"], name="company_score_churn_idx"),
            models.Index(fields=["valuable_at_risk"], name="company_score_at_risk_idx"),
        ]

    def __str__(self) -> str:
        return f"Scores of company {self.company_id}"


class OfferReason(models.TextChoices):
    SERVICE_DUE = "service_due", "Service due"
    UPGRADE = "upgrade", "Newer model"
    CO_PURCHASE = "co_purchase", "Bought together"


class NextBestOffer(models.Model):
    """One of a contact's best offers from the last refresh, with the reason to give."""

    # Its index is the unique (contact, rank) one, which starts with the contact.
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="offers", db_index=False
    )
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    rank = models.PositiveSmallIntegerField()
    score = models.FloatField()
    reason = models.CharField(max_length=20, choices=OfferReason.choices)
    # When the unit behind a service offer is due (shown in the explanation).
    due_on = models.DateField(null=True, blank=True)
    because = models.ForeignKey(
        "catalog.Product", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    run = models.ForeignKey(
        ModelRun, on_delete=models.CASCADE, related_name="offers", db_index=False
    )

    class Meta:
        ordering = ["contact", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["contact", "rank"], name="offer_rank_unique"),
        ]

    def __str__(self) -> str:
        return f"Offer {self.product_id} to contact {self.contact_id}"

    @property
    def explanation(self) -> str:
        """What staff say, in current product names (load ``product`` and ``because``)."""
        owned = self.because.name if self.because else "a product they have"
        if self.reason == OfferReason.SERVICE_DUE:
            due = f" on {self.due_on:%d %b %Y}" if self.due_on else " soon"
            return f"Service of their {owned} is due{due}."
        if self.reason == OfferReason.UPGRADE:
            return f"Their {owned} has a newer model: {self.product.name}."
        return f"Customers who bought {owned} also bought {self.product.name}."


class OfferRule(models.Model):
    """Who may be offered a product or a category, set by admins (personal-data rules).

    A product covered by rules is offered only to contacts who meet every one
    of them. In a rule, an empty list allows anyone; a filled one requires a
    match: the contact's language (``de`` also matches ``de-AT``), a postal
    address in one of the countries, or an RFM segment from the last refresh.
    """

    product = models.ForeignKey(
        "catalog.Product", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    category = models.CharField(max_length=100, blank=True)
    languages = models.JSONField(default=list, blank=True)
    countries = models.JSONField(default=list, blank=True)
    segments = models.JSONField(default=list, blank=True)
    note = models.CharField(max_length=300, blank=True, help_text="why, for colleagues")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["category", "product__name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(product__isnull=False) & models.Q(category=""))
                | (models.Q(product__isnull=True) & ~models.Q(category="")),
                name="offer_rule_product_or_category",
            )
        ]

    def __str__(self) -> str:
        return f"Offer rule for {self.product or self.category}"


class OfferAction(models.Model):
    """Someone acted on an offer (a task to follow it up): not offered again for a while."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="offer_actions")
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, default="task")
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        "users.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["contact", "-created_at"], name="offer_action_idx")]

    def __str__(self) -> str:
        return f"{self.kind} on offer {self.product_id} for contact {self.contact_id}"
