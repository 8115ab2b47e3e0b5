"""What we sell (products and services) and what other currencies are worth."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.urls import reverse
from simple_history.models import HistoricalRecords

from rapport.catalog.choices import ProductKind
from rapport.core.models import SoftDeleteModel, TimestampedModel, VersionedModel

# Money is Decimal everywhere: 12 digits with cents covers any price we sell at.
PRICE_DIGITS = 12


class Product(TimestampedModel, VersionedModel, SoftDeleteModel):
    """A product or service of the catalog.

    No owner: the catalog is shared by everyone (see ``permissions.py``).
    ``service_interval_days`` drives maintenance reminders of the installed
    base; ``upgrade_to`` names the successor offered to owners of this one.
    """

    sku = models.CharField("SKU", max_length=50, unique=True, help_text="e.g. BOIL-24KW")
    name = models.CharField(max_length=200)
    category = models.CharField(max_length=100, blank=True)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=10, choices=ProductKind.choices, default=ProductKind.PRODUCT)
    unit_price = models.DecimalField(max_digits=PRICE_DIGITS, decimal_places=2)
    currency = models.CharField(max_length=3, help_text="ISO 4217, e.g. EUR")
    active = models.BooleanField(default=True, help_text="Inactive products cannot be ordered")
    service_interval_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Days between maintenance visits; empty: none needed"
    )
    warranty_months = models.PositiveSmallIntegerField(null=True, blank=True)
    renewal_months = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Months a contract or subscription runs before it renews; empty: none",
    )
    upgrade_to = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="upgrades_from",
        help_text="The successor offered to owners of this product",
    )
    related = models.ManyToManyField(
        "self", blank=True, help_text="Complementary products (accessories, consumables)"
    )

    history = HistoricalRecords(excluded_fields=["updated_at", "updated_by", "version"])

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="product_price_not_negative"
            ),
            models.CheckConstraint(
                condition=~Q(upgrade_to=models.F("id")), name="product_not_its_own_upgrade"
            ),
        ]
        indexes = [
            models.Index(fields=["name", "id"], name="product_name_idx"),
            models.Index(fields=["category", "name"], name="product_category_idx"),
            models.Index(fields=["kind", "name"], name="product_kind_idx"),
            models.Index(fields=["unit_price", "id"], name="product_price_idx"),
            models.Index(fields=["-updated_at", "-id"], name="product_updated_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"

    def get_absolute_url(self) -> str:
        return reverse("catalog:product", args=[self.pk])


class ExchangeRate(TimestampedModel, VersionedModel):
    """One ``currency`` is worth ``rate`` of settings.BASE_CURRENCY from ``valid_from`` on.

    A rate holds until the next one of the same currency; conversions use the
    latest rate on or before the date (``catalog.rates.to_base``).
    """

    currency = models.CharField(max_length=3, help_text="ISO 4217, e.g. USD")
    rate = models.DecimalField(max_digits=18, decimal_places=8)
    valid_from = models.DateField()

    history = HistoricalRecords(excluded_fields=["updated_at", "updated_by", "version"])

    class Meta:
        ordering = ["currency", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["currency", "valid_from"], name="exchange_rate_unique"),
            models.CheckConstraint(condition=Q(rate__gt=0), name="exchange_rate_positive"),
        ]

    def __str__(self) -> str:
        return f"1 {self.currency} = {self.rate} from {self.valid_from}"
