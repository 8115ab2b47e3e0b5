from __future__ import annotations

from typing import Any

from django.urls import reverse
from rest_framework import serializers

from rapport.dataio import mapping
from rapport.dataio.choices import MatchOn
from rapport.dataio.models import ExportFormat, ExportJob, ImportJob, ImportRowError


class ImportRowErrorSerializer(serializers.ModelSerializer[ImportRowError]):
    class Meta:
        model = ImportRowError
        fields = ("row_number", "column", "reason")


class ImportJobSerializer(serializers.ModelSerializer[ImportJob]):
    percent = serializers.IntegerField(read_only=True)
    row_errors = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = (
            "id", "entity", "filename", "file_format", "encoding", "delimiter", "headers",
            "columns", "match_on", "dry_run", "status", "message", "total_rows",
            "processed_rows", "committed_rows", "percent", "created", "updated", "skipped",
            "invalid", "created_at", "started_at", "finished_at", "row_errors",
        )  # fmt: skip
        read_only_fields = fields

    def get_row_errors(self, job: ImportJob) -> list[dict[str, Any]]:
        """The first 100 invalid rows; the web page's CSV download has every one."""
        rows = job.row_errors.all()[:100]
        return list(ImportRowErrorSerializer(rows, many=True).data)


class UploadSerializer(serializers.Serializer[Any]):
    entity = serializers.ChoiceField(choices=mapping.IMPORT_ENTITIES)
    file = serializers.FileField()


class RunSerializer(serializers.Serializer[Any]):
    dry_run = serializers.BooleanField(default=True)
    columns = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)
    match_on = serializers.ChoiceField(choices=MatchOn.choices, required=False)


class ExportJobSerializer(serializers.ModelSerializer[ExportJob]):
    percent = serializers.IntegerField(read_only=True)
    requested_by = serializers.EmailField(source="requested_by.email", read_only=True, default="")
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ExportJob
        fields = (
            "id", "status", "file_type", "requested_by", "entities", "total_rows",
            "written_rows", "percent", "file_size", "error", "created_at", "started_at",
            "finished_at", "expires_at", "download_url",
        )  # fmt: skip
        read_only_fields = fields

    def get_download_url(self, job: ExportJob) -> str | None:
        """Where the ZIP is fetched (the same token or session), once it is written."""
        from rapport.dataio import services

        if services.export_path(job) is None:
            return None
        path = reverse("export-job-download", args=[job.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class StartExportSerializer(serializers.Serializer[Any]):
    file_type = serializers.ChoiceField(choices=ExportFormat.choices, default=ExportFormat.CSV)
