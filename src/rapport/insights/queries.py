"""Score reads, cut to the contacts the viewer may see."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet, Sum

from rapport.core.permissions import restrict
from rapport.insights.models import CompanyScore, CustomerScore, ModelRun, NextBestOffer, RunStatus


def scores(viewer: Any) -> QuerySet[CustomerScore]:
    return (
        restrict(CustomerScore.objects.all(), viewer)
        .filter(contact__deleted_at__isnull=True)
        .select_related("loyalty_tier")
    )


def company_scores(viewer: Any) -> QuerySet[CompanyScore]:
    return (
        restrict(CompanyScore.objects.all(), viewer)
        .filter(company__deleted_at__isnull=True)
        .select_related("loyalty_tier")
    )


def offers(viewer: Any) -> QuerySet[NextBestOffer]:
    return (
        restrict(NextBestOffer.objects.all(), viewer)
        .filter(contact__deleted_at__isnull=True)
        .select_related("product", "because")
        .order_by("contact", "rank")
    )


def runs(viewer: Any) -> QuerySet[ModelRun]:
    return restrict(ModelRun.objects.all(), viewer)


def latest_run(viewer: Any) -> ModelRun | None:
    return runs(viewer).first()


def last_good_run(viewer: Any) -> ModelRun | None:
    return restrict(ModelRun.objects.filter(status=RunStatus.SUCCEEDED), viewer).first()


def segment_grid(viewer: Any) -> list[dict[str, Any]]:
    """Customers and total lifetime value per recency x frequency-monetary cell."""
    cells = (
        scores(viewer)
        .values("recency_score", "frequency_score", "monetary_score", "segment")
        .annotate(customers=Count("pk"), value=Sum("lifetime_value"))
    )
    return [dict(cell) for cell in cells]
