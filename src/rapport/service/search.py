"""Tickets in global search: by reference (T-123, #T-123, 123) or words of the subject."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from rapport.search.registry import SearchResult, register
from rapport.service import queries
from rapport.service.filtersets import REFERENCE
from rapport.service.tables import customer_name


def search_tickets(viewer: Any, text: str, limit: int) -> list[SearchResult]:
    rows = queries.tickets(viewer)
    match = REFERENCE.match(text)
    if match:
        rows = rows.filter(pk=int(match.group(1)))
    elif len(text) >= 3:
        rows = rows.filter(subject__icontains=text).order_by("-id")
    else:
        return []
    return [
        SearchResult(
            kind="Ticket",
            title=str(ticket),
            subtitle=f"{ticket.get_status_display()} · {customer_name(ticket)}",
            url=reverse("service:ticket", args=[ticket.pk]),
        )
        for ticket in rows[:limit]
    ]


register("tickets", search_tickets)
