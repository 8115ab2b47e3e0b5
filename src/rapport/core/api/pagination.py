"""Keyset pagination for API lists (``?limit=&cursor=&ordering=``)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from rapport.core.pagination import KeysetPage, normalise_ordering, paginate

if TYPE_CHECKING:
    from rest_framework.views import APIView


class KeysetPagination(BasePagination):
    """``?limit=&cursor=&ordering=`` on every list; the view names its allowed orderings."""

    default_limit = 50
    max_limit = 500

    page: KeysetPage[Any] | None = None
    request: Request | None = None

    def paginate_queryset(
        self, queryset: Any, request: Request, view: APIView | None = None
    ) -> list[Any]:
        self.request = request
        limit = self._limit(request)
        ordering = self._ordering(request, view)
        try:
            ordering = normalise_ordering(queryset.model, ordering)
        except DjangoValidationError as error:
            raise exceptions.ValidationError({"ordering": error.messages}) from None
        try:
            self.page = paginate(
                queryset, ordering=ordering, cursor=request.query_params.get("cursor"), limit=limit
            )
        except DjangoValidationError as error:
            raise exceptions.ValidationError({"cursor": error.messages}) from None
        return self.page.items

    def _limit(self, request: Request) -> int:
        raw = request.query_params.get("limit")
        if raw is None:
            return self.default_limit
        try:
            limit = int(raw)
        except ValueError:
            raise exceptions.ValidationError({"limit": ["A whole number is required."]}) from None
        if not 1 <= limit <= self.max_limit:
            raise exceptions.ValidationError(
                {"limit": [f"Must be between 1 and {self.max_limit}."]}
            )
        return limit

    def _ordering(self, request: Request, view: APIView | None) -> Sequence[str]:
        allowed: Sequence[str] = getattr(view, "ordering_fields", ())
        default: Sequence[str] = getattr(view, "default_ordering", ("pk",))
        raw = request.query_params.get("ordering")
        terms = [term.strip() for term in (raw or "").split(",") if term.strip()]
        if not terms:
            return default
        unknown = [term for term in terms if term.removeprefix("-") not in allowed]
        if unknown:
            raise exceptions.ValidationError(
                {
                    "ordering": [
                        f"Cannot sort by {', '.join(unknown)}; use one of {', '.join(allowed)}."
                    ]
                }
            )
        return terms

    def _link(self, cursor: str | None) -> str | None:
        if cursor is None or self.request is None:
            return None
        return replace_query_param(self.request.build_absolute_uri(), "cursor", cursor)

    def get_paginated_response(self, data: Any) -> Response:
        assert self.page is not None
        return Response(
            OrderedDict(
                next=self._link(self.page.next_cursor),
                previous=self._link(self.page.previous_cursor),
                results=data,
            )
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        allowed = ", ".join(getattr(view, "ordering_fields", ()))
        return [
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_limit},
                "description": f"Page size, 1 to {self.max_limit} (default {self.default_limit}).",
            },
            {
                "name": "cursor",
                "in": "query",
                "required": False,
                "schema": {"type": "string"},
                "description": "Opaque cursor from the previous response's next/previous link.",
            },
            {
                "name": "ordering",
                "in": "query",
                "required": False,
                "schema": {"type": "string"},
                "description": f"Comma-separated sort fields, '-' for descending: {allowed}.",
            },
        ]
