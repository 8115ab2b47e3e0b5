"""ETag on reads and If-Match on writes, from each record's ``version``.

A client sends back the ETag it read as ``If-Match``; if somebody saved the
record since, the write answers 412 and changes nothing. Without ``If-Match``
the write applies to whatever version is current (last write wins).
``If-None-Match`` on a read answers 304 when the client's copy is current.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = (
        "The record changed since you read it (If-Match does not match its ETag). "
        "Read it again, then apply your change to the new version."
    )
    default_code = "precondition_failed"


IF_MATCH_PARAMETER = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "ETag from a previous GET; a stale one answers 412 instead of overwriting. "
        "Without it the change applies to the current version (last write wins)."
    ),
)


def etag_of(record: models.Model) -> str:
    return f'"{record.pk}-{getattr(record, "version", 0)}"'


def _tags(header: str) -> list[str]:
    return [tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()]


class VersionedRecordMixin:
    """ETag on reads and If-Match on writes, from the record's ``version`` field."""

    # The view's request. View and APIView declare it differently; Any agrees with both.
    request: Any

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        record = getattr(self, "_etag_record", None)
        if (
            record is not None
            and request.method in ("GET", "HEAD")
            and response.status_code == status.HTTP_200_OK
            and etag_of(record) in _tags(request.headers.get("If-None-Match", ""))
        ):
            response = Response(status=status.HTTP_304_NOT_MODIFIED)
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        if record is not None and response.status_code < 400 and request.method != "DELETE":
            response["ETag"] = etag_of(record)
        return response

    def expected_version(self, record: models.Model) -> int | None:
        """The version the client read, from If-Match; 412 when it is stale."""
        header = self.request.headers.get("If-Match")
        if not header or header.strip() == "*":
            return None
        if etag_of(record) not in _tags(header):
            raise PreconditionFailed
        return int(getattr(record, "version", 0))

    def remember_etag[M: models.Model](self, record: M) -> M:
        self._etag_record = record
        return record
