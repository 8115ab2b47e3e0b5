"""The columns users can choose for the order and installed-base lists."""

from __future__ import annotations

from typing import Any

from rapport.core.lists import Column, ListSpec


def customer_name(row: Any) -> str:
    names = [str(record) for record in (row.contact, row.company) if record is not None]
    return " · ".join(names)


ORDERS = ListSpec(
    key="orders",
    default_sort="-order_date",
    columns=[
        Column("number", "Number", sort="number"),
        Column("order_date", "Date", sort="order_date"),
        Column("customer", "Customer", value=customer_name),
        Column("status", "Status", value=lambda row: row.get_status_display()),
        Column("total", "Total", sort="total"),
        Column("currency", "Currency"),
        Column("total_base", "Total (base currency)", sort="total_base"),
        Column("owner", "Taken by", value=lambda row: row.owner.full_name if row.owner else ""),
        Column("updated_at", "Updated", sort="updated_at", default=False),
    ],
)

ASSETS = ListSpec(
    key="assets",
    default_sort="next_service_due",
    columns=[
        Column("product", "Product", value=lambda row: row.product.name),
        Column("serial", "Serial", sort="serial"),
        Column("customer", "Customer", value=customer_name),
        Column("bought_on", "Bought", sort="bought_on"),
        Column("installed_on", "Installed", sort="installed_on", default=False),
        Column("warranty_end", "Warranty until", sort="warranty_end", default=False),
        Column("renewal_on", "Renews on", sort="renewal_on", default=False),
        Column("last_serviced_on", "Last service", sort="last_serviced_on"),
        Column("next_service_due", "Next service due", sort="next_service_due"),
    ],
)
