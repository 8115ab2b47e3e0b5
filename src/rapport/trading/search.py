"""Orders and units in global search: by order number or serial number (prefix, indexed)."""

from __future__ import annotations

import re
from typing import Any

from django.db import connection
from django.db.models import Q
from django.urls import reverse

from rapport.search.registry import SearchResult, register
from rapport.trading import queries
from rapport.trading.tables import customer_name

# Order numbers are "<year>-<sequence>" (services._next_number), nothing else.
ORDER_NUMBER_PREFIX = re.compile(r"[0-9][0-9-]*")
# Past every character a number can hold, so [text, text + this) is exactly the prefix range.
AFTER_EVERY_CHARACTER = "\U0010ffff"


def search_orders(viewer: Any, text: str, limit: int) -> list[SearchResult]:
    # A name or an e-mail address can never be the start of an order number: asking
    # anyway cost a scan of every order on SQLite, whose LIKE ignores case and so
    # cannot use the number index. A range on the number can (SQLite compares bytes);
    # PostgreSQL answers LIKE from the pattern index Django gives unique text columns,
    # and a range there would depend on the database's collation.
    if not ORDER_NUMBER_PREFIX.fullmatch(text):
        return []
    if connection.vendor == "sqlite":
        prefix = Q(number__gte=text, number__lt=text + AFTER_EVERY_CHARACTER)
    else:
        prefix = Q(number__startswith=text)
    rows = queries.orders(viewer).filter(prefix).order_by("number")[:limit]
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
