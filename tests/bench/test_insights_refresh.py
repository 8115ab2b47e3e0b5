"""The analytics refresh benchmark on a few hundred contacts, so that it never rots.

No timing is asserted (the figures come from running the script): the data
set must be built as described, with its bad data, and one measured run must
report every stage and score exactly the customers the orders say.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from django.db.models import Count

from rapport.catalog.models import Product
from rapport.customers.models import Contact
from rapport.insights.models import CustomerScore, NextBestOffer
from rapport.trading.choices import BOUGHT_STATUSES
from rapport.trading.models import Order, OrderLine

ROOT = Path(__file__).resolve().parents[2]


def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "bench_insights_refresh", ROOT / "bench" / "insights_refresh.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_insights_refresh"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.django_db
def test_the_benchmark_builds_its_data_and_measures_a_refresh() -> None:
    bench = script()
    bench.build(contacts=400, orders=3000, products=40)

    assert Contact.objects.count() == 400
    assert Product.objects.count() == 40
    bought = Order.objects.filter(status__in=BOUGHT_STATUSES)
    assert bought.count() == 3000
    assert Order.objects.exclude(status__in=BOUGHT_STATUSES).exists()  # cancelled, returned
    assert bought.filter(total_base__lt=0).exists()  # credit notes
    assert bought.filter(order_date__gt=bench.TODAY).exists()
    assert OrderLine.objects.count() > Order.objects.count()
    # Skewed: some buy once, the heaviest buyer far more than the typical one.
    counts = dict(bought.values_list("contact").annotate(n=Count("id")).values_list("contact", "n"))
    per_contact = sorted(counts.get(pk, 0) for pk in Contact.objects.values_list("pk", flat=True))
    assert per_contact[0] == 0  # never bought
    assert 1 in per_contact
    assert per_contact[-1] > 4 * per_contact[len(per_contact) // 2]

    figures = bench.measure()

    usable = bought.filter(deleted_at__isnull=True, order_date__lte=bench.TODAY, total_base__gte=0)
    assert figures["customers"] == usable.values("contact").distinct().count()
    assert CustomerScore.objects.count() == figures["customers"]
    assert NextBestOffer.objects.count() == figures["offers"] > 0
    assert set(figures["stages"]) == {"reading orders", "scoring", "choosing offers", "writing"}
    assert figures["peak_mb"] > 0
    assert figures["baseline_groups"] > 0
    summary = bench.summarise([figures, figures])
    assert summary["wall_s"] == figures["wall_s"]
    assert "peak memory" in bench._summary_text(summary, type("Args", (), {"contacts": 400})())
