from django.db import models


class ProductKind(models.TextChoices):
    """Products are goods a customer then owns (installed base); services are work done."""

    PRODUCT = "product", "Product"
    SERVICE = "service", "Service"
