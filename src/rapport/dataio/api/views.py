"""Import jobs over the API: upload a file, adjust the mapping, run (dry or not), poll;
and "Export everything" jobs: start, poll, download."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from rapport.core.permissions import Action
from rapport.dataio import queries, services
from rapport.dataio.api import serializers as s
from rapport.dataio.models import ExportJob, ImportJob
from rapport.users.models import signed_in


class ImportJobViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[ImportJob]
):
    """Imports of contacts and companies (admins). Poll a job's ``status`` and ``percent``."""

    permission_model = ImportJob
    permission_actions = {"run": Action.CHANGE}
    serializer_class = s.ImportJobSerializer
    parser_classes = (MultiPartParser, FormParser, JSONParser)
    ordering_fields = ("created_at", "id")
    default_ordering = ("-created_at",)

    def get_queryset(self) -> Any:
        return queries.jobs(self.request.user)

    @extend_schema(request=s.UploadSerializer, responses={201: s.ImportJobSerializer})
    def create(self, request: Request) -> Response:
        """Upload a file; the job comes back with its columns and the proposed mapping."""
        upload = s.UploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        file = upload.validated_data["file"]
        job = services.start_import(
            signed_in(request), entity=upload.validated_data["entity"], upload=file,
            filename=file.name,
        )  # fmt: skip
        return Response(s.ImportJobSerializer(job).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.RunSerializer, responses={202: s.ImportJobSerializer})
    @action(detail=True, methods=["post"])
    def run(self, request: Request, pk: str | None = None) -> Response:
        """Set the mapping (optional) and queue a dry run or the import."""
        job = self.get_object()
        body = s.RunSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = signed_in(request)
        if "columns" in body.validated_data or "match_on" in body.validated_data:
            services.set_mapping(
                user, job, body.validated_data.get("columns", job.columns),
                match_on=body.validated_data.get("match_on", job.match_on),
            )  # fmt: skip
        services.queue_import(user, job, dry_run=body.validated_data["dry_run"])
        job.refresh_from_db()
        return Response(s.ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class ExportJobViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[ExportJob]
):
    """Export everything (admins, managers): start a job, poll ``status`` and ``percent``,
    then fetch the ZIP from ``download_url`` (only the requester and admins may)."""

    permission_model = ExportJob
    permission_actions = {"download": Action.VIEW}
    serializer_class = s.ExportJobSerializer
    parser_classes = (FormParser, JSONParser)
    ordering_fields = ("created_at", "id")
    default_ordering = ("-created_at",)

    def get_queryset(self) -> Any:
        return queries.export_jobs(self.request.user)

    @extend_schema(request=s.StartExportSerializer, responses={202: s.ExportJobSerializer})
    def create(self, request: Request) -> Response:
        """Queue an export of every list the caller may export, one CSV or JSON file each."""
        body = s.StartExportSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        job = services.start_export(signed_in(request), file_type=body.validated_data["file_type"])
        job.refresh_from_db()  # the worker may have run it already
        data = s.ExportJobSerializer(job, context={"request": request}).data
        return Response(data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={(200, "application/zip"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def download(self, request: Request, pk: str | None = None) -> FileResponse:
        """The ZIP; 404 until it is written, after a failure, and once it has expired."""
        job = self.get_object()
        path = services.export_path(job)
        if path is None:
            raise NotFound("This export is not ready, failed, or has expired.")
        return FileResponse(
            path.open("rb"), as_attachment=True, filename=f"rapport-export-{job.pk}.zip",
            content_type="application/zip",
        )  # fmt: skip
