"""Next best offer from co-purchases: "customers who bought X also bought Y".

Pure numpy/scipy, no Django. Customers and products are dense integer indexes
(0..n-1) that the caller maps to its ids. Each offer carries the owned product
that explains it, so staff can say why.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse

# Rows scored at once: bounds the memory of the dense score block.
CHUNK_ROWS = 2048


def purchase_matrix(
    customer: ArrayLike, product: ArrayLike, *, customers: int, products: int
) -> sparse.csr_array:
    """Customers x products, 1 where the customer ever bought the product."""
    rows = np.asarray(customer, dtype=np.int64)
    cols = np.asarray(product, dtype=np.int64)
    if rows.shape != cols.shape:
        raise ValueError("customer and product must have the same length")
    if rows.size and (rows.min() < 0 or rows.max() >= customers):
        raise ValueError("customer index out of range")
    if cols.size and (cols.min() < 0 or cols.max() >= products):
        raise ValueError("product index out of range")
    matrix = sparse.csr_array(
        (np.ones(rows.size, dtype=np.float32), (rows, cols)), shape=(customers, products)
    )
    matrix.data[:] = 1.0  # repeat purchases of one product count once
    return matrix


def item_similarity(bought: sparse.csr_array, *, min_customers: int = 2) -> NDArray[np.float32]:
    """Cosine similarity of products by the customers who bought them (diagonal 0).

    Pairs bought together by fewer than ``min_customers`` customers score 0:
    one shared basket is an anecdote, not a pattern.
    """
    together = (bought.T @ bought).toarray().astype(np.float32)
    buyers = np.sqrt(np.diag(together).astype(np.float64))
    together[together < min_customers] = 0
    np.fill_diagonal(together, 0)
    norm = np.outer(buyers, buyers)
    similarity = np.divide(together, norm, out=np.zeros_like(together), where=norm > 0)
    return similarity.astype(np.float32)


@dataclass(frozen=True)
class Offers:
    """Top offers per customer: product index, score and the owned product behind it."""

    product: NDArray[np.int64]  # customers x k, -1 where there is no offer
    score: NDArray[np.float32]
    because: NDArray[np.int64]  # the owned product that explains the offer, -1 if none


def recommend(
    bought: sparse.csr_array,
    similarity: NDArray[np.float32],
    *,
    k: int = 5,
    exclude: sparse.csr_array | None = None,
    allowed: NDArray[np.bool_] | None = None,
) -> Offers:
    """The ``k`` best products for every customer, never one they own or must not get.

    ``exclude``: customers x products, nonzero where an offer is ruled out (owned
    assets, recently offered, ...). ``allowed``: products that may be offered at all.
    """
    customers, products = bought.shape
    if similarity.shape != (products, products):
        raise ValueError("similarity must be products x products")
    k = min(k, products)
    product = np.full((customers, k), -1, dtype=np.int64)
    score = np.zeros((customers, k), dtype=np.float32)
    because = np.full((customers, k), -1, dtype=np.int64)
    for start in range(0, customers, CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, customers)
        chunk = sparse.csr_array(bought[start:stop])
        # Sparse times dense: a customer owns a handful of products, not all of them.
        scores = np.asarray(chunk @ similarity, dtype=np.float32)
        owned_rows = np.repeat(np.arange(stop - start), np.diff(chunk.indptr))
        scores[owned_rows, chunk.indices] = 0
        if exclude is not None:
            scores[exclude[start:stop].toarray() != 0] = 0
        if allowed is not None:
            scores[:, ~allowed] = 0
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        top_scores = np.take_along_axis(scores, top, axis=1)
        order = np.argsort(-top_scores, axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        top_scores = np.take_along_axis(top_scores, order, axis=1)
        best_owned = _most_similar_owned(chunk, owned_rows, similarity, top)
        has_offer = top_scores > 0
        product[start:stop] = np.where(has_offer, top, -1)
        score[start:stop] = np.where(has_offer, top_scores, 0)
        because[start:stop] = np.where(has_offer, best_owned, -1)
    return Offers(product, score, because)


def _most_similar_owned(
    chunk: sparse.csr_array,
    owned_rows: NDArray[np.int64],
    similarity: NDArray[np.float32],
    top: NDArray[np.int64],
) -> NDArray[np.int64]:
    """For each customer's offers (rows x k), the owned product most similar to each.

    Among equally similar owned products the lowest index wins; a customer
    who owns nothing gets 0 (their offers have no score and are dropped).
    """
    rows, k = top.shape
    result = np.zeros((rows, k), dtype=np.int64)
    if chunk.indices.size == 0:
        return result
    owned = chunk.indices.astype(np.int64)
    # One line per (owned product, offer slot): its similarity to the offer.
    similar = similarity[owned[:, None], top[owned_rows]]
    # CSR keeps each customer's owned products together, in one run of lines per
    # customer: reduce each run to its best similarity, then to the lowest index
    # reaching it, for all slots at once.
    counts = np.diff(chunk.indptr)
    owners = np.flatnonzero(counts)
    starts = chunk.indptr[:-1][owners]
    best = np.maximum.reduceat(similar, starts, axis=0)
    reaching = similar == np.repeat(best, counts[owners], axis=0)
    candidates = np.where(reaching, owned[:, None], np.iinfo(np.int64).max)
    result[owners] = np.minimum.reduceat(candidates, starts, axis=0)
    return result


def buyers_per_product(bought: sparse.csr_array) -> NDArray[np.float64]:
    """Buyers per product."""
    return np.asarray(bought.sum(axis=0)).ravel().astype(np.float64)


def most_popular(
    bought: sparse.csr_array,
    *,
    k: int = 5,
    exclude: sparse.csr_array | None = None,
    popularity: NDArray[np.float64] | None = None,
) -> NDArray[np.int64]:
    """The baseline: the best sellers each customer does not own yet.

    ``popularity``: buyers per product when ``bought`` holds only some of the
    customers (default: counted in ``bought``).
    """
    customers, products = bought.shape
    k = min(k, products)
    sold = buyers_per_product(bought) if popularity is None else popularity
    ranked = np.argsort(-sold, kind="stable")
    result = np.full((customers, k), -1, dtype=np.int64)
    for start in range(0, customers, CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, customers)
        blocked = bought[start:stop].toarray() > 0
        if exclude is not None:
            blocked |= exclude[start:stop].toarray() != 0
        candidates = ~blocked[:, ranked]
        # The first k unblocked products in popularity order.
        position = np.cumsum(candidates, axis=1)
        for slot in range(k):
            pick = np.argmax(candidates & (position == slot + 1), axis=1)
            found = candidates[np.arange(stop - start), pick] & (position[:, -1] > slot)
            result[start:stop, slot] = np.where(found, ranked[pick], -1)
    return result


def hit_rate(offers: NDArray[np.int64], later: sparse.csr_array) -> float:
    """Share of customers who bought something later that was among their offers.

    Only customers who bought anything later count: the others cannot be hit.
    """
    later_bought = later.tocsr()
    buyers = np.diff(later_bought.indptr) > 0
    if not buyers.any():
        return 0.0
    customer, slot = np.nonzero(offers >= 0)
    offered = sparse.csr_array(
        (np.ones(customer.size, dtype=np.float32), (customer, offers[customer, slot])),
        shape=later_bought.shape,
    )
    hits = np.asarray(offered.multiply(later_bought).sum(axis=1)).ravel() > 0
    return float(np.sum(hits & buyers) / np.sum(buyers))
