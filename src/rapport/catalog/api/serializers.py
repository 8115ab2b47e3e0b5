from __future__ import annotations

from typing import Any

from rest_framework import serializers

from rapport.catalog import queries
from rapport.catalog.choices import ProductKind
from rapport.catalog.models import ExchangeRate, Product

# drf-spectacular names enum components after the field ("kind", "status") and
# warns when one name carries different choice sets in several components; so
# each choice set appears in one serializer (the detail one) and the others say
# the values in their help text (the service validates them).
KIND_VALUES = " or ".join(ProductKind.values)


class VisibleProductField(serializers.PrimaryKeyRelatedField[Product]):
    """A product id the caller may see; others read as "does not exist"."""

    def get_queryset(self) -> Any:
        request = self.context.get("request")
        return queries.products(getattr(request, "user", None))


class ProductSerializer(serializers.ModelSerializer[Product]):
    """A product as read; also the body of PATCH."""

    upgrade_to = VisibleProductField(
        queryset=Product.objects.none(), allow_null=True, required=False
    )
    related = VisibleProductField(queryset=Product.objects.none(), many=True, required=False)
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=True)

    class Meta:
        model = Product
        fields = [
            "id", "sku", "name", "category", "description", "kind", "unit_price", "currency",
            "active", "service_interval_days", "warranty_months", "renewal_months", "upgrade_to",
            "related",
            "version", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["id", "version", "created_at", "updated_at"]


class ProductListSerializer(serializers.ModelSerializer[Product]):
    """List columns: no many-to-many, so a page costs a fixed number of queries."""

    kind = serializers.CharField(read_only=True, help_text=KIND_VALUES)

    class Meta:
        model = Product
        fields = [
            "id", "sku", "name", "category", "kind", "unit_price", "currency", "active",
            "service_interval_days", "warranty_months", "renewal_months", "upgrade_to", "version",
            "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class NewProductSerializer(ProductSerializer):
    kind = serializers.CharField(
        max_length=10, required=False, default=ProductKind.PRODUCT, help_text=KIND_VALUES
    )
    currency = serializers.CharField(max_length=3, required=False, allow_blank=True, default="")


class ExchangeRateSerializer(serializers.ModelSerializer[ExchangeRate]):
    rate = serializers.DecimalField(
        max_digits=18, decimal_places=8, help_text="1 unit of currency in the base currency"
    )

    class Meta:
        model = ExchangeRate
        fields = ["id", "currency", "rate", "valid_from", "version", "created_at", "updated_at"]
        read_only_fields = ["id", "version", "created_at", "updated_at"]
        # POSTing a currency and day that exists corrects that rate (the service upserts).
        validators: list[Any] = []
