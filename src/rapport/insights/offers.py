"""Next best offers for every buyer: services due, newer models, then co-purchases.

Reads orders, products and the installed base; the maths is in ``recommend``.
Called by ``services.refresh_scores`` inside its transaction.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np
from django.utils import timezone

from rapport.catalog.choices import ProductKind
from rapport.catalog.models import Product
from rapport.insights import recommend
from rapport.insights.models import ModelRun, NextBestOffer, OfferAction, OfferReason
from rapport.trading.choices import BOUGHT_STATUSES
from rapport.trading.models import Asset, OrderLine

OFFERS_PER_CUSTOMER = 5
SERVICE_WINDOW_DAYS = 60
# An offer someone acted on (a follow-up task) is not made again within this time.
QUIET_DAYS = 90
# Time split for the reported evaluation: learn from all but the last half year.
EVALUATION_DAYS = 182


@dataclass(frozen=True)
class Candidate:
    product: int
    score: float
    reason: OfferReason
    explanation: str
    because: int | None


def build_offers(run: ModelRun, today: date) -> dict[str, float | int | str]:
    """Replace every contact's offers; returns the evaluation for the run's diagnostics."""
    products = {
        p.pk: p
        for p in Product.objects.filter(deleted_at__isnull=True).only(
            "id", "name", "active", "kind", "upgrade_to_id"
        )
    }
    if not products:
        NextBestOffer.objects.all().delete()
        return {"note": "No products in the catalog."}
    lines = np.array(
        list(
            OrderLine.objects.filter(
                order__status__in=BOUGHT_STATUSES,
                order__deleted_at__isnull=True,
                order__contact__isnull=False,
                order__order_date__lte=today,
            ).values_list("order__contact_id", "product_id", "order__order_date")
        ),
        dtype=object,
    ).reshape(-1, 3)
    assets = list(
        Asset.objects.filter(deleted_at__isnull=True, contact__isnull=False).values_list(
            "contact_id", "product_id", "next_service_due"
        )
    )
    contact_ids = sorted({int(c) for c in lines[:, 0]} | {int(contact) for contact, _, _ in assets})
    product_ids = sorted(products)
    contact_index = {pk: i for i, pk in enumerate(contact_ids)}
    product_index = {pk: i for i, pk in enumerate(product_ids)}
    rows = np.array([contact_index[int(c)] for c in lines[:, 0]], dtype=np.int64)
    cols = np.array([product_index.get(int(p), -1) for p in lines[:, 1]], dtype=np.int64)
    known = cols >= 0
    shape = {"customers": len(contact_ids), "products": len(product_ids)}
    bought = recommend.purchase_matrix(rows[known], cols[known], **shape)
    owned_rows = [contact_index[c] for c, p, _ in assets if p in product_index]
    owned_cols = [product_index[p] for c, p, _ in assets if p in product_index]
    owned = recommend.purchase_matrix(owned_rows, owned_cols, **shape)
    quiet_rows, quiet_cols = _recently_acted_on(contact_index, product_index, today)
    exclude = owned + recommend.purchase_matrix(quiet_rows, quiet_cols, **shape)
    allowed = np.array(
        [products[pk].active and products[pk].kind == ProductKind.PRODUCT for pk in product_ids]
    )
    similarity = recommend.item_similarity(bought)
    ranked = recommend.recommend(
        bought, similarity, k=OFFERS_PER_CUSTOMER, exclude=exclude, allowed=allowed
    )

    candidates: dict[int, list[Candidate]] = defaultdict(list)
    _service_and_upgrade_offers(candidates, assets, products, today)
    for i, contact in enumerate(contact_ids):
        for slot in range(ranked.product.shape[1]):
            product = int(ranked.product[i, slot])
            if product < 0:
                continue
            because = int(ranked.because[i, slot])
            pk, because_pk = product_ids[product], product_ids[because]
            candidates[contact].append(
                Candidate(
                    pk,
                    float(ranked.score[i, slot]),
                    OfferReason.CO_PURCHASE,
                    f"Customers who bought {products[because_pk].name} also bought "
                    f"{products[pk].name}.",
                    because_pk,
                )
            )
    NextBestOffer.objects.all().delete()
    NextBestOffer.objects.bulk_create(_rows(candidates, run), batch_size=5000)
    return _evaluate(rows[known], cols[known], lines[known], shape, allowed, today)


def _service_and_upgrade_offers(
    candidates: dict[int, list[Candidate]],
    assets: list[tuple[int, int, date | None]],
    products: dict[int, Product],
    today: date,
) -> None:
    services = _service_products(products)
    soon = today + timedelta(days=SERVICE_WINDOW_DAYS)
    owned_by: dict[int, set[int]] = defaultdict(set)
    for contact, product, _ in assets:
        owned_by[contact].add(product)
    for contact, product, due in assets:
        model = products.get(product)
        if model is None:
            continue
        service = services.get(product)
        if due is not None and due <= soon and service is not None:
            candidates[contact].append(
                Candidate(
                    service,
                    3.0,
                    OfferReason.SERVICE_DUE,
                    f"Service of their {model.name} is due on {due:%d %b %Y}.",
                    product,
                )
            )
        newer = products.get(model.upgrade_to_id) if model.upgrade_to_id else None
        if newer is not None and newer.active and newer.pk not in owned_by[contact]:
            candidates[contact].append(
                Candidate(
                    newer.pk,
                    2.0,
                    OfferReason.UPGRADE,
                    f"Their {model.name} has a newer model: {newer.name}.",
                    product,
                )
            )


def _service_products(products: dict[int, Product]) -> dict[int, int]:
    """For each product, an active service product listed as related to it."""
    related = Product.related.through.objects.filter(
        from_product_id__in=list(products)
    ).values_list("from_product_id", "to_product_id")
    found: dict[int, int] = {}
    for product, other in related:
        candidate = products.get(other)
        if candidate is not None and candidate.active and candidate.kind == ProductKind.SERVICE:
            found.setdefault(product, other)
    return found


def _recently_acted_on(
    contact_index: dict[int, int], product_index: dict[int, int], today: date
) -> tuple[list[int], list[int]]:
    since = timezone.make_aware(datetime.combine(today - timedelta(days=QUIET_DAYS), time.min))
    rows, cols = [], []
    for contact, product in OfferAction.objects.filter(created_at__gte=since).values_list(
        "contact_id", "product_id"
    ):
        if contact in contact_index and product in product_index:
            rows.append(contact_index[contact])
            cols.append(product_index[product])
    return rows, cols


def _rows(candidates: dict[int, list[Candidate]], run: ModelRun) -> list[NextBestOffer]:
    result = []
    for contact, offers in candidates.items():
        seen: set[int] = set()
        ordered = sorted(offers, key=lambda c: -c.score)
        rank = 0
        for offer in ordered:
            if offer.product in seen:
                continue
            seen.add(offer.product)
            rank += 1
            result.append(
                NextBestOffer(
                    contact_id=contact,
                    product_id=offer.product,
                    rank=rank,
                    score=offer.score,
                    reason=offer.reason,
                    explanation=offer.explanation[:300],
                    because_id=offer.because,
                    run=run,
                )
            )
            if rank == OFFERS_PER_CUSTOMER:
                break
    return result


def _evaluate(
    rows: np.ndarray,
    cols: np.ndarray,
    lines: np.ndarray,
    shape: dict[str, int],
    allowed: np.ndarray,
    today: date,
) -> dict[str, float | int | str]:
    """Hit rate@5 on a time split, against offering the best sellers."""
    split = today - timedelta(days=EVALUATION_DAYS)
    before = np.array([day <= split for day in lines[:, 2]], dtype=bool)
    if before.sum() == 0 or (~before).sum() == 0:
        return {"note": "Not enough order history to evaluate offers on a time split."}
    early = recommend.purchase_matrix(rows[before], cols[before], **shape)
    late = recommend.purchase_matrix(rows[~before], cols[~before], **shape)
    # Only products bought for the first time count as hits.
    late = (late - late.multiply(early)).tocsr()
    late.eliminate_zeros()
    offers = recommend.recommend(
        early, recommend.item_similarity(early), k=OFFERS_PER_CUSTOMER, allowed=allowed
    )
    return {
        "split": split.isoformat(),
        "customers_evaluated": int(np.sum(np.diff(late.indptr) > 0)),
        "hit_rate_at_5": round(recommend.hit_rate(offers.product, late), 4),
        "most_popular_hit_rate_at_5": round(
            recommend.hit_rate(recommend.most_popular(early, k=OFFERS_PER_CUSTOMER), late), 4
        ),
    }
