"""Products in global search: by SKU prefix or name (the catalog is small; no index needed)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.urls import reverse

from rapport.catalog import queries
from rapport.search.registry import SearchResult, register


def search_products(viewer: Any, text: str, limit: int) -> list[SearchResult]:
    rows = (
        queries.products(viewer)
        .filter(Q(sku__istartswith=text) | Q(name__icontains=text))
        .order_by("name", "id")[:limit]
    )
    return [
        SearchResult(
            kind="Product",
            title=product.name,
            subtitle=f"{product.sku} · {product.unit_price} {product.currency}",
            url=reverse("catalog:product", args=[product.pk]),
        )
        for product in rows
    ]


register("products", search_products)
