"""Next best offers for every buyer: services due, newer models, then co-purchases.

Reads orders, products and the installed base; the maths is in ``recommend``.
Called by ``services.refresh_scores`` inside its transaction. Every step is
array maths over all customers at once, so a refresh of a million customers
builds its offers in seconds rather than creating an object per offer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import numpy as np
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from numpy.typing import NDArray
from scipy import sparse

from rapport.catalog.choices import ProductKind
from rapport.catalog.models import Product
from rapport.customers.models import Address, Contact
from rapport.insights import columns, recommend
from rapport.insights.models import OfferAction, OfferReason, OfferRule
from rapport.trading.models import Asset, OrderLine

OFFERS_PER_CUSTOMER = 5
SERVICE_WINDOW_DAYS = 60
# An offer someone acted on (a follow-up task) is not made again within this time.
QUIET_DAYS = 90
# Time split for the reported evaluation: learn from all but the last half year.
EVALUATION_DAYS = 182
# Customers the evaluation offers are computed for, at most (a seeded sample).
EVALUATION_SAMPLE = 50_000
# Offers that come from what the customer owns outrank co-purchase scores (cosines <= 1).
SERVICE_SCORE = 3.0
UPGRADE_SCORE = 2.0
REASON_CODES = (OfferReason.SERVICE_DUE, OfferReason.UPGRADE, OfferReason.CO_PURCHASE)

Ints = NDArray[np.int64]


@dataclass(frozen=True)
class Catalog:
    """The products as arrays indexed like the purchase matrix's columns."""

    ids: Ints  # sorted primary keys
    categories: NDArray[np.str_]
    offerable: NDArray[np.bool_]  # active goods: what co-purchase offers may suggest
    service_for: Ints  # index of an active service product related to each product, -1
    upgrade_for: Ints  # index of each product's active newer model, -1

    def index(self, product_ids: Ints) -> Ints:
        """Column of each product id, -1 for ids not in the catalog."""
        return positions(self.ids, product_ids)


def positions(sorted_ids: Ints, ids: Ints) -> Ints:
    """Index of each of ``ids`` in ``sorted_ids``, -1 where it is not there."""
    if sorted_ids.size == 0:
        return np.full(ids.size, -1, dtype=np.int64)
    position = np.minimum(np.searchsorted(sorted_ids, ids), sorted_ids.size - 1)
    return np.where(sorted_ids[position] == ids, position, -1).astype(np.int64)


@dataclass(frozen=True)
class Candidates:
    """Offers before ranking: one element per (customer, product) suggestion."""

    customer: Ints  # row in the purchase matrix
    product: Ints  # column
    score: NDArray[np.float64]
    reason: Ints  # index into REASON_CODES
    because: Ints  # column of the owned product behind it, -1
    due: Ints  # service due day (ordinal) for service offers, else 0


@dataclass(frozen=True)
class Chosen:
    """Every contact's offers, as the columns of the NextBestOffer rows to write."""

    columns: dict[str, Any]
    rows: int
    evaluation: dict[str, float | int | str]


def choose_offers(
    today: date,
    orders: Ints,
    order_contact: Ints,
    order_day: Ints,
    *,
    segments: tuple[Ints, NDArray[np.str_]],
) -> Chosen:
    """Every contact's best offers from their bought orders (ids, contact or 0, day ordinal).

    ``segments``: contact ids (sorted) and their fresh RFM segments, which
    segment rules use. Reads order lines, products and the installed base;
    writes nothing.
    """
    catalog = _catalog()
    if catalog.ids.size == 0:
        return Chosen({}, 0, {"note": "No products in the catalog."})
    line_contact, line_product, line_day = _bought_lines(today, orders, order_contact, order_day)
    asset_contact, asset_product, asset_due = columns.fetch(_owned_assets(), ("int", "int", "day"))
    contact_ids = np.unique(np.concatenate([line_contact, asset_contact]))
    shape = {"customers": contact_ids.size, "products": catalog.ids.size}

    rows = np.searchsorted(contact_ids, line_contact)
    cols = catalog.index(line_product)
    known = cols >= 0
    rows, cols, line_day = rows[known], cols[known], line_day[known]
    del line_contact, line_product
    bought = recommend.purchase_matrix(rows, cols, **shape)

    owner = np.searchsorted(contact_ids, asset_contact)
    owned_col = catalog.index(asset_product)
    in_catalog = owned_col >= 0
    owner, owned_col, asset_due = owner[in_catalog], owned_col[in_catalog], asset_due[in_catalog]
    owned = recommend.purchase_matrix(owner, owned_col, **shape)
    quiet_rows, quiet_cols = _recently_acted_on(contact_ids, catalog, today)
    exclude = owned + recommend.purchase_matrix(quiet_rows, quiet_cols, **shape)
    ranked = recommend.recommend(
        bought,
        recommend.item_similarity(bought),
        k=OFFERS_PER_CUSTOMER,
        exclude=exclude,
        allowed=catalog.offerable,
    )
    del bought, exclude
    candidates = _concat(
        _service_offers(catalog, owner, owned_col, asset_due, today),
        _upgrade_offers(catalog, owner, owned_col, shape["products"]),
        _co_purchase_offers(ranked),
    )
    del ranked
    candidates = _respect_rules(candidates, contact_ids, catalog, segments)
    offers, rank = _best(candidates)
    because = np.where(offers.because >= 0, catalog.ids[offers.because], -1).astype(object)
    because[offers.because < 0] = None
    chosen: dict[str, Any] = {
        "contact_id": contact_ids[offers.customer],
        "product_id": catalog.ids[offers.product],
        "rank": rank,
        "score": offers.score,
        "reason": np.array([str(code) for code in REASON_CODES], dtype=object)[offers.reason],
        "because_id": because,
        "due_on": columns.date_strings(offers.due),
    }
    evaluation = _evaluate(rows, cols, line_day, shape, catalog.offerable, today)
    evaluation["written"] = int(rank.size)
    return Chosen(chosen, int(rank.size), evaluation)


def _catalog() -> Catalog:
    products = list(
        Product.objects.filter(deleted_at__isnull=True)
        .order_by("pk")
        .values_list("pk", "active", "kind", "upgrade_to_id", "category")
    )
    ids = np.array([row[0] for row in products], dtype=np.int64)
    active = np.array([bool(row[1]) for row in products], dtype=bool)
    goods = np.array([row[2] == ProductKind.PRODUCT for row in products], dtype=bool)
    services = active & ~goods
    categories = np.array([row[4].casefold() for row in products], dtype=str)
    catalog = Catalog(ids, categories, active & goods, np.full(ids.size, -1), np.full(ids.size, -1))
    upgrade = catalog.index(np.array([row[3] or 0 for row in products], dtype=np.int64))
    catalog.upgrade_for[:] = np.where((upgrade >= 0) & active[np.maximum(upgrade, 0)], upgrade, -1)
    related = Product.related.through.objects.filter(from_product_id__in=ids.tolist()).values_list(
        "from_product_id", "to_product_id"
    )
    pairs = np.array(list(related), dtype=np.int64).reshape(-1, 2)
    source, target = catalog.index(pairs[:, 0]), catalog.index(pairs[:, 1])
    usable = (source >= 0) & (target >= 0)
    usable[usable] &= services[target[usable]]
    # The first related service product of each product (lowest id), as before.
    for product, service in sorted(zip(source[usable], target[usable], strict=True), reverse=True):
        catalog.service_for[product] = service
    return catalog


def _bought_lines(
    today: date, orders: Ints, order_contact: Ints, order_day: Ints
) -> tuple[Ints, Ints, Ints]:
    """Contact, product and day of every line of the given orders placed by a contact by today.

    Lines are read as bare (order, product) pairs and matched to the orders
    in memory: no join over millions of lines in the database.
    """
    pairs = columns.scan(OrderLine._meta.db_table, ("order_id", "product_id"))
    by_id = np.argsort(orders, kind="stable")
    sorted_ids = orders[by_id]
    at = np.minimum(np.searchsorted(sorted_ids, pairs[:, 0]), max(sorted_ids.size - 1, 0))
    found = sorted_ids[at] == pairs[:, 0] if sorted_ids.size else np.zeros(len(pairs), bool)
    order = by_id[at[found]]
    product = pairs[found, 1]
    del pairs
    usable = (order_contact[order] > 0) & (order_day[order] <= today.toordinal())
    order, product = order[usable], product[usable]
    return order_contact[order], product, order_day[order]


def _owned_assets() -> QuerySet[Asset, tuple[int, int, date | None]]:
    return Asset.objects.filter(deleted_at__isnull=True, contact__isnull=False).values_list(
        "contact_id", "product_id", "next_service_due"
    )


def _service_offers(
    catalog: Catalog, owner: Ints, owned_col: Ints, due: Ints, today: date
) -> Candidates:
    """The service product of each unit due within the window."""
    soon = (today + timedelta(days=SERVICE_WINDOW_DAYS)).toordinal()
    service = catalog.service_for[owned_col] if owned_col.size else np.zeros(0, dtype=np.int64)
    pick = (due > 0) & (due <= soon) & (service >= 0)
    return Candidates(
        owner[pick],
        service[pick],
        np.full(int(pick.sum()), SERVICE_SCORE),
        np.full(int(pick.sum()), 0),
        owned_col[pick],
        due[pick],
    )


def _upgrade_offers(catalog: Catalog, owner: Ints, owned_col: Ints, products: int) -> Candidates:
    """The newer model of each unit, unless the customer owns it already."""
    newer = catalog.upgrade_for[owned_col] if owned_col.size else np.zeros(0, dtype=np.int64)
    owned_codes = owner * products + owned_col
    pick = (newer >= 0) & ~np.isin(owner * products + newer, owned_codes)
    return Candidates(
        owner[pick],
        newer[pick],
        np.full(int(pick.sum()), UPGRADE_SCORE),
        np.full(int(pick.sum()), 1),
        owned_col[pick],
        np.zeros(int(pick.sum()), dtype=np.int64),
    )


def _co_purchase_offers(ranked: recommend.Offers) -> Candidates:
    customer, slot = np.nonzero(ranked.product >= 0)
    return Candidates(
        customer.astype(np.int64),
        ranked.product[customer, slot],
        ranked.score[customer, slot].astype(np.float64),
        np.full(customer.size, 2),
        ranked.because[customer, slot],
        np.zeros(customer.size, dtype=np.int64),
    )


def _respect_rules(
    candidates: Candidates,
    contact_ids: Ints,
    catalog: Catalog,
    segments: tuple[Ints, NDArray[np.str_]],
) -> Candidates:
    """Drop offers of products whose rules the contact does not meet (see ``OfferRule``).

    Segment rules use the segments of this refresh, which are not written yet.
    """
    keep = np.ones(candidates.customer.size, dtype=bool)
    for rule in OfferRule.objects.all():
        if rule.product_id is not None:
            covered = catalog.index(np.array([rule.product_id], dtype=np.int64))
        else:
            covered = np.flatnonzero(catalog.categories == rule.category.casefold())
        affected = np.isin(candidates.product, covered[covered >= 0])
        if not affected.any():
            continue
        (eligible,) = columns.fetch(_eligible_contacts(rule), ("int",))
        if rule.segments:
            scored, segment = segments
            eligible = np.intersect1d(eligible, scored[np.isin(segment, rule.segments)])
        keep &= ~affected | np.isin(contact_ids[candidates.customer], eligible)
    return _take(candidates, np.flatnonzero(keep))


def _eligible_contacts(rule: OfferRule) -> QuerySet[Contact, tuple[int]]:
    contacts = Contact.objects.all()
    if rule.languages:
        spoken = Q()
        for code in rule.languages:
            spoken |= Q(language__iexact=code) | Q(language__istartswith=f"{code}-")
        contacts = contacts.filter(spoken)
    if rule.countries:
        contacts = contacts.filter(
            Exists(Address.objects.filter(contact=OuterRef("pk"), country__in=rule.countries))
        )
    return contacts.values_list("pk")


def _concat(*parts: Candidates) -> Candidates:
    return Candidates(
        *(
            np.concatenate([getattr(part, name) for part in parts])
            for name in ("customer", "product", "score", "reason", "because", "due")
        )
    )


def _best(candidates: Candidates) -> tuple[Candidates, Ints]:
    """Each customer's best offers: one per product, highest score first, at most five."""
    # Best first within each customer; among equal scores, the order they were made in.
    order = np.lexsort((np.arange(candidates.score.size), -candidates.score, candidates.customer))
    c = _take(candidates, order)
    pair = c.customer * (int(c.product.max(initial=0)) + 1) + c.product
    _, first = np.unique(pair, return_index=True)
    unique = np.zeros(pair.size, dtype=bool)
    unique[first] = True
    c = _take(c, np.flatnonzero(unique))
    starts = np.ones(c.customer.size, dtype=bool)
    starts[1:] = c.customer[1:] != c.customer[:-1]
    group_start = np.maximum.accumulate(np.where(starts, np.arange(c.customer.size), 0))
    rank = np.arange(c.customer.size) - group_start + 1
    keep = rank <= OFFERS_PER_CUSTOMER
    return _take(c, np.flatnonzero(keep)), rank[keep]


def _take(c: Candidates, index: Ints) -> Candidates:
    return Candidates(
        c.customer[index], c.product[index], c.score[index], c.reason[index],
        c.because[index], c.due[index],
    )  # fmt: skip


def _recently_acted_on(contact_ids: Ints, catalog: Catalog, today: date) -> tuple[Ints, Ints]:
    since = timezone.make_aware(datetime.combine(today - timedelta(days=QUIET_DAYS), time.min))
    acted = OfferAction.objects.filter(created_at__gte=since)
    pairs = np.array(list(acted.values_list("contact_id", "product_id")), dtype=np.int64)
    pairs = pairs.reshape(-1, 2)
    row, col = positions(contact_ids, pairs[:, 0]), catalog.index(pairs[:, 1])
    keep = (row >= 0) & (col >= 0)
    return row[keep], col[keep]


def _evaluate(
    rows: Ints,
    cols: Ints,
    days: Ints,
    shape: dict[str, int],
    allowed: NDArray[np.bool_],
    today: date,
) -> dict[str, float | int | str]:
    """Hit rate@5 on a time split, against offering the best sellers."""
    split = (today - timedelta(days=EVALUATION_DAYS)).toordinal()
    before = days <= split
    if before.sum() == 0 or (~before).sum() == 0:
        return {"note": "Not enough order history to evaluate offers on a time split."}
    early = recommend.purchase_matrix(rows[before], cols[before], **shape)
    late = recommend.purchase_matrix(rows[~before], cols[~before], **shape)
    # Only products bought for the first time count as hits.
    late = (late - late.multiply(early)).tocsr()
    late.eliminate_zeros()
    buyers = np.flatnonzero(np.diff(late.indptr) > 0)
    # Similarities and best sellers come from everyone; the hit rates from a seeded
    # sample of the customers who bought later (their standard error is well under
    # a percentage point at this size).
    sample = buyers
    if buyers.size > EVALUATION_SAMPLE:
        sample = np.sort(np.random.default_rng(0).choice(buyers, EVALUATION_SAMPLE, replace=False))
    early_sample = sparse.csr_array(early[sample])
    late_sample = sparse.csr_array(late[sample])
    offers = recommend.recommend(
        early_sample, recommend.item_similarity(early), k=OFFERS_PER_CUSTOMER, allowed=allowed
    )
    popular = recommend.most_popular(
        early_sample, k=OFFERS_PER_CUSTOMER, popularity=recommend.buyers_per_product(early)
    )
    return {
        "split": date.fromordinal(split).isoformat(),
        "customers_evaluated": int(sample.size),
        "customers_buying_after_split": int(buyers.size),
        "hit_rate_at_5": round(recommend.hit_rate(offers.product, late_sample), 4),
        "most_popular_hit_rate_at_5": round(recommend.hit_rate(popular, late_sample), 4),
    }
