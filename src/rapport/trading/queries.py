"""Every read of orders, deliveries and assets: cut to the customers the viewer may see.

See ``permissions.py``: the role decides the action, the customer decides the row.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Prefetch, Q, QuerySet, Sum

from rapport.catalog.rates import money
from rapport.core.permissions import Action, Scope, may_see_trash, restrict, scope_for
from rapport.customers import queries as customer_queries
from rapport.customers.models import Company, Contact, Membership
from rapport.trading.choices import BOUGHT_STATUSES
from rapport.trading.models import Asset, Delivery, Order, OrderLine
from rapport.trading.permissions import customer_action


def _visible_customers(viewer: Any, action: Action) -> Q:
    """Rows whose contact (or, without one, company) allows ``action`` to the viewer."""
    if scope_for(viewer, Contact, action) == Scope.ALL == scope_for(viewer, Company, action):
        # Every customer: only the trash hides them. A join the list makes anyway,
        # instead of two IN (all contacts / all companies) subqueries.
        return Q(contact__isnull=False, contact__deleted_at__isnull=True) | Q(
            contact__isnull=True, company__deleted_at__isnull=True
        )
    return Q(customer_queries.contact_visible(viewer, action)) | (
        Q(contact__isnull=True) & Q(customer_queries.company_visible(viewer, action))
    )


def orders(viewer: Any, action: Action = Action.VIEW, *, trash: bool = False) -> QuerySet[Order]:
    """Rows for lists: the customer's name and the taker are shown, so they are joined."""
    if trash and not may_see_trash(viewer):
        return Order.objects.none()
    return (
        restrict(Order.objects.all(), viewer, action, trash=trash)
        .filter(_visible_customers(viewer, customer_action(Order, action)))
        .select_related("contact__owner", "company__owner", "owner")
    )


def order_detail(viewer: Any, action: Action = Action.VIEW) -> QuerySet[Order]:
    """One order with its lines, deliveries and assets in a fixed number of queries."""
    return orders(viewer, action).prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.select_related("product")),
        "deliveries",
        Prefetch("assets", queryset=Asset.objects.live().select_related("product")),
    )


def deliveries(viewer: Any, action: Action = Action.VIEW) -> QuerySet[Delivery]:
    visible = orders(viewer, action).values("pk")
    return (
        restrict(Delivery.objects.all(), viewer, action)
        .filter(order__in=visible)
        .select_related("order__contact__owner", "order__company__owner")
    )


def assets(viewer: Any, action: Action = Action.VIEW, *, trash: bool = False) -> QuerySet[Asset]:
    if trash and not may_see_trash(viewer):
        return Asset.objects.none()
    return (
        restrict(Asset.objects.all(), viewer, action, trash=trash)
        .filter(_visible_customers(viewer, customer_action(Asset, action)))
        .select_related("product", "contact__owner", "company__owner")
    )


def asset_detail(viewer: Any, action: Action = Action.VIEW) -> QuerySet[Asset]:
    return assets(viewer, action).select_related("order", "replaced_by__product")


def _about(record: Contact | Company) -> Q:
    """A contact's own rows; a company's rows and its people's."""
    if isinstance(record, Contact):
        return Q(contact=record)
    people = Membership.objects.filter(company=record).values("contact_id")
    return Q(company=record) | Q(contact__in=people)


def orders_of(viewer: Any, record: Contact | Company) -> QuerySet[Order]:
    return orders(viewer).filter(_about(record)).order_by("-order_date", "-id")


def total_spent(viewer: Any, record: Contact | Company) -> Decimal:
    """What the customer bought (placed, paid, delivered), in the base currency."""
    total = (
        orders_of(viewer, record)
        .filter(status__in=BOUGHT_STATUSES)
        .aggregate(spent=Sum("total_base"))["spent"]
    )
    # SQLite sums decimals without their scale (2000, not 2000.00): back to cents.
    return money(total) if total is not None else Decimal("0.00")


def assets_of(viewer: Any, record: Contact | Company) -> QuerySet[Asset]:
    return assets(viewer).filter(_about(record)).order_by("next_service_due", "id")


def service_due(viewer: Any, until: Any) -> QuerySet[Asset]:
    """Live units due for service on or before ``until`` (the reminder job's query)."""
    return assets(viewer).filter(next_service_due__lte=until).order_by("next_service_due", "id")
