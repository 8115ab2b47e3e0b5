"""The "Timeline" panel on contact and company pages: every touchpoint, newest first."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import QuerySet
from django.http import QueryDict
from django.urls import reverse

from rapport.core.pagination import KeysetPage, paginate
from rapport.core.permissions import Action, can
from rapport.customers.models import Company, Contact
from rapport.customers.panels import Panel, register
from rapport.interactions import queries
from rapport.interactions.choices import InteractionKind
from rapport.interactions.filtersets import InteractionFilterSet
from rapport.interactions.forms import composer_for
from rapport.interactions.models import Interaction
from rapport.users.models import User

PAGE_SIZE = 20
ORDERING = ("-occurred_at",)

# Outline icons (24 by 24 paths, drawn with the current text colour) per kind.
KIND_ICONS: dict[str, str] = {
    InteractionKind.INQUIRY: (
        "M12 22a10 10 0 1 0 0-20 10 10 0 0 0 0 20zM9.1 9a3 3 0 0 1 5.8 1c0 2-3 3-3 3M12 17h.01"
    ),
    InteractionKind.ORDER: "M6 6h15l-1.5 9h-12zM6 6 5 3H2M9 20h.01M18 20h.01",
    InteractionKind.DELIVERY: (
        "M1 4h14v12H1zM15 9h4l3 3v4h-7zM5 19a2 2 0 1 0 .01 0M18 19a2 2 0 1 0 .01 0"
    ),
    InteractionKind.MAINTENANCE: (
        "M14.7 6.3a1 1 0 0 0 0 1.4l1.6 1.6a1 1 0 0 0 1.4 0l3.8-3.8"
        "a6 6 0 0 1-7.9 7.9l-6.9 6.9a2.1 2.1 0 0 1-3-3l6.9-6.9"
        "a6 6 0 0 1 7.9-7.9z"
    ),
    InteractionKind.UPGRADE: "M12 19V5M5 12l7-7 7 7",
    InteractionKind.SUPPORT: "M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z",
    InteractionKind.EMAIL: "M3 5h18v14H3zM3 5l9 8 9-8",
    InteractionKind.CALL: (
        "M22 16.9v3a2 2 0 0 1-2.2 2 19.8 19.8 0 0 1-8.6-3.1 19.5 19.5 0 0 1-6-6"
        "A19.8 19.8 0 0 1 2.1 4.2 2 2 0 0 1 4.1 2h3a2 2 0 0 1 2 1.7"
        "c.1.9.4 1.8.7 2.7a2 2 0 0 1-.5 2.1L8 9.8a16 16 0 0 0 6 6l1.3-1.3"
        "a2 2 0 0 1 2.1-.4c.9.3 1.8.6 2.7.7a2 2 0 0 1 1.7 2z"
    ),
    InteractionKind.MEETING: (
        "M16 21v-2a4 4 0 0 0-4-4H6a4 4 0 0 0-4 4v2M9 11"
        "a4 4 0 1 0 0-8 4 4 0 0 0 0 8zM22 21v-2a4 4 0 0 0-3-3.9M16 3.1"
        "a4 4 0 0 1 0 7.8"
    ),
    InteractionKind.NOTE: (
        "M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8zM14 2v6h6M8 13h8M8 17h8"
    ),
    InteractionKind.SURVEY: (
        "M12 2l3.1 6.3 6.9 1-5 4.9 1.2 6.8-6.2-3.2-6.2 3.2 1.2-6.8-5-4.9 6.9-1z"
    ),
    InteractionKind.CAMPAIGN: "M3 11l18-5v12L3 14v-3zM11.6 16.8a3 3 0 1 1-5.8-1.6",
    InteractionKind.REMINDER: (
        "M18 8a6 6 0 0 0-12 0c0 7-3 9-3 9h18s-3-2-3-9M13.7 21a2 2 0 0 1-3.4 0"
    ),
    InteractionKind.LIFECYCLE: "M5 12h14M12 5l7 7-7 7",
}


@dataclass(frozen=True)
class Entry:
    """One row of the timeline as the panel shows it."""

    item: Interaction
    icon: str
    source_url: str
    may_change: bool
    may_delete: bool
    # On a company's timeline each row says which of its people it was with.
    on_company: bool = False
    edit_url: str = ""
    delete_url: str = ""


@dataclass(frozen=True)
class TimelinePage:
    entries: list[Entry]
    kind: str  # the kind filter in force, "" for all
    next_url: str
    list_url: str
    log_url: str
    kinds: list[tuple[str, str]]
    error: str = ""


def entries(viewer: User, items: Sequence[Interaction], *, on_company: bool = False) -> list[Entry]:
    """Rows with their icon, source link and what the viewer may do with them."""
    urls = source_urls(items)
    # Each row's links from one reverse() per page (was four {% url %} tags per row).
    edit, delete = (reverse(f"interactions:{verb}", args=[_PK]) for verb in ("edit", "delete"))
    return [
        Entry(
            item=item,
            icon=KIND_ICONS.get(item.kind, KIND_ICONS[InteractionKind.NOTE]),
            source_url=urls.get(item.pk, ""),
            may_change=can(viewer, Action.CHANGE, item),
            may_delete=can(viewer, Action.DELETE, item),
            on_company=on_company,
            edit_url=edit.replace(str(_PK), str(item.pk)),
            delete_url=delete.replace(str(_PK), str(item.pk)),
        )
        for item in items
    ]


_PK = 918273645  # stands for the row's id in a reversed URL


def source_urls(items: Sequence[Interaction]) -> dict[int, str]:
    """Page of each item's source record, where that kind of record has a page.

    One query per kind of source on the page (never per row), and none for
    sources without ``get_absolute_url`` (such as stage changes).
    """
    wanted: dict[type[models.Model], set[int]] = defaultdict(set)
    for item in items:
        model = _source_model(item)
        if model is not None and item.source_id is not None:
            wanted[model].add(item.source_id)
    found: dict[tuple[type[models.Model], int], Any] = {}
    for model, ids in wanted.items():
        for pk, source in model._base_manager.in_bulk(ids).items():
            found[(model, pk)] = source
    urls: dict[int, str] = {}
    for item in items:
        model = _source_model(item)
        record = found.get((model, item.source_id)) if model and item.source_id else None
        if record is not None:
            urls[item.pk] = str(record.get_absolute_url())
    return urls


def _source_model(item: Interaction) -> type[models.Model] | None:
    """The model of the item's source, if records of it have their own page."""
    if item.source_type_id is None or item.source_type is None:
        return None
    model = item.source_type.model_class()
    return model if model is not None and hasattr(model, "get_absolute_url") else None


def list_url(record: Contact | Company, verb: str = "timeline") -> str:
    about = "contact" if isinstance(record, Contact) else "company"
    return reverse(f"interactions:{about}-{verb}", args=[record.pk])


def timeline_page(
    viewer: User, record: Contact | Company, params: QueryDict | None = None
) -> TimelinePage:
    """One page of the record's timeline, filtered by ``kind`` from ``params``."""
    params = params if params is not None else QueryDict()
    kind = params.get("kind", "")
    base = list_url(record)
    rows: QuerySet[Interaction] = queries.timeline(viewer, record)
    only = QueryDict(mutable=True)
    if kind:
        only["kind"] = kind
    filters = InteractionFilterSet(only, queryset=rows)
    error = ""
    if not filters.is_valid():
        error, kind = "There is no such kind of touchpoint; showing all.", ""
    else:
        rows = filters.qs
    try:
        page: KeysetPage[Interaction] = paginate(
            rows, ordering=ORDERING, cursor=params.get("cursor"), limit=PAGE_SIZE
        )
    except ValidationError:  # a stale or foreign cursor: start again from the newest
        page = paginate(rows, ordering=ORDERING, cursor=None, limit=PAGE_SIZE)
    next_url = ""
    if page.next_cursor:
        query = QueryDict(mutable=True)
        if kind:
            query["kind"] = kind
        query["cursor"] = page.next_cursor
        next_url = f"{base}?{query.urlencode()}"
    return TimelinePage(
        entries=entries(viewer, page.items, on_company=isinstance(record, Company)),
        kind=kind,
        next_url=next_url,
        list_url=base,
        log_url=list_url(record, "log"),
        kinds=list(InteractionKind.choices),
        error=error,
    )


def panel_data(viewer: User, record: Contact | Company) -> dict[str, Any] | None:
    if not can(viewer, Action.VIEW, Interaction):
        return None
    return {
        "record": record,
        "notes": record.notes,
        "timeline": timeline_page(viewer, record),
        "composer": composer_for(viewer, record),
    }


register(Panel("timeline", "interactions/_panel.html", panel_data, column="main", order=50))
