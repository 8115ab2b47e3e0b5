from __future__ import annotations

from typing import Any

from rest_framework import serializers

from rapport.dataio import mapping
from rapport.dataio.choices import MatchOn
from rapport.dataio.models import ImportJob, ImportRowError


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
