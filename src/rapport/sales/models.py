"""The sales pipeline: pipelines of ordered stages, deals moving through them, targets."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from rapport.catalog.models import PRICE_DIGITS, Product
from rapport.core.models import CustomerRecord, TimestampedModel, VersionedModel
from rapport.customers.models import Company, Contact
from rapport.sales.choices import DealSource, DealStatus, StageKind
from rapport.trading.models import TOTAL_DIGITS, Order

HAS_CUSTOMER = Q(contact__isnull=False) | Q(company__isnull=False)
UNAUDITED = ["updated_at", "updated_by", "version"]


class Pipeline(TimestampedModel, VersionedModel):
    """A named sequence of stages; one is the default for new deals."""

    # A migration creates the default pipeline: `rapport demo` still sees an empty Rapport.
    is_set_up_data = True

    name = models.CharField(max_length=100, unique=True)
    is_default = models.BooleanField(default=False)
    position = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)

    history = HistoricalRecords(excluded_fields=UNAUDITED)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="pipeline_one_default"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Stage(TimestampedModel, VersionedModel):
    """One column of a pipeline. ``probability`` (0-100 %) weighs open deals in the forecast."""

    is_set_up_data = True

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0)
    probability = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=4, choices=StageKind.choices, default=StageKind.OPEN)

    history = HistoricalRecords(excluded_fields=UNAUDITED)

    class Meta:
        ordering = ["pipeline", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "name"], name="stage_name_unique"),
            models.CheckConstraint(
                condition=Q(probability__gte=0) & Q(probability__lte=100),
                name="stage_probability_percent",
            ),
        ]
        indexes = [models.Index(fields=["pipeline", "position"], name="stage_position_idx")]

    def __str__(self) -> str:
        return self.name


class Deal(CustomerRecord):
    """A sale being worked on: its customer, value, stage and expected close.

    ``status`` mirrors the stage's kind (stored so lists and reports filter
    won/lost/open with an index); ``amount_base`` is the amount in the base
    currency at the rate of the expected close (of the close day once closed).
    ``last_activity_at`` is when anything last happened to the deal, so stale
    deals are found with one range query.
    """

    name = models.CharField(max_length=200)
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="deals")
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="deals")
    status = models.CharField(max_length=4, choices=DealStatus.choices, default=DealStatus.OPEN)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="deals"
    )
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.CASCADE, related_name="deals"
    )
    # Others on the customer's side (the buyer's boss, the technician); ``contact`` is the main one.
    contacts = models.ManyToManyField(
        Contact, blank=True, related_name="involved_in_deals", help_text="others involved"
    )
    amount = models.DecimalField(max_digits=TOTAL_DIGITS, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, help_text="ISO 4217, e.g. EUR")
    exchange_rate = models.DecimalField(max_digits=18, decimal_places=8, default=1)
    amount_base = models.DecimalField(
        "amount in base currency", max_digits=TOTAL_DIGITS, decimal_places=2, default=0
    )
    expected_close = models.DateField()
    closed_on = models.DateField(null=True, blank=True, editable=False)
    source = models.CharField(max_length=10, choices=DealSource.choices, blank=True)
    lost_reason = models.TextField(blank=True)
    next_step = models.CharField(max_length=200, blank=True)
    next_step_due = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="deals"
    )
    last_activity_at = models.DateTimeField(default=timezone.now, editable=False)
    custom_fields = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["expected_close", "id"]
        constraints = [models.CheckConstraint(condition=HAS_CUSTOMER, name="deal_has_customer")]
        indexes = [
            models.Index(fields=["stage", "status", "id"], name="deal_stage_idx"),
            models.Index(fields=["status", "expected_close"], name="deal_status_close_idx"),
            models.Index(fields=["status", "closed_on"], name="deal_status_closed_idx"),
            models.Index(fields=["owner", "expected_close"], name="deal_owner_idx"),
            models.Index(fields=["contact", "-expected_close"], name="deal_contact_idx"),
            models.Index(fields=["company", "-expected_close"], name="deal_company_idx"),
            models.Index(fields=["expected_close", "id"], name="deal_close_idx"),
            models.Index(fields=["amount_base", "id"], name="deal_amount_idx"),
            models.Index(fields=["name", "id"], name="deal_name_idx"),
            models.Index(fields=["closed_on", "id"], name="deal_closed_idx"),
            models.Index(fields=["source", "expected_close"], name="deal_source_idx"),
            models.Index(fields=["pipeline", "status"], name="deal_pipeline_idx"),
            models.Index(fields=["-updated_at", "-id"], name="deal_updated_idx"),
            models.Index(
                fields=["last_activity_at"],
                condition=Q(status="open", deleted_at__isnull=True),
                name="deal_stale_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def weighted_amount(self) -> Decimal:
        return (self.amount_base * self.stage.probability / 100).quantize(Decimal("0.01"))

    def is_stale(self, days: int) -> bool:
        if self.status != DealStatus.OPEN:
            return False
        return self.last_activity_at < timezone.now() - timedelta(days=days)


class DealLine(models.Model):
    """A product the deal would sell; winning the deal can turn the lines into an order."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="deal_lines")
    description = models.CharField(max_length=300, blank=True)
    quantity = models.DecimalField(max_digits=12, decimal_places=3)
    unit_price = models.DecimalField(max_digits=PRICE_DIGITS, decimal_places=2)
    discount_percent = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    line_total = models.DecimalField(max_digits=TOTAL_DIGITS, decimal_places=2)

    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="deal_line_quantity_positive"),
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0) & Q(discount_percent__lte=100),
                name="deal_line_discount_percent",
            ),
        ]
        indexes = [models.Index(fields=["product", "deal"], name="deal_line_product_idx")]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product.name}"


class StageChange(models.Model):
    """The stage history of a deal: who moved it, when, from where to where."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.ForeignKey(
        Stage, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["deal", "-changed_at"], name="stage_change_deal_idx")]

    def __str__(self) -> str:
        return f"{self.from_stage or '—'} → {self.to_stage}"


class SalesTarget(TimestampedModel, VersionedModel):
    """What one person should win in one month, in the base currency (set by managers)."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sales_targets"
    )
    month = models.DateField(help_text="the first day of the month")
    amount = models.DecimalField(max_digits=TOTAL_DIGITS, decimal_places=2)

    history = HistoricalRecords(excluded_fields=UNAUDITED)

    class Meta:
        ordering = ["month", "owner_id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "month"], name="sales_target_unique"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="sales_target_positive"),
        ]
        indexes = [models.Index(fields=["month", "owner"], name="sales_target_month_idx")]

    def __str__(self) -> str:
        return f"{self.owner} {self.month:%Y-%m}: {self.amount}"
