"""Reads of import and export jobs and saved mappings, restricted to who may see them."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from rapport.core.permissions import Action, restrict
from rapport.dataio.models import ExportJob, ImportJob, ImportRowError, SavedMapping


def jobs(viewer: Any, action: Action = Action.VIEW) -> QuerySet[ImportJob]:
    return restrict(ImportJob.objects.select_related("created_by"), viewer, action)


def mappings(viewer: Any, entity: str | None = None) -> QuerySet[SavedMapping]:
    rows = restrict(SavedMapping.objects.all(), viewer)
    return rows.filter(entity=entity) if entity else rows


def row_errors(job: ImportJob, limit: int = 200) -> list[ImportRowError]:
    return list(job.row_errors.all()[:limit])


def export_jobs(viewer: Any, action: Action = Action.VIEW) -> QuerySet[ExportJob]:
    return restrict(ExportJob.objects.select_related("requested_by"), viewer, action)
