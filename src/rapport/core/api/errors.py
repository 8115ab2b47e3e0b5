"""One error body shape for the whole API: ``{"detail": str, "errors": {field: [str]}}``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from rapport.core.api.versioning import PreconditionFailed
from rapport.core.services import ConflictError


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The record changed since you read it; reload it and try again."
    default_code = "conflict"


# The body of every error response, for the OpenAPI schema.
ERROR_BODY = inline_serializer(
    "Error",
    {
        "detail": serializers.CharField(help_text="What went wrong, in a sentence."),
        "errors": serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()),
            help_text="Messages per field of the request (empty when no field is to blame).",
        ),
    },
)


def exception_handler(error: Exception, context: dict[str, Any]) -> Response | None:
    """Every error body has the same shape: ``{"detail": str, "errors": {field: [str]}}``."""
    if isinstance(error, DjangoValidationError):
        error = exceptions.ValidationError(_django_errors(error))
    elif isinstance(error, DjangoPermissionDenied):
        error = exceptions.PermissionDenied(str(error) or None)
    elif isinstance(error, ConflictError):
        # The If-Match check passed but another writer saved first: for the
        # client that sent If-Match this is the same 412 as a stale ETag.
        error = PreconditionFailed() if _sent_if_match(context) else Conflict(str(error))
    elif isinstance(error, ProtectedError | RestrictedError):
        error = Conflict("Other records still refer to this one; change or remove them first.")
    elif isinstance(error, Http404):
        error = exceptions.NotFound()
    response = drf_exception_handler(error, context)
    if response is None:
        return None
    data = response.data
    if isinstance(error, exceptions.ValidationError):
        errors = data if isinstance(data, dict) else {"non_field_errors": data}
        errors = {str(key): _messages(value) for key, value in errors.items()}
        response.data = {"detail": _summary(errors), "errors": errors}
    else:
        detail = data.get("detail", "") if isinstance(data, dict) else str(data)
        response.data = {"detail": str(detail), "errors": {}}
    return response


def _sent_if_match(context: dict[str, Any]) -> bool:
    request = context.get("request")
    return request is not None and bool(request.headers.get("If-Match", "").strip())


def _summary(errors: dict[str, list[str]]) -> str:
    """``Invalid input. email: Enter a valid e-mail address.`` from the first message."""
    for key, messages in errors.items():
        if messages:
            where = "" if key in ("non_field_errors", "__all__") else f"{key}: "
            return f"Invalid input. {where}{messages[0]}"
    return "Invalid input."


def _django_errors(error: DjangoValidationError) -> dict[str, list[str]] | list[str]:
    if hasattr(error, "error_dict"):
        return {
            ("non_field_errors" if key == "__all__" else key): value
            for key, value in error.message_dict.items()
        }
    return {"non_field_errors": list(error.messages)}


def _messages(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [message for item in value for message in _messages(item)]
    if isinstance(value, dict):
        return [f"{key}: {', '.join(_messages(item))}" for key, item in value.items()]
    return [str(value)]


_ERROR_MEANINGS = {
    400: "Invalid input: `errors` names the fields and what is wrong with them.",
    401: "No valid API token or session.",
    403: "Your role may not do this.",
    404: "No such record, or not one you may see.",
    409: "The record changed or is still in use; reload and try again.",
    412: "If-Match does not match the record's current ETag: read it again first.",
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """``extend_schema(responses={200: ..., **error_responses(400, 404)})``."""
    return {code: OpenApiResponse(ERROR_BODY, description=_ERROR_MEANINGS[code]) for code in codes}
