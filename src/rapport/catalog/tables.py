"""The columns users can choose for the product list."""

from __future__ import annotations

from rapport.core.lists import Column, ListSpec

PRODUCTS = ListSpec(
    key="products",
    default_sort="name",
    columns=[
        Column("name", "Name", sort="name"),
        Column("sku", "SKU", sort="sku"),
        Column("category", "Category", sort="category"),
        Column("kind", "Kind", value=lambda row: row.get_kind_display()),
        Column("unit_price", "Price", sort="unit_price"),
        Column("currency", "Currency"),
        Column("active", "Active"),
        Column("service_interval_days", "Service every (days)"),
        Column("warranty_months", "Warranty (months)", default=False),
        Column("renewal_months", "Renews every (months)", default=False),
        Column(
            "upgrade_to",
            "Upgrade",
            value=lambda row: row.upgrade_to.name if row.upgrade_to else "",
            default=False,
        ),
        Column("updated_at", "Updated", sort="updated_at", default=False),
    ],
)
