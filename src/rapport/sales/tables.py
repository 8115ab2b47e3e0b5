"""The columns users can choose for the deal list (and its CSV export)."""

from __future__ import annotations

from typing import Any

from rapport.core.lists import Column, ListSpec


def customer_name(row: Any) -> str:
    names = [str(record) for record in (row.contact, row.company) if record is not None]
    return " · ".join(names)


def stale_mark(row: Any) -> str:
    from rapport.sales.services import stale_days

    return "Stale" if row.is_stale(stale_days()) else ""


DEALS = ListSpec(
    key="deals",
    default_sort="expected_close",
    columns=[
        Column("name", "Deal", sort="name"),
        Column("customer", "Customer", value=customer_name),
        Column("stage", "Stage", value=lambda row: row.stage.name),
        Column("status", "Status", value=lambda row: row.get_status_display()),
        # Sorted in the base currency, so deals in different currencies compare.
        Column("amount", "Amount", sort="amount_base"),
        Column("currency", "Currency"),
        Column("amount_base", "Amount (base currency)", sort="amount_base", default=False),
        Column("expected_close", "Expected close", sort="expected_close"),
        Column("owner", "Owner", value=lambda row: row.owner.full_name if row.owner else ""),
        Column("next_step", "Next step"),
        Column("stale", "Stale", value=stale_mark),
        Column("source", "Source", value=lambda row: row.get_source_display(), default=False),
        Column("closed_on", "Closed on", sort="closed_on", default=False),
        Column("lost_reason", "Lost reason", default=False),
        Column("updated_at", "Updated", sort="updated_at", default=False),
    ],
)
