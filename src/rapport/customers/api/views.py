from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from rapport.core.api.versioning import IF_MATCH_PARAMETER, VersionedRecordMixin
from rapport.core.permissions import Action, may_see_trash
from rapport.customers import queries, services
from rapport.customers.api import serializers as s
from rapport.customers.filtersets import CompanyFilterSet, ContactFilterSet
from rapport.customers.models import Company, Consent, Contact, Tag
from rapport.users.models import signed_in

# Query parameters that are not filters: paging, sort, DRF's format override.
NOT_FILTERS = frozenset({"limit", "cursor", "ordering", "format"})

ETAG_WRITES = extend_schema_view(
    partial_update=extend_schema(parameters=[IF_MATCH_PARAMETER]),
    update=extend_schema(parameters=[IF_MATCH_PARAMETER]),
    destroy=extend_schema(parameters=[IF_MATCH_PARAMETER]),
)


class CustomerViewSet(
    VersionedRecordMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[Any],
):
    """Shared by contacts and companies: same verbs, same rules."""

    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    permission_actions = {
        "stage": Action.CHANGE,
        "tag": Action.CHANGE,
        "untag": Action.CHANGE,
        "consent": Action.CHANGE,
        "restore": Action.DELETE,
        "stage_history": Action.VIEW,
        "trash": Action.DELETE,
        "emails": Action.CHANGE,
        "remove_email": Action.CHANGE,
        "phones": Action.CHANGE,
        "remove_phone": Action.CHANGE,
        "companies": Action.CHANGE,
        "remove_company": Action.CHANGE,
    }
    list_serializer: type[Any]
    detail_serializer: type[Any]
    # The service verbs of this kind of record.
    list_query: Any
    update_service: Any
    trash_service: Any
    restore_service: Any

    def get_serializer_class(self) -> Any:
        return self.list_serializer if self.action == "list" else self.detail_serializer

    def filter_queryset(self, queryset: Any) -> Any:
        """Filters only when the request names some.

        django-filter builds the whole FilterSet (its form, a query for the custom field
        definitions and one for the owner choices) even for a request without filters,
        such as every GET of one record; without any, it returns the same rows.
        """
        if not self.request.query_params.keys() - NOT_FILTERS:
            return queryset
        return super().filter_queryset(queryset)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(self.detail_serializer(self.remember_etag(self.get_object())).data)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        record = self.get_object()
        serializer = self.detail_serializer(record, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        expected = self.expected_version(record)
        updated = type(self).update_service(
            signed_in(request), record, dict(serializer.validated_data), expected_version=expected
        )
        return Response(self.detail_serializer(self.remember_etag(self.refetch(updated))).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Move to the trash; admins can restore it."""
        record = self.get_object()
        type(self).trash_service(
            signed_in(request), record, expected_version=self.expected_version(record)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=False, methods=["get"])
    def trash(self, request: Request) -> Response:
        """Records in the trash (admins)."""
        if not may_see_trash(request.user):
            raise PermissionDenied("Only administrators see the trash.")
        rows = self.paginate_queryset(self.trash_queryset())
        return self.get_paginated_response(self.list_serializer(rows, many=True).data)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def restore(self, request: Request, pk: str) -> Response:
        """Take a record out of the trash (admins)."""
        record = get_object_or_404(self.trash_queryset(), pk=pk)
        type(self).restore_service(signed_in(request), record)
        return self.retrieve(request, pk=pk)

    @extend_schema(request=s.StageChangeSerializer, responses={200: None})
    @action(detail=True, methods=["post"])
    def stage(self, request: Request, pk: str) -> Response:
        """Move to another lifecycle stage; leaving customer needs a reason."""
        record = self.get_object()
        body = s.StageChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.change_stage(
            signed_in(request),
            record,
            body.validated_data["stage"],
            reason=body.validated_data["reason"],
        )
        return self.retrieve(request, pk=pk)

    @extend_schema(request=s.TagChangeSerializer, responses={200: None})
    @action(detail=True, methods=["post"])
    def tag(self, request: Request, pk: str) -> Response:
        body = s.TagChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.tag(signed_in(request), [self.get_object()], body.validated_data["tags"])
        return self.retrieve(request, pk=pk)

    @extend_schema(request=s.TagChangeSerializer, responses={200: None})
    @action(detail=True, methods=["post"])
    def untag(self, request: Request, pk: str) -> Response:
        body = s.TagChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.untag(signed_in(request), [self.get_object()], body.validated_data["tags"])
        return self.retrieve(request, pk=pk)

    @extend_schema(responses=s.LifecycleChangeSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="stage-history")
    def stage_history(self, request: Request, pk: str) -> Response:
        record = self.get_object()
        return Response(s.LifecycleChangeSerializer(queries.stage_history(record), many=True).data)

    def created(self, request: Request, pk: str) -> Response:
        """The record after a part (e-mail, phone, company link) was added to it."""
        response = self.retrieve(request, pk=pk)
        response.status_code = status.HTTP_201_CREATED
        return response

    def refetch(self, record: Any) -> Any:
        return self.get_queryset().get(pk=record.pk)

    def trash_queryset(self) -> Any:
        return type(self).list_query(self.request.user, Action.DELETE, trash=True)


@ETAG_WRITES
class ContactViewSet(CustomerViewSet):
    """People: prospects and customers. Filter like the web list; sort by any listed field."""

    permission_model = Contact
    filterset_class = ContactFilterSet
    ordering_fields = (
        "full_name",
        "last_name",
        "email",
        "created_at",
        "updated_at",
        "last_activity_at",
        "id",
    )
    default_ordering = ("full_name",)
    list_serializer = s.ContactListSerializer
    detail_serializer = s.ContactSerializer
    list_query = staticmethod(queries.contacts)
    update_service = staticmethod(services.update_contact)
    trash_service = staticmethod(services.trash_contact)
    restore_service = staticmethod(services.restore_contact)

    def get_queryset(self) -> Any:
        if self.action == "list":
            return queries.contact_rows(self.request.user)
        if self.action == "retrieve":
            return queries.contact_record(self.request.user)
        return queries.contact_detail(self.request.user)

    def get_serializer_class(self) -> Any:
        if self.action == "create":
            return s.NewContactSerializer
        return super().get_serializer_class()

    @extend_schema(request=s.NewContactSerializer, responses={201: s.ContactSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = s.NewContactSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        data["emails"] = [services.EmailInput(**item) for item in data["emails"]]
        data["phones"] = [services.PhoneInput(**item) for item in data["phones"]]
        data["companies"] = [(item["company"], item["role"]) for item in data["companies"]]
        contact = services.create_contact(signed_in(request), services.ContactInput(**data))
        contact = self.remember_etag(self.refetch(contact))
        return Response(s.ContactSerializer(contact).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.ConsentWriteSerializer, responses=s.ConsentSerializer(many=True))
    @action(detail=True, methods=["post"])
    def consent(self, request: Request, pk: str) -> Response:
        """Grant or withdraw consent for one channel and purpose, with its source."""
        contact = self.get_object()
        body = s.ConsentWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.set_consent(signed_in(request), contact, **body.validated_data)
        return Response(
            s.ConsentSerializer(Consent.objects.filter(contact=contact), many=True).data
        )

    @extend_schema(request=s.ContactEmailSerializer, responses={201: s.ContactSerializer})
    @action(detail=True, methods=["post"])
    def emails(self, request: Request, pk: str) -> Response:
        """Add an e-mail address (refused if another contact has it)."""
        contact = self.get_object()
        body = s.ContactEmailSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        services.add_email(
            signed_in(request),
            contact,
            data["email"],
            label=data["label"],
            primary=data.get("is_primary", False),
        )
        return self.created(request, pk)

    @extend_schema(request=None)
    @action(detail=True, methods=["delete"], url_path=r"emails/(?P<email_id>\d+)")
    def remove_email(self, request: Request, pk: str, email_id: str) -> Response:
        contact = self.get_object()
        services.remove_email(
            signed_in(request), contact, get_object_or_404(contact.emails, pk=email_id)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=s.ContactPhoneSerializer, responses={201: s.ContactSerializer})
    @action(detail=True, methods=["post"])
    def phones(self, request: Request, pk: str) -> Response:
        """Add a phone number (any format; stored as E.164)."""
        contact = self.get_object()
        body = s.ContactPhoneSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        services.add_phone(
            signed_in(request),
            contact,
            data["number"],
            label=data["label"],
            primary=data.get("is_primary", False),
        )
        return self.created(request, pk)

    @extend_schema(request=None)
    @action(detail=True, methods=["delete"], url_path=r"phones/(?P<phone_id>\d+)")
    def remove_phone(self, request: Request, pk: str, phone_id: str) -> Response:
        contact = self.get_object()
        services.remove_phone(
            signed_in(request), contact, get_object_or_404(contact.phones, pk=phone_id)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=s.NewMembershipSerializer, responses={201: s.ContactSerializer})
    @action(detail=True, methods=["post"])
    def companies(self, request: Request, pk: str) -> Response:
        """Link the contact to a company, with their role there."""
        contact = self.get_object()
        body = s.NewMembershipSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        services.add_membership(
            signed_in(request),
            contact,
            body.validated_data["company"],
            role=body.validated_data["role"],
        )
        return self.created(request, pk)

    @extend_schema(request=None)
    @action(detail=True, methods=["delete"], url_path=r"companies/(?P<membership_id>\d+)")
    def remove_company(self, request: Request, pk: str, membership_id: str) -> Response:
        contact = self.get_object()
        services.remove_membership(
            signed_in(request), get_object_or_404(contact.memberships, pk=membership_id)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


@ETAG_WRITES
class CompanyViewSet(CustomerViewSet):
    """Companies (accounts). Their people are at /companies/{id}/contacts."""

    permission_model = Company
    filterset_class = CompanyFilterSet
    ordering_fields = ("name", "domain", "created_at", "updated_at", "id")
    default_ordering = ("name",)
    list_serializer = s.CompanyListSerializer
    detail_serializer = s.CompanySerializer
    list_query = staticmethod(queries.companies)
    update_service = staticmethod(services.update_company)
    trash_service = staticmethod(services.trash_company)
    restore_service = staticmethod(services.restore_company)
    permission_actions = {**CustomerViewSet.permission_actions, "contacts": Action.VIEW}

    def get_queryset(self) -> Any:
        if self.action == "list":
            return queries.company_rows(self.request.user)
        return queries.company_detail(self.request.user)

    def get_serializer_class(self) -> Any:
        if self.action == "create":
            return s.NewCompanySerializer
        return super().get_serializer_class()

    @extend_schema(request=s.NewCompanySerializer, responses={201: s.CompanySerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = s.NewCompanySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        data["custom_fields_values"] = data.pop("custom_fields", {})
        company = services.create_company(signed_in(request), **data)
        company = self.remember_etag(self.refetch(company))
        return Response(s.CompanySerializer(company).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=s.CompanyMembershipSerializer(many=True))
    @action(detail=True, methods=["get"])
    def contacts(self, request: Request, pk: str) -> Response:
        company = self.get_object()
        return Response(
            s.CompanyMembershipSerializer(
                queries.company_members(signed_in(request), company), many=True
            ).data
        )


class TagViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet[Tag]):
    permission_model = Tag
    serializer_class = s.TagSerializer
    ordering_fields = ("name", "id")
    default_ordering = ("name",)

    def get_queryset(self) -> Any:
        return queries.tags(self.request.user)

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = services.create_tag(
            signed_in(self.request), serializer.validated_data["name"]
        )
