"""Surveys in global search, by name (few rows: a contains match is cheap)."""

from __future__ import annotations

from typing import Any

from rapport.satisfaction import queries
from rapport.search.registry import SearchResult, register


def search_surveys(viewer: Any, text: str, limit: int) -> list[SearchResult]:
    rows = queries.surveys(viewer).filter(name__icontains=text).order_by("name", "id")[:limit]
    return [
        SearchResult(
            kind="Survey",
            title=survey.name,
            subtitle=survey.get_kind_display(),
            url=survey.get_absolute_url(),
        )
        for survey in rows
    ]


register("surveys", search_surveys)
