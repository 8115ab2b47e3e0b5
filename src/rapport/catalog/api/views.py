from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from rapport.catalog import queries, services
from rapport.catalog.api import serializers as s
from rapport.catalog.filtersets import ExchangeRateFilterSet, ProductFilterSet
from rapport.catalog.models import ExchangeRate, Product
from rapport.core.api.versioning import IF_MATCH_PARAMETER, VersionedRecordMixin
from rapport.core.permissions import Action, may_see_trash
from rapport.users.models import signed_in

ETAG_WRITES = extend_schema_view(
    partial_update=extend_schema(parameters=[IF_MATCH_PARAMETER]),
    destroy=extend_schema(parameters=[IF_MATCH_PARAMETER]),
)


@ETAG_WRITES
class ProductViewSet(
    VersionedRecordMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[Product],
):
    """The catalog: products and services. Everyone reads it; admins and managers change it."""

    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    permission_model = Product
    permission_actions = {"restore": Action.DELETE, "trash": Action.DELETE}
    filterset_class = ProductFilterSet
    ordering_fields = ("name", "sku", "category", "unit_price", "updated_at", "id")
    default_ordering = ("name",)

    def get_queryset(self) -> Any:
        if self.action == "list":
            return queries.products(self.request.user)
        return queries.product_detail(self.request.user)

    def get_serializer_class(self) -> Any:
        if self.action in ("list", "trash"):
            return s.ProductListSerializer
        if self.action == "create":
            return s.NewProductSerializer
        return s.ProductSerializer

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        product = self.remember_etag(self.get_object())
        return Response(s.ProductSerializer(product, context=self.get_serializer_context()).data)

    @extend_schema(request=s.NewProductSerializer, responses={201: s.ProductSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = s.NewProductSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        product = services.create_product(signed_in(request), services.ProductInput(**data))
        product = self.remember_etag(self.get_queryset().get(pk=product.pk))
        return Response(
            s.ProductSerializer(product, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        product = self.get_object()
        body = s.ProductSerializer(
            product, data=request.data, partial=True, context=self.get_serializer_context()
        )
        body.is_valid(raise_exception=True)
        services.update_product(
            signed_in(request),
            product,
            dict(body.validated_data),
            expected_version=self.expected_version(product),
        )
        product = self.remember_etag(self.get_queryset().get(pk=product.pk))
        return Response(s.ProductSerializer(product, context=self.get_serializer_context()).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Move to the trash; orders and assets keep naming it."""
        product = self.get_object()
        services.trash_product(
            signed_in(request), product, expected_version=self.expected_version(product)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=False, methods=["get"])
    def trash(self, request: Request) -> Response:
        """Products in the trash (admins)."""
        if not may_see_trash(request.user):
            raise PermissionDenied("Only administrators see the trash.")
        rows = self.paginate_queryset(queries.products(request.user, Action.DELETE, trash=True))
        return self.get_paginated_response(s.ProductListSerializer(rows, many=True).data)

    @extend_schema(request=None, responses={200: s.ProductSerializer})
    @action(detail=True, methods=["post"])
    def restore(self, request: Request, pk: str) -> Response:
        """Take a product out of the trash (admins)."""
        product = get_object_or_404(
            queries.products(request.user, Action.DELETE, trash=True), pk=pk
        )
        services.restore_product(signed_in(request), product)
        return self.retrieve(request, pk=pk)


@ETAG_WRITES
class ExchangeRateViewSet(
    VersionedRecordMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[ExchangeRate],
):
    """What one unit of a currency is worth in the base currency, from a day on.

    Conversions use the latest rate on or before the day; POSTing a rate for a
    currency and day that exists corrects it.
    """

    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    permission_model = ExchangeRate
    serializer_class = s.ExchangeRateSerializer
    filterset_class = ExchangeRateFilterSet
    ordering_fields = ("currency", "valid_from", "id")
    default_ordering = ("currency", "-valid_from")

    def get_queryset(self) -> Any:
        return queries.exchange_rates(self.request.user)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(s.ExchangeRateSerializer(self.remember_etag(self.get_object())).data)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = s.ExchangeRateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        rate = services.set_exchange_rate(signed_in(request), **body.validated_data)
        self.remember_etag(rate)
        return Response(s.ExchangeRateSerializer(rate).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        rate = self.get_object()
        body = s.ExchangeRateSerializer(rate, data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        changes = {k: v for k, v in body.validated_data.items() if k in ("rate", "valid_from")}
        services.update_exchange_rate(
            signed_in(request), rate, changes, expected_version=self.expected_version(rate)
        )
        return Response(s.ExchangeRateSerializer(self.remember_etag(rate)).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        rate = self.get_object()
        self.expected_version(rate)
        services.delete_exchange_rate(signed_in(request), rate)
        return Response(status=status.HTTP_204_NO_CONTENT)
