"""Every read of the catalog, restricted to what the viewer may see."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from rapport.catalog.models import ExchangeRate, Product
from rapport.core.permissions import Action, may_see_trash, restrict


def products(
    viewer: Any, action: Action = Action.VIEW, *, trash: bool = False
) -> QuerySet[Product]:
    """Rows for lists; the upgrade's name is shown, so it is joined."""
    if trash and not may_see_trash(viewer):
        return Product.objects.none()
    return restrict(Product.objects.select_related("upgrade_to"), viewer, action, trash=trash)


def product_detail(viewer: Any, action: Action = Action.VIEW) -> QuerySet[Product]:
    return products(viewer, action).prefetch_related("related", "upgrades_from")


def orderable_products(viewer: Any) -> QuerySet[Product]:
    """What can go on an order line: live and active."""
    return products(viewer).filter(active=True)


def exchange_rates(viewer: Any, action: Action = Action.VIEW) -> QuerySet[ExchangeRate]:
    return restrict(ExchangeRate.objects.all(), viewer, action)
