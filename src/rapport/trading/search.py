"""Orders and units in global search: by order number or serial number (prefix, indexed)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from rapport.search.registry import SearchResult, register
from rapport.trading import queries
from rapport.trading.tables import customer_name


def search_orders(viewer: Any, text: str, limit: int) -> list[SearchResult]:
    rows = queries.orders(viewer).filter(number__startswith=text).order_by("number")[:limit]
    return [
        SearchResult(
            kind="Order",
            title=str(order),
            subtitle=f"{customer_name(order)} · {order.total} {order.currency}",
            url=reverse("trading:order", args=[order.pk]),
        )
        for order in rows
    ]


def search_assets(viewer: Any, text: str, limit: int) -> list[SearchResult]:
    rows = queries.assets(viewer).filter(serial__startswith=text).order_by("serial")[:limit]
    return [
        SearchResult(
            kind="Unit",
            title=str(asset),
            subtitle=customer_name(asset),
            url=reverse("trading:asset", args=[asset.pk]),
        )
        for asset in rows
    ]


register("orders", search_orders)
register("assets", search_assets)
