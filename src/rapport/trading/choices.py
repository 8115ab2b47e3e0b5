from django.db import models


class OrderStatus(models.TextChoices):
    QUOTE = "quote", "Quote"
    PLACED = "placed", "Placed"
    PAID = "paid", "Paid"
    DELIVERED = "delivered", "Delivered"
    CANCELLED = "cancelled", "Cancelled"
    RETURNED = "returned", "Returned"


# Where an order may go from each status. Paying and delivering happen in
# either order (invoice on delivery, or prepayment), so "delivered" is reached
# from placed or paid; cancelled and returned are final.
TRANSITIONS: dict[str, frozenset[str]] = {
    OrderStatus.QUOTE: frozenset({OrderStatus.PLACED, OrderStatus.CANCELLED}),
    OrderStatus.PLACED: frozenset({OrderStatus.PAID, OrderStatus.DELIVERED, OrderStatus.CANCELLED}),
    OrderStatus.PAID: frozenset({OrderStatus.DELIVERED, OrderStatus.CANCELLED}),
    OrderStatus.DELIVERED: frozenset({OrderStatus.RETURNED}),
    OrderStatus.CANCELLED: frozenset(),
    OrderStatus.RETURNED: frozenset(),
}

# Lines can be changed only before anything happened that depends on them.
EDITABLE_STATUSES = frozenset({OrderStatus.QUOTE, OrderStatus.PLACED})
# Orders that count as bought (revenue, "total spent", analytics).
BOUGHT_STATUSES = frozenset({OrderStatus.PLACED, OrderStatus.PAID, OrderStatus.DELIVERED})


class DeliveryStatus(models.TextChoices):
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"
