from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from rapport.catalog.api.serializers import VisibleProductField
from rapport.catalog.models import Product
from rapport.customers import queries as customer_queries
from rapport.customers.api.serializers import OwnerField, VisibleCompanyField
from rapport.customers.models import Company, Contact
from rapport.trading.choices import OrderStatus
from rapport.trading.models import Asset, Delivery, Order, OrderLine

# One serializer per choice set carries the enum (see catalog.api.serializers).
STATUS_VALUES = ", ".join(OrderStatus.values)


def money_field(help_text: str = "") -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=16, decimal_places=2, read_only=True, help_text=help_text or None
    )


class VisibleContactField(serializers.PrimaryKeyRelatedField[Contact]):
    """A contact id the caller may see; others read as "does not exist"."""

    def get_queryset(self) -> Any:
        request = self.context.get("request")
        return customer_queries.contacts(getattr(request, "user", None))


class OrderLineSerializer(serializers.ModelSerializer[OrderLine]):
    product_name = serializers.CharField(source="product.name", read_only=True)
    sku = serializers.CharField(source="product.sku", read_only=True)

    class Meta:
        model = OrderLine
        fields = [
            "id", "position", "product", "sku", "product_name", "description", "quantity",
            "unit_price", "discount_percent", "line_total",
        ]  # fmt: skip
        read_only_fields = fields


class LineWriteSerializer(serializers.Serializer[Any]):
    product = VisibleProductField(queryset=Product.objects.none())
    quantity = serializers.DecimalField(max_digits=12, decimal_places=3, min_value=Decimal("0.001"))
    unit_price = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        required=False,
        allow_null=True,
        default=None,
        help_text="Omit to take the product's price (converted to the order's currency)",
    )
    discount_percent = serializers.DecimalField(
        max_digits=5, decimal_places=2, required=False, default=Decimal(0)
    )
    description = serializers.CharField(
        max_length=300, required=False, allow_blank=True, default=""
    )


class DeliverySerializer(serializers.ModelSerializer[Delivery]):
    order_number = serializers.CharField(source="order.number", read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id", "order", "order_number", "status", "shipped_at", "delivered_at", "carrier",
            "tracking", "notes", "version", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class OrderSerializer(serializers.ModelSerializer[Order]):
    """An order as read, with its lines and deliveries."""

    lines = OrderLineSerializer(many=True, read_only=True)
    deliveries = DeliverySerializer(many=True, read_only=True)
    owner: serializers.PrimaryKeyRelatedField[Any] = serializers.PrimaryKeyRelatedField(
        read_only=True
    )
    subtotal = money_field()
    discount = money_field()
    total = money_field()
    total_base = money_field("The total in the base currency at the rate of order_date")

    class Meta:
        model = Order
        fields = [
            "id", "number", "contact", "company", "status", "order_date", "currency", "subtotal",
            "discount", "total", "exchange_rate", "total_base", "owner", "notes", "lines",
            "deliveries", "status_changed_at", "version", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class OrderListSerializer(serializers.ModelSerializer[Order]):
    status = serializers.CharField(read_only=True, help_text=STATUS_VALUES)

    class Meta:
        model = Order
        fields = [
            "id", "number", "contact", "company", "status", "order_date", "currency", "total",
            "total_base", "owner", "version", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class NewOrderSerializer(serializers.Serializer[Any]):
    contact = VisibleContactField(
        queryset=Contact.objects.none(), required=False, allow_null=True, default=None
    )
    company = VisibleCompanyField(
        queryset=Company.objects.none(), required=False, allow_null=True, default=None
    )
    lines = LineWriteSerializer(many=True)
    order_date = serializers.DateField(required=False, allow_null=True, default=None)
    currency = serializers.CharField(max_length=3, required=False, allow_blank=True, default="")
    status = serializers.CharField(
        max_length=10, required=False, default=OrderStatus.PLACED, help_text="quote or placed"
    )
    owner = OwnerField(allow_null=True, required=False, default=None)
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class OrderChangeSerializer(serializers.Serializer[Any]):
    """PATCH: any of these; ``lines`` replaces all lines (quotes and placed orders only)."""

    contact = VisibleContactField(queryset=Contact.objects.none(), required=False, allow_null=True)
    company = VisibleCompanyField(queryset=Company.objects.none(), required=False, allow_null=True)
    lines = LineWriteSerializer(many=True, required=False)
    order_date = serializers.DateField(required=False)
    currency = serializers.CharField(max_length=3, required=False)
    owner = OwnerField(allow_null=True, required=False)
    notes = serializers.CharField(required=False, allow_blank=True)


class StatusChangeSerializer(serializers.Serializer[Any]):
    status = serializers.CharField(max_length=10, help_text=STATUS_VALUES)
    on = serializers.DateField(
        required=False, allow_null=True, default=None, help_text="The day it happened (today)"
    )
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class ShipSerializer(serializers.Serializer[Any]):
    carrier = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    tracking = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    shipped_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class DeliveryConfirmSerializer(serializers.Serializer[Any]):
    delivered_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class DeliveryFailSerializer(serializers.Serializer[Any]):
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class AssetSerializer(serializers.ModelSerializer[Asset]):
    """A unit of the installed base as read; also the body of PATCH."""

    product_name = serializers.CharField(source="product.name", read_only=True)

    class Meta:
        model = Asset
        fields = [
            "id", "contact", "company", "product", "product_name", "order", "serial",
            "bought_on", "installed_on", "warranty_end", "renewal_on", "last_serviced_on",
            "next_service_due", "replaced_by", "notes", "version", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = [
            "id", "contact", "company", "product", "product_name", "order", "replaced_by",
            "version", "created_at", "updated_at",
        ]  # fmt: skip


class NewAssetSerializer(serializers.Serializer[Any]):
    product = VisibleProductField(queryset=Product.objects.none())
    contact = VisibleContactField(
        queryset=Contact.objects.none(), required=False, allow_null=True, default=None
    )
    company = VisibleCompanyField(
        queryset=Company.objects.none(), required=False, allow_null=True, default=None
    )
    serial = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    bought_on = serializers.DateField()
    installed_on = serializers.DateField(required=False, allow_null=True, default=None)
    warranty_end = serializers.DateField(required=False, allow_null=True, default=None)
    renewal_on = serializers.DateField(
        required=False, allow_null=True, default=None, help_text="default: bought_on + product term"
    )
    last_serviced_on = serializers.DateField(required=False, allow_null=True, default=None)
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class RecordServiceSerializer(serializers.Serializer[Any]):
    on = serializers.DateField(required=False, allow_null=True, default=None, help_text="today")
    notes = serializers.CharField(required=False, allow_blank=True, default="")
