"""Customer reminders as the API shows them (read-only: the daily job writes them)."""

from __future__ import annotations

from rest_framework import serializers

from rapport.reminders.models import ServiceReminder


class ServiceReminderSerializer(serializers.ModelSerializer[ServiceReminder]):
    product = serializers.IntegerField(source="asset.product_id", read_only=True)
    customer_contact = serializers.IntegerField(
        source="asset.contact_id", read_only=True, allow_null=True
    )
    customer_company = serializers.IntegerField(
        source="asset.company_id", read_only=True, allow_null=True
    )

    class Meta:
        model = ServiceReminder
        fields = [
            "id", "asset", "product", "customer_contact", "customer_company", "kind",
            "due_date", "status", "attempts", "next_attempt_at", "last_attempt_at",
            "last_error", "skip_reason", "sent_at", "contact", "recipient", "interaction",
            "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields
