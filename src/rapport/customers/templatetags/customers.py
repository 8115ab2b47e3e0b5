from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.utils import formats, timezone

from rapport.core.lists import Column, ListState

register = template.Library()


@register.simple_tag
def cell(column: Column, row: Any) -> str:
    value = column.value_of(row)
    if value is None or value == "":
        return "—"
    if isinstance(value, datetime):
        return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


@register.simple_tag
def sort_query(state: ListState, column: Column) -> str:
    """The list's query with this column as the sort (toggling direction)."""
    params: dict[str, list[str]] = {}
    for part in state.state_query.split("&"):
        if part and not part.startswith("sort="):
            key, _, value = part.partition("=")
            params.setdefault(key, []).append(value)
    ascending = state.sort_key != column.key or state.descending
    sort = column.key if ascending else f"-{column.key}"
    parts = [f"{key}={value}" for key, values in params.items() for value in values]
    return "&".join([*parts, f"sort={sort}"])
