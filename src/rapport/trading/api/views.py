from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from rapport.core.api.versioning import IF_MATCH_PARAMETER, VersionedRecordMixin
from rapport.core.permissions import Action, may_see_trash
from rapport.trading import queries, services
from rapport.trading.api import serializers as s
from rapport.trading.filtersets import AssetFilterSet, DeliveryFilterSet, OrderFilterSet
from rapport.trading.models import Asset, Delivery, Order
from rapport.users.models import signed_in

ETAG_WRITES = extend_schema_view(
    partial_update=extend_schema(parameters=[IF_MATCH_PARAMETER]),
    destroy=extend_schema(parameters=[IF_MATCH_PARAMETER]),
)


def _lines(raw: list[dict[str, Any]]) -> list[services.LineInput]:
    return [services.LineInput(**line) for line in raw]


@ETAG_WRITES
class OrderViewSet(
    VersionedRecordMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[Order],
):
    """Orders and quotes with their lines; status changes and shipments are actions.

    Who may see an order follows its customer (contact, else company).
    """

    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    permission_model = Order
    permission_actions = {
        "status": Action.CHANGE,
        "ship": Action.CHANGE,
        "restore": Action.DELETE,
        "trash": Action.DELETE,
    }
    filterset_class = OrderFilterSet
    ordering_fields = ("order_date", "number", "total_base", "updated_at", "id")
    default_ordering = ("-order_date",)

    def get_queryset(self) -> Any:
        if self.action == "list":
            return queries.orders(self.request.user)
        return queries.order_detail(self.request.user)

    def get_serializer_class(self) -> Any:
        if self.action in ("list", "trash"):
            return s.OrderListSerializer
        if self.action == "create":
            return s.NewOrderSerializer
        if self.action == "partial_update":
            return s.OrderChangeSerializer
        return s.OrderSerializer

    def _read(self, order: Order, *, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.remember_etag(queries.order_detail(self.request.user).get(pk=order.pk))
        return Response(s.OrderSerializer(fresh).data, status=code)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(s.OrderSerializer(self.remember_etag(self.get_object())).data)

    @extend_schema(request=s.NewOrderSerializer, responses={201: s.OrderSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = s.NewOrderSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        data["lines"] = _lines(data["lines"])
        order = services.create_order(signed_in(request), services.OrderInput(**data))
        return self._read(order, code=status.HTTP_201_CREATED)

    @extend_schema(request=s.OrderChangeSerializer, responses={200: s.OrderSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        order = self.get_object()
        body = s.OrderChangeSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        changes = dict(body.validated_data)
        raw_lines = changes.pop("lines", None)
        services.update_order(
            signed_in(request),
            order,
            changes,
            lines=None if raw_lines is None else _lines(raw_lines),
            expected_version=self.expected_version(order),
        )
        return self._read(order)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Move a quote or an undelivered order to the trash."""
        order = self.get_object()
        services.trash_order(
            signed_in(request), order, expected_version=self.expected_version(order)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=s.StatusChangeSerializer,
        responses={200: s.OrderSerializer},
        parameters=[IF_MATCH_PARAMETER],
    )
    @action(detail=True, methods=["post"])
    def status(self, request: Request, pk: str) -> Response:
        """Move the order on: placed, paid, delivered (creates the installed base), cancelled,
        returned. Allowed moves: quote→placed|cancelled, placed→paid|delivered|cancelled,
        paid→delivered|cancelled, delivered→returned."""
        order = self.get_object()
        body = s.StatusChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        services.change_status(
            signed_in(request),
            order,
            data["status"],
            on=data["on"],
            reason=data["reason"],
            expected_version=self.expected_version(order),
        )
        return self._read(order)

    @extend_schema(request=s.ShipSerializer, responses={201: s.DeliverySerializer})
    @action(detail=True, methods=["post"])
    def ship(self, request: Request, pk: str) -> Response:
        """Record a shipment of a placed or paid order; confirm it at /deliveries/{id}/confirm."""
        order = self.get_object()
        body = s.ShipSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        delivery = services.ship_order(signed_in(request), order, **body.validated_data)
        return Response(s.DeliverySerializer(delivery).data, status=status.HTTP_201_CREATED)

    @action(detail=False, methods=["get"])
    def trash(self, request: Request) -> Response:
        """Orders in the trash (admins)."""
        if not may_see_trash(request.user):
            raise PermissionDenied("Only administrators see the trash.")
        rows = self.paginate_queryset(queries.orders(request.user, Action.DELETE, trash=True))
        return self.get_paginated_response(s.OrderListSerializer(rows, many=True).data)

    @extend_schema(request=None, responses={200: s.OrderSerializer})
    @action(detail=True, methods=["post"])
    def restore(self, request: Request, pk: str) -> Response:
        order = get_object_or_404(queries.orders(request.user, Action.DELETE, trash=True), pk=pk)
        services.restore_order(signed_in(request), order)
        return self._read(order)


class DeliveryViewSet(
    VersionedRecordMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[Delivery],
):
    """Shipments of orders (created with POST /orders/{id}/ship)."""

    permission_model = Delivery
    permission_actions = {"confirm": Action.CHANGE, "fail": Action.CHANGE}
    serializer_class = s.DeliverySerializer
    filterset_class = DeliveryFilterSet
    ordering_fields = ("shipped_at", "id")
    default_ordering = ("-shipped_at",)

    def get_queryset(self) -> Any:
        return queries.deliveries(self.request.user)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(s.DeliverySerializer(self.remember_etag(self.get_object())).data)

    @extend_schema(
        request=s.DeliveryConfirmSerializer,
        responses={200: s.DeliverySerializer},
        parameters=[IF_MATCH_PARAMETER],
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, pk: str) -> Response:
        """It arrived: the order becomes delivered and its units join the installed base."""
        delivery = self.get_object()
        body = s.DeliveryConfirmSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.confirm_delivery(
            signed_in(request),
            delivery,
            delivered_at=body.validated_data["delivered_at"],
            expected_version=self.expected_version(delivery),
        )
        return Response(s.DeliverySerializer(self.remember_etag(delivery)).data)

    @extend_schema(
        request=s.DeliveryFailSerializer,
        responses={200: s.DeliverySerializer},
        parameters=[IF_MATCH_PARAMETER],
    )
    @action(detail=True, methods=["post"])
    def fail(self, request: Request, pk: str) -> Response:
        """It did not arrive; the order stays open to ship again."""
        delivery = self.get_object()
        body = s.DeliveryFailSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.fail_delivery(
            signed_in(request),
            delivery,
            notes=body.validated_data["notes"],
            expected_version=self.expected_version(delivery),
        )
        return Response(s.DeliverySerializer(self.remember_etag(delivery)).data)


@ETAG_WRITES
class AssetViewSet(
    VersionedRecordMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[Asset],
):
    """The installed base: units customers own, with warranty and next service due.

    Delivered orders add them; filter ``due=overdue|30|90|none`` or ``due_before``.
    """

    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    permission_model = Asset
    permission_actions = {"record_service": Action.CHANGE}
    filterset_class = AssetFilterSet
    ordering_fields = ("next_service_due", "bought_on", "updated_at", "id")
    default_ordering = ("next_service_due",)

    def get_queryset(self) -> Any:
        if self.action == "list":
            return queries.assets(self.request.user)
        return queries.asset_detail(self.request.user)

    def get_serializer_class(self) -> Any:
        if self.action == "create":
            return s.NewAssetSerializer
        return s.AssetSerializer

    def _read(self, asset: Asset, *, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.remember_etag(queries.asset_detail(self.request.user).get(pk=asset.pk))
        return Response(s.AssetSerializer(fresh).data, status=code)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(s.AssetSerializer(self.remember_etag(self.get_object())).data)

    @extend_schema(request=s.NewAssetSerializer, responses={201: s.AssetSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = s.NewAssetSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        asset = services.create_asset(
            signed_in(request), services.AssetInput(**body.validated_data)
        )
        return self._read(asset, code=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        asset = self.get_object()
        body = s.AssetSerializer(asset, data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        services.update_asset(
            signed_in(request),
            asset,
            dict(body.validated_data),
            expected_version=self.expected_version(asset),
        )
        return self._read(asset)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        asset = self.get_object()
        services.trash_asset(
            signed_in(request), asset, expected_version=self.expected_version(asset)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=s.RecordServiceSerializer, responses={200: s.AssetSerializer})
    @action(detail=True, methods=["post"], url_path="record-service")
    def record_service(self, request: Request, pk: str) -> Response:
        """A maintenance visit: last and next service move; the timeline records it once."""
        asset = self.get_object()
        body = s.RecordServiceSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.record_service(
            signed_in(request),
            asset,
            body.validated_data["on"] or timezone.localdate(),
            body.validated_data["notes"],
        )
        return self._read(asset)

    @action(detail=False, methods=["get"])
    def trash(self, request: Request) -> Response:
        """Units in the trash (admins)."""
        if not may_see_trash(request.user):
            raise PermissionDenied("Only administrators see the trash.")
        rows = self.paginate_queryset(queries.assets(request.user, Action.DELETE, trash=True))
        return self.get_paginated_response(s.AssetSerializer(rows, many=True).data)

    @extend_schema(request=None, responses={200: s.AssetSerializer})
    @action(detail=True, methods=["post"])
    def restore(self, request: Request, pk: str) -> Response:
        asset = get_object_or_404(queries.assets(request.user, Action.DELETE, trash=True), pk=pk)
        services.restore_asset(signed_in(request), asset)
        return self._read(asset)
