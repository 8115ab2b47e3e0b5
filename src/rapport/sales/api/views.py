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
from rapport.sales import queries, services
from rapport.sales.api import serializers as s
from rapport.sales.filtersets import DealFilterSet
from rapport.sales.models import Deal, Pipeline
from rapport.users.models import signed_in

ETAG_WRITES = extend_schema_view(
    partial_update=extend_schema(parameters=[IF_MATCH_PARAMETER]),
    destroy=extend_schema(parameters=[IF_MATCH_PARAMETER]),
)


def _lines(raw: list[dict[str, Any]]) -> list[services.LineInput]:
    return [services.LineInput(**line) for line in raw]


class PipelineViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Pipeline]
):
    """Pipelines with their stages in order (shaped by admins in the web settings)."""

    permission_model = Pipeline
    serializer_class = s.PipelineSerializer
    ordering_fields = ("position", "name", "id")
    default_ordering = ("position",)

    def get_queryset(self) -> Any:
        return queries.pipelines(self.request.user)


@ETAG_WRITES
class DealViewSet(
    VersionedRecordMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[Deal],
):
    """Deals of the sales pipeline. Stage changes go through ``move``."""

    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    permission_model = Deal
    permission_actions = {"move": Action.CHANGE, "restore": Action.DELETE, "trash": Action.DELETE}
    filterset_class = DealFilterSet
    ordering_fields = ("expected_close", "name", "amount_base", "updated_at", "closed_on", "id")
    default_ordering = ("expected_close",)

    def get_queryset(self) -> Any:
        if self.action == "list":
            return queries.deals(self.request.user)
        return queries.deal_detail(self.request.user)

    def get_serializer_class(self) -> Any:
        if self.action in ("list", "trash"):
            return s.DealListSerializer
        if self.action == "create":
            return s.NewDealSerializer
        if self.action == "partial_update":
            return s.DealChangeSerializer
        return s.DealSerializer

    def _read(self, deal: Deal, *, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.remember_etag(queries.deal_detail(self.request.user).get(pk=deal.pk))
        return Response(s.DealSerializer(fresh).data, status=code)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(s.DealSerializer(self.remember_etag(self.get_object())).data)

    @extend_schema(request=s.NewDealSerializer, responses={201: s.DealSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = s.NewDealSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        data["lines"] = _lines(data["lines"])
        deal = services.create_deal(signed_in(request), services.DealInput(**data))
        return self._read(deal, code=status.HTTP_201_CREATED)

    @extend_schema(request=s.DealChangeSerializer, responses={200: s.DealSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        deal = self.get_object()
        body = s.DealChangeSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        changes = dict(body.validated_data)
        raw_lines = changes.pop("lines", None)
        services.update_deal(
            signed_in(request),
            deal,
            changes,
            lines=None if raw_lines is None else _lines(raw_lines),
            expected_version=self.expected_version(deal),
        )
        return self._read(deal)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Move the deal to the trash."""
        deal = self.get_object()
        services.trash_deal(signed_in(request), deal, expected_version=self.expected_version(deal))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=s.MoveSerializer, responses={200: s.DealSerializer}, parameters=[IF_MATCH_PARAMETER]
    )
    @action(detail=True, methods=["post"])
    def move(self, request: Request, pk: str) -> Response:
        """Move the deal to another stage of its pipeline. Lost needs ``lost_reason``; won
        closes the deal, makes its contact and company customers and, with
        ``create_order``, places an order of its lines (``order`` in the answer)."""
        deal = self.get_object()
        body = s.MoveSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        data = body.validated_data
        services.move_deal(
            signed_in(request),
            deal,
            data["stage"],
            lost_reason=data["lost_reason"],
            create_order=data["create_order"],
            note=data["note"],
            expected_version=self.expected_version(deal),
        )
        return self._read(deal)

    @action(detail=False, methods=["get"])
    def trash(self, request: Request) -> Response:
        """Deals in the trash (admins)."""
        if not may_see_trash(request.user):
            raise PermissionDenied("Only administrators see the trash.")
        rows = self.paginate_queryset(queries.deals(request.user, Action.DELETE, trash=True))
        return self.get_paginated_response(s.DealListSerializer(rows, many=True).data)

    @extend_schema(request=None, responses={200: s.DealSerializer})
    @action(detail=True, methods=["post"])
    def restore(self, request: Request, pk: str) -> Response:
        deal = get_object_or_404(queries.deals(request.user, Action.DELETE, trash=True), pk=pk)
        services.restore_deal(signed_in(request), deal)
        return self._read(deal)
