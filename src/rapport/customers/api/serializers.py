from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, tzinfo
from typing import Any

from django.db import models
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from rapport.customers import queries
from rapport.customers.choices import (
    ConsentChannel,
    ConsentPurpose,
    ContactLabel,
    LifecycleStage,
)
from rapport.customers.models import (
    Address,
    Company,
    Consent,
    Contact,
    ContactEmail,
    ContactPhone,
    LifecycleChange,
    Membership,
    Tag,
)
from rapport.users.models import User

# Reads build each row's JSON in one function instead of DRF's per-field calls (most of
# a 100-row page's time). The declared fields still define the schema and the writes;
# tests compare both outputs field by field.


def _when(value: datetime | None, zone: tzinfo) -> str | None:
    """A timestamp as DRF's DateTimeField writes it: in the current time zone, "Z" for UTC."""
    if value is None:
        return None
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _prefetched_tags(rows: Sequence[models.Model]) -> dict[int, list[str]] | None:
    """Tag names when the rows came with their tags prefetched; None when they did not."""
    cached: list[Any] = [getattr(row, "_prefetched_objects_cache", {}).get("tags") for row in rows]
    if not rows or any(tags is None for tags in cached):
        return None
    return {row.pk: [tag.name for tag in tags] for row, tags in zip(rows, cached, strict=True)}


class TaggedRowsSerializer(serializers.ListSerializer[Any]):
    """A page of contacts or companies: the tags of all rows in one query, then one dict a row."""

    def to_representation(self, data: Any) -> list[dict[str, Any]]:
        rows = list(data.all() if isinstance(data, models.manager.BaseManager) else data)
        child: Any = self.child  # ContactListSerializer or CompanyListSerializer
        names = _prefetched_tags(rows)
        if names is None:
            names = queries.tag_names(child.Meta.model, [row.pk for row in rows])
        zone = timezone.get_current_timezone()
        return [child.row(row, names.get(row.pk, []), zone) for row in rows]


@extend_schema_field(OpenApiTypes.INT)
class OwnerField(serializers.PrimaryKeyRelatedField[User]):
    def get_queryset(self) -> Any:
        return User.objects.filter(is_active=True)


class TagNamesField(serializers.ListField):
    child = serializers.CharField(max_length=60)

    def to_representation(self, data: Any) -> list[str]:
        return [tag.name for tag in data.all()]


class ContactEmailSerializer(serializers.ModelSerializer[ContactEmail]):
    email = serializers.CharField(max_length=254)
    # A field named like a Field attribute: fine at runtime, a clash for the stubs.
    label = serializers.ChoiceField(  # type: ignore[assignment]
        choices=ContactLabel.choices, default=ContactLabel.WORK
    )

    class Meta:
        model = ContactEmail
        fields = ["id", "email", "label", "is_primary"]
        read_only_fields = ["id"]


class ContactPhoneSerializer(serializers.ModelSerializer[ContactPhone]):
    number = serializers.CharField(max_length=40, help_text="Any format; stored as E.164")
    # A field named like a Field attribute: fine at runtime, a clash for the stubs.
    label = serializers.ChoiceField(  # type: ignore[assignment]
        choices=ContactLabel.choices, default=ContactLabel.WORK
    )

    class Meta:
        model = ContactPhone
        fields = ["id", "number", "label", "is_primary"]
        read_only_fields = ["id"]


class AddressSerializer(serializers.ModelSerializer[Address]):
    class Meta:
        model = Address
        fields = ["id", "kind", "street", "postal_code", "city", "region", "country"]
        read_only_fields = fields


class ContactMembershipSerializer(serializers.ModelSerializer[Membership]):
    company_name = serializers.CharField(source="company.name", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "company", "company_name", "role", "is_primary"]
        read_only_fields = ["id", "company_name", "is_primary"]


class CompanyMembershipSerializer(serializers.ModelSerializer[Membership]):
    contact_name = serializers.CharField(source="contact.full_name", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "contact", "contact_name", "role", "is_primary"]
        read_only_fields = fields


class ConsentSerializer(serializers.ModelSerializer[Consent]):
    class Meta:
        model = Consent
        fields = ["channel", "purpose", "status", "changed_at", "source", "evidence"]
        read_only_fields = fields


class ConsentWriteSerializer(serializers.Serializer[Any]):
    channel = serializers.ChoiceField(choices=ConsentChannel.choices)
    purpose = serializers.ChoiceField(choices=ConsentPurpose.choices)
    granted = serializers.BooleanField()
    source = serializers.CharField(max_length=100)  # type: ignore[assignment]
    evidence = serializers.CharField(required=False, allow_blank=True, default="")


class StageChangeSerializer(serializers.Serializer[Any]):
    stage = serializers.ChoiceField(choices=LifecycleStage.choices)
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class LifecycleChangeSerializer(serializers.ModelSerializer[LifecycleChange]):
    changed_by = serializers.CharField(source="changed_by.full_name", default=None, read_only=True)

    class Meta:
        model = LifecycleChange
        fields = ["from_stage", "to_stage", "changed_at", "changed_by", "reason"]
        read_only_fields = fields


class ContactSerializer(serializers.ModelSerializer[Contact]):
    """A contact as read; also the body of PATCH for its own fields."""

    owner = OwnerField(allow_null=True, required=False)
    tags = TagNamesField(read_only=True)
    emails = ContactEmailSerializer(many=True, read_only=True)
    phones = ContactPhoneSerializer(many=True, read_only=True)
    addresses = AddressSerializer(many=True, read_only=True)
    companies = ContactMembershipSerializer(source="memberships", many=True, read_only=True)
    consents = ConsentSerializer(many=True, read_only=True)
    custom_fields = serializers.DictField(required=False)
    external_id = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, max_length=100
    )

    class Meta:
        model = Contact
        fields = [
            "id", "first_name", "last_name", "full_name", "email", "phone", "emails", "phones",
            "addresses", "job_title", "birthday", "language", "time_zone", "source",
            "lifecycle_stage", "owner", "tags", "companies", "consents", "custom_fields",
            "external_id", "notes", "version", "created_at", "updated_at", "last_activity_at",
        ]  # fmt: skip
        read_only_fields = [
            "id", "full_name", "email", "phone", "lifecycle_stage", "version", "created_at",
            "updated_at", "last_activity_at",
        ]  # fmt: skip

    def to_representation(self, instance: Contact) -> dict[str, Any]:
        zone = timezone.get_current_timezone()
        c = instance
        return {
            "id": c.pk,
            "first_name": c.first_name,
            "last_name": c.last_name,
            "full_name": c.full_name,
            "email": c.email,
            "phone": c.phone,
            "emails": [
                {"id": e.pk, "email": e.email, "label": e.label, "is_primary": e.is_primary}
                for e in c.emails.all()
            ],
            "phones": [
                {"id": p.pk, "number": p.number, "label": p.label, "is_primary": p.is_primary}
                for p in c.phones.all()
            ],
            "addresses": [_address(a) for a in c.addresses.all()],
            "job_title": c.job_title,
            "birthday": _day(c.birthday),
            "language": c.language,
            "time_zone": c.time_zone,
            "source": c.source,
            "lifecycle_stage": c.lifecycle_stage,
            "owner": c.owner_id,
            "tags": [tag.name for tag in c.tags.all()],
            "companies": [
                {
                    "id": m.pk,
                    "company": m.company_id,
                    "company_name": m.company.name,
                    "role": m.role,
                    "is_primary": m.is_primary,
                }
                for m in c.memberships.all()
            ],
            "consents": [
                {
                    "channel": consent.channel,
                    "purpose": consent.purpose,
                    "status": consent.status,
                    "changed_at": _when(consent.changed_at, zone),
                    "source": consent.source,
                    "evidence": consent.evidence,
                }
                for consent in c.consents.all()
            ],
            "custom_fields": c.custom_fields,
            "external_id": c.external_id,
            "notes": c.notes,
            "version": c.version,
            "created_at": _when(c.created_at, zone),
            "updated_at": _when(c.updated_at, zone),
            "last_activity_at": _when(c.last_activity_at, zone),
        }


def _address(a: Address) -> dict[str, Any]:
    return {
        "id": a.pk,
        "kind": a.kind,
        "street": a.street,
        "postal_code": a.postal_code,
        "city": a.city,
        "region": a.region,
        "country": a.country,
    }


class ContactListSerializer(serializers.ModelSerializer[Contact]):
    """The columns of a list: no nested rows, so a page costs a fixed number of queries."""

    owner: serializers.PrimaryKeyRelatedField[Any] = serializers.PrimaryKeyRelatedField(
        read_only=True
    )
    tags = TagNamesField(read_only=True)

    class Meta:
        model = Contact
        fields = [
            "id", "full_name", "first_name", "last_name", "email", "phone", "job_title",
            "lifecycle_stage", "owner", "tags", "custom_fields", "version", "created_at",
            "updated_at", "last_activity_at",
        ]  # fmt: skip
        read_only_fields = fields
        list_serializer_class = TaggedRowsSerializer

    def to_representation(self, instance: Contact) -> dict[str, Any]:
        return self.row(
            instance, [tag.name for tag in instance.tags.all()], timezone.get_current_timezone()
        )

    def row(self, c: Contact, tags: list[str], zone: tzinfo) -> dict[str, Any]:
        return {
            "id": c.pk,
            "full_name": c.full_name,
            "first_name": c.first_name,
            "last_name": c.last_name,
            "email": c.email,
            "phone": c.phone,
            "job_title": c.job_title,
            "lifecycle_stage": c.lifecycle_stage,
            "owner": c.owner_id,
            "tags": tags,
            "custom_fields": c.custom_fields,
            "version": c.version,
            "created_at": _when(c.created_at, zone),
            "updated_at": _when(c.updated_at, zone),
            "last_activity_at": _when(c.last_activity_at, zone),
        }


class VisibleCompanyField(serializers.PrimaryKeyRelatedField[Company]):
    """A company id the caller may see; others read as "does not exist"."""

    def get_queryset(self) -> Any:
        request = self.context.get("request")
        return queries.companies(getattr(request, "user", None))


class NewMembershipSerializer(serializers.Serializer[Any]):
    company = VisibleCompanyField(queryset=Company.objects.none())
    role = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")


class NewContactSerializer(serializers.Serializer[Any]):
    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    emails = ContactEmailSerializer(many=True, required=False, default=list)
    phones = ContactPhoneSerializer(many=True, required=False, default=list)
    job_title = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    birthday = serializers.DateField(required=False, allow_null=True, default=None)
    language = serializers.CharField(max_length=10, required=False, allow_blank=True, default="")
    time_zone = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    source = serializers.CharField(  # type: ignore[assignment]
        max_length=100, required=False, allow_blank=True, default=""
    )
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    owner = OwnerField(allow_null=True, required=False, default=None)
    lifecycle_stage = serializers.ChoiceField(
        choices=LifecycleStage.choices, default=LifecycleStage.LEAD
    )
    tags = serializers.ListField(
        child=serializers.CharField(max_length=60), required=False, default=list
    )
    custom_fields = serializers.DictField(required=False, default=dict)
    external_id = serializers.CharField(
        max_length=100, required=False, allow_null=True, default=None
    )
    companies = NewMembershipSerializer(many=True, required=False, default=list)


class CompanySerializer(serializers.ModelSerializer[Company]):
    owner = OwnerField(allow_null=True, required=False)
    tags = TagNamesField(read_only=True)
    addresses = AddressSerializer(many=True, read_only=True)
    custom_fields = serializers.DictField(required=False)
    external_id = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, max_length=100
    )

    class Meta:
        model = Company
        fields = [
            "id", "name", "domain", "industry", "size", "annual_revenue", "currency",
            "lifecycle_stage", "owner", "tags", "addresses", "custom_fields", "external_id",
            "notes", "version", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["id", "lifecycle_stage", "version", "created_at", "updated_at"]


class CompanyListSerializer(serializers.ModelSerializer[Company]):
    owner: serializers.PrimaryKeyRelatedField[Any] = serializers.PrimaryKeyRelatedField(
        read_only=True
    )
    tags = TagNamesField(read_only=True)

    class Meta:
        model = Company
        fields = [
            "id", "name", "domain", "industry", "size", "lifecycle_stage", "owner", "tags",
            "custom_fields", "version", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields
        list_serializer_class = TaggedRowsSerializer

    def to_representation(self, instance: Company) -> dict[str, Any]:
        return self.row(
            instance, [tag.name for tag in instance.tags.all()], timezone.get_current_timezone()
        )

    def row(self, c: Company, tags: list[str], zone: tzinfo) -> dict[str, Any]:
        return {
            "id": c.pk,
            "name": c.name,
            "domain": c.domain,
            "industry": c.industry,
            "size": c.size,
            "lifecycle_stage": c.lifecycle_stage,
            "owner": c.owner_id,
            "tags": tags,
            "custom_fields": c.custom_fields,
            "version": c.version,
            "created_at": _when(c.created_at, zone),
            "updated_at": _when(c.updated_at, zone),
        }


class NewCompanySerializer(CompanySerializer):
    lifecycle_stage = serializers.ChoiceField(
        choices=LifecycleStage.choices, default=LifecycleStage.LEAD
    )
    tags = serializers.ListField(
        child=serializers.CharField(max_length=60), required=False, default=list
    )  # type: ignore[assignment]

    class Meta(CompanySerializer.Meta):
        read_only_fields = ["id", "version", "created_at", "updated_at"]


class TagSerializer(serializers.ModelSerializer[Tag]):
    class Meta:
        model = Tag
        fields = ["id", "name"]
        read_only_fields = ["id"]


class TagChangeSerializer(serializers.Serializer[Any]):
    tags = serializers.ListField(child=serializers.CharField(max_length=60), allow_empty=False)
