"""The trading history: orders and their lines, deliveries, and the installed base."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.urls import reverse
from simple_history.models import HistoricalRecords

from rapport.catalog.models import PRICE_DIGITS, Product
from rapport.core.models import CustomerRecord, TimestampedModel, VersionedModel
from rapport.customers.models import Company, Contact
from rapport.trading.choices import DeliveryStatus, OrderStatus

# Totals of many lines need more digits than one price.
TOTAL_DIGITS = PRICE_DIGITS + 4

HAS_CUSTOMER = Q(contact__isnull=False) | Q(company__isnull=False)


class Order(CustomerRecord):
    """An order (or a quote) of a contact and/or a company.

    ``owner`` is the colleague who took it; who may see the order follows its
    customer, not this field (see ``permissions.py``). Totals are stored, in
    the order's currency and in the base currency at the rate of ``order_date``,
    so reports sum columns instead of recomputing lines.
    """

    number = models.CharField(max_length=30, unique=True, editable=False)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="orders"
    )
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.CASCADE, related_name="orders"
    )
    status = models.CharField(max_length=10, choices=OrderStatus.choices, default=OrderStatus.QUOTE)
    order_date = models.DateField()
    currency = models.CharField(max_length=3, help_text="ISO 4217, e.g. EUR")
    subtotal = models.DecimalField(max_digits=TOTAL_DIGITS, decimal_places=2, default=0)
    discount = models.DecimalField(max_digits=TOTAL_DIGITS, decimal_places=2, default=0)
    total = models.DecimalField(max_digits=TOTAL_DIGITS, decimal_places=2, default=0)
    exchange_rate = models.DecimalField(
        max_digits=18, decimal_places=8, default=1, help_text="to the base currency on order_date"
    )
    total_base = models.DecimalField(
        "total in base currency", max_digits=TOTAL_DIGITS, decimal_places=2, default=0
    )
    notes = models.TextField(blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-order_date", "-id"]
        constraints = [
            models.CheckConstraint(condition=HAS_CUSTOMER, name="order_has_customer"),
        ]
        indexes = [
            models.Index(fields=["contact", "-order_date"], name="order_contact_idx"),
            models.Index(fields=["company", "-order_date"], name="order_company_idx"),
            models.Index(fields=["-order_date", "-id"], name="order_date_idx"),
            models.Index(fields=["status", "-order_date"], name="order_status_idx"),
            models.Index(fields=["total_base", "id"], name="order_total_idx"),
            # Segments' order rules (number of orders, total spend, last order) read only this.
            models.Index(
                fields=["contact", "status", "order_date", "total_base"],
                name="order_bought_idx",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(fields=["owner", "-order_date"], name="order_owner_idx"),
            models.Index(fields=["-updated_at", "-id"], name="order_updated_idx"),
        ]

    def __str__(self) -> str:
        return f"Order {self.number}"

    def get_absolute_url(self) -> str:
        return reverse("trading:order", args=[self.pk])

    @property
    def customer(self) -> Contact | Company:
        """Whom the order follows for visibility: its contact, else its company."""
        if self.contact_id is not None:
            assert self.contact is not None
            return self.contact
        assert self.company is not None
        return self.company


class TradingSummary(models.Model):
    """A contact's bought orders (placed, paid, delivered; not in the trash) in one row.

    Segment rules on the number of orders, total spend and last order read
    this instead of grouping millions of orders per count. It is exact, never
    nightly: ``services.refresh_trading_summary`` recomputes the rows of the
    contacts an order write touches, in that write's transaction. Contacts
    who bought nothing have no row.
    """

    contact = models.OneToOneField(
        Contact, on_delete=models.CASCADE, primary_key=True, related_name="trading_summary"
    )
    order_count = models.PositiveIntegerField()
    spend = models.DecimalField(
        "total spend in base currency", max_digits=TOTAL_DIGITS + 6, decimal_places=2
    )
    first_order_date = models.DateField()
    last_order_date = models.DateField()

    class Meta:
        # With the contact last, each rule's range is answered from the index alone.
        indexes = [
            models.Index(fields=["order_count", "contact"], name="summary_orders_idx"),
            models.Index(fields=["spend", "contact"], name="summary_spend_idx"),
            models.Index(fields=["last_order_date", "contact"], name="summary_last_order_idx"),
        ]

    def __str__(self) -> str:
        return f"Trading summary of contact {self.contact_id}"


class OrderLine(models.Model):
    """One product on an order: ``line_total`` = quantity x unit price - discount %, in cents."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_lines")
    description = models.CharField(max_length=300, blank=True)
    quantity = models.DecimalField(max_digits=12, decimal_places=3)
    unit_price = models.DecimalField(max_digits=PRICE_DIGITS, decimal_places=2)
    discount_percent = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    line_total = models.DecimalField(max_digits=TOTAL_DIGITS, decimal_places=2)

    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="order_line_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0) & Q(discount_percent__lte=100),
                name="order_line_discount_percent",
            ),
        ]
        indexes = [models.Index(fields=["product", "order"], name="order_line_product_idx")]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product.name}"


class Delivery(TimestampedModel, VersionedModel):
    """A shipment of an order. It follows its order for who may see and change it."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.SHIPPED
    )
    shipped_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    carrier = models.CharField(max_length=100, blank=True)
    tracking = models.CharField(max_length=100, blank=True, help_text="tracking number")
    notes = models.TextField(blank=True)

    history = HistoricalRecords(excluded_fields=["updated_at", "updated_by", "version"])

    class Meta:
        verbose_name_plural = "deliveries"
        ordering = ["-shipped_at", "-id"]
        indexes = [
            models.Index(fields=["order", "-shipped_at"], name="delivery_order_idx"),
            models.Index(fields=["status", "-shipped_at"], name="delivery_status_idx"),
        ]

    def __str__(self) -> str:
        return f"Delivery of {self.order.number}"

    def get_absolute_url(self) -> str:
        """Deliveries have no page of their own: their row on the order's page."""
        return reverse("trading:order", args=[self.order_id]) + f"#delivery-{self.pk}"


class Asset(CustomerRecord):
    """The installed base: one unit of a product a customer owns.

    ``next_service_due`` is stored (and indexed) so the reminder job finds
    what is due with one range query: last service (or installation, or
    purchase) plus the product's service interval. ``replaced_by`` is set when
    the customer bought the upgrade; a replaced unit is no longer serviced.
    """

    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="assets"
    )
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.CASCADE, related_name="assets"
    )
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="assets")
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="assets"
    )
    order_line = models.ForeignKey(
        OrderLine, null=True, blank=True, on_delete=models.SET_NULL, related_name="assets"
    )
    # Which unit of its order line (1..quantity), so re-running a delivery adds nothing.
    unit = models.PositiveIntegerField(null=True, blank=True, editable=False)
    serial = models.CharField(max_length=100, blank=True)
    bought_on = models.DateField()
    installed_on = models.DateField(null=True, blank=True)
    warranty_end = models.DateField(null=True, blank=True)
    # When the contract or subscription of the unit renews (from the product's term).
    renewal_on = models.DateField(null=True, blank=True)
    last_serviced_on = models.DateField(null=True, blank=True)
    next_service_due = models.DateField(null=True, blank=True)
    replaced_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replaces"
    )
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["next_service_due", "id"]
        constraints = [
            models.CheckConstraint(condition=HAS_CUSTOMER, name="asset_has_customer"),
            models.UniqueConstraint(
                fields=["order_line", "unit"],
                condition=Q(order_line__isnull=False),
                name="asset_one_per_unit",
            ),
        ]
        indexes = [
            # The reminder job: what is due up to a date (live rows only).
            models.Index(
                fields=["next_service_due", "id"],
                condition=Q(deleted_at__isnull=True, next_service_due__isnull=False),
                name="asset_service_due_idx",
            ),
            # The same job, for warranty ends and renewals.
            models.Index(
                fields=["warranty_end", "id"],
                condition=Q(deleted_at__isnull=True, warranty_end__isnull=False),
                name="asset_warranty_end_idx",
            ),
            models.Index(
                fields=["renewal_on", "id"],
                condition=Q(deleted_at__isnull=True, renewal_on__isnull=False),
                name="asset_renewal_idx",
            ),
            models.Index(fields=["contact", "product"], name="asset_contact_idx"),
            models.Index(fields=["company", "product"], name="asset_company_idx"),
            models.Index(fields=["product", "bought_on"], name="asset_product_idx"),
            models.Index(fields=["serial"], name="asset_serial_idx"),
            models.Index(fields=["-bought_on", "-id"], name="asset_bought_idx"),
            models.Index(fields=["-updated_at", "-id"], name="asset_updated_idx"),
        ]

    def __str__(self) -> str:
        serial = f" #{self.serial}" if self.serial else ""
        return f"{self.product.name}{serial}"

    def get_absolute_url(self) -> str:
        return reverse("trading:asset", args=[self.pk])

    @property
    def customer(self) -> Contact | Company:
        if self.contact_id is not None:
            assert self.contact is not None
            return self.contact
        assert self.company is not None
        return self.company
