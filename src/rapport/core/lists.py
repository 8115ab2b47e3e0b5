"""Web lists: chosen columns, sorting, filters, keyset pages, counts, CSV export.

Each list (contacts, companies, ...) declares a ``ListSpec``; its view calls
``build_list`` with the restricted queryset from its ``queries.py`` and its
FilterSet, so the page, the export and the API filter the same rows.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest, QueryDict, StreamingHttpResponse

from rapport.core.pagination import KeysetPage, paginate

PAGE_SIZES = (25, 50, 100)
# Spreadsheet apps run cells starting with these as formulas (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
STATE_PARAMS = {"cursor", "sort", "cols", "size", "view"}


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    sort: str | None = None
    value: Callable[[Any], Any] | None = None
    default: bool = True

    def value_of(self, row: Any) -> Any:
        if self.value is not None:
            return self.value(row)
        return getattr(row, self.key, "")


@dataclass(frozen=True)
class ListSpec:
    key: str
    columns: Sequence[Column]
    default_sort: str
    extra_columns: Callable[[], Sequence[Column]] = field(default=lambda: ())

    def all_columns(self) -> list[Column]:
        return [*self.columns, *self.extra_columns()]

    def sortable(self, available: Sequence[Column] | None = None) -> dict[str, str]:
        """Sort keys; pass ``available`` when already fetched (custom columns cost a query)."""
        columns = self.all_columns() if available is None else available
        return {column.key: column.sort for column in columns if column.sort}


@dataclass
class ListState:
    spec: ListSpec
    filterset: Any
    page: KeysetPage[Any]
    columns: list[Column]
    available: list[Column]
    sort: str
    size: int
    filter_query: str  # the filters alone, for links that keep them
    state_query: str  # filters + sort + columns + size, for page links
    error: str = ""

    @property
    def sort_key(self) -> str:
        return self.sort.lstrip("-")

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")


def build_list(
    request: HttpRequest, spec: ListSpec, queryset: QuerySet[Any], filterset_class: Any
) -> ListState:
    params = request.GET
    filterset = filterset_class(_filters_only(params), queryset=queryset, request=request)
    available = spec.all_columns()
    # The chooser sends one ``cols`` per ticked box; a saved link may carry "a,b,c".
    columns = _chosen_columns(",".join(params.getlist("cols")), available)
    sortable = spec.sortable(available)
    sort = _chosen_sort(params.get("sort", ""), spec, sortable)
    size = _chosen_size(params.get("size", ""))
    error = ""
    rows = filterset.qs if filterset.is_valid() else queryset.none()
    if not filterset.is_valid():
        error = "Some filters are not valid: " + "; ".join(
            f"{name}: {' '.join(messages)}" for name, messages in filterset.errors.items()
        )
    ordering = _ordering(sortable, sort)
    try:
        page = paginate(rows, ordering=ordering, cursor=params.get("cursor"), limit=size)
    except ValidationError:
        page = paginate(rows, ordering=ordering, cursor=None, limit=size)
    state = params.copy()
    state.pop("cursor", None)
    return ListState(
        spec=spec,
        filterset=filterset,
        page=page,
        columns=columns,
        available=available,
        sort=sort,
        size=size,
        filter_query=_filters_only(params).urlencode(),
        state_query=state.urlencode(),
        error=error,
    )


def count_rows(request: HttpRequest, queryset: QuerySet[Any], filterset_class: Any) -> int | None:
    filterset = filterset_class(_filters_only(request.GET), queryset=queryset, request=request)
    return filterset.qs.count() if filterset.is_valid() else None


def filtered_rows(
    request: HttpRequest,
    spec: ListSpec,
    queryset: QuerySet[Any],
    filterset_class: Any,
    *,
    params: QueryDict | None = None,
) -> QuerySet[Any]:
    """The rows the list shows (for ``params``, default the request's), in its order.

    Exports and "apply to all matching" bulk actions use it.
    """
    params = request.GET if params is None else params
    filterset = filterset_class(_filters_only(params), queryset=queryset, request=request)
    if not filterset.is_valid():
        raise ValidationError(filterset.errors)
    sortable = spec.sortable()
    sort = _chosen_sort(params.get("sort", ""), spec, sortable)
    return filterset.qs.order_by(*_ordering(sortable, sort))


def csv_response(
    filename: str, columns: Sequence[Column], rows: QuerySet[Any], *, chunk_size: int = 2000
) -> StreamingHttpResponse:
    """Stream rows as CSV in constant memory; cells that look like formulas are neutralised."""

    class Echo:
        def write(self, value: str) -> str:
            return value

    writer = csv.writer(Echo())

    def lines() -> Iterator[str]:
        yield "\ufeff"  # BOM: spreadsheet apps then read UTF-8 correctly
        yield writer.writerow([column.label for column in columns])
        for row in rows.iterator(chunk_size=chunk_size):
            yield writer.writerow([safe_cell(column.value_of(row)) for column in columns])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def safe_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Model):
        text = str(value)
    elif isinstance(value, list | tuple | set):
        text = "; ".join(str(item) for item in value)
    else:
        text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def _filters_only(params: QueryDict) -> QueryDict:
    filters = params.copy()
    for name in STATE_PARAMS:
        filters.pop(name, None)
    return filters


def _chosen_columns(raw: str, available: list[Column]) -> list[Column]:
    by_key = {column.key: column for column in available}
    chosen = [by_key[key] for key in raw.split(",") if key in by_key]
    return chosen or [column for column in available if column.default]


def _chosen_sort(raw: str, spec: ListSpec, sortable: dict[str, str]) -> str:
    return raw if raw.lstrip("-") in sortable else spec.default_sort


def _chosen_size(raw: str) -> int:
    return int(raw) if raw.isdigit() and int(raw) in PAGE_SIZES else PAGE_SIZES[1]


def _ordering(sortable: dict[str, str], sort: str) -> list[str]:
    field_name = sortable[sort.lstrip("-")]
    return [f"-{field_name}" if sort.startswith("-") else field_name]
