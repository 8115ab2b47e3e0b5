"""Deals in global search, by name."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from rapport.sales import queries
from rapport.sales.tables import customer_name
from rapport.search.registry import SearchResult, register


def search_deals(viewer: Any, text: str, limit: int) -> list[SearchResult]:
    rows = queries.deals(viewer).filter(name__icontains=text).order_by("name", "id")[:limit]
    return [
        SearchResult(
            kind="Deal",
            title=deal.name,
            subtitle=f"{customer_name(deal)} · {deal.stage.name} · {deal.amount} {deal.currency}",
            url=reverse("sales:deal", args=[deal.pk]),
        )
        for deal in rows
    ]


register("deals", search_deals)
