"""Demo: score the demo customers once their orders are in."""

from __future__ import annotations

from rapport.core.demo import DemoContext, register
from rapport.insights import services


@register(90, "customer insights")
def score_demo_customers(context: DemoContext) -> None:
    run = services.refresh_scores(today=context.now.date())
    context.say(f"  scored {run.customers:,} customers from {run.orders:,} orders")
