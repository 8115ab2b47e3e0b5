"""Next best offer from co-purchases, against a most-popular baseline on a time split."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from rapport.insights import recommend


def baskets() -> sparse.csr_array:
    # 0 boiler, 1 filter, 2 service plan, 3 kettle (popular, unrelated), 4 descaler.
    rows = [
        [0, 1, 2], [0, 1, 2], [0, 1], [0, 2], [3, 4], [3, 4], [3], [3], [3], [0],
    ]  # fmt: skip
    customers = [i for i, row in enumerate(rows) for _ in row]
    products = [p for row in rows for p in row]
    return recommend.purchase_matrix(customers, products, customers=len(rows), products=5)


def test_similar_products_are_offered_with_their_reason() -> None:
    bought = baskets()
    similarity = recommend.item_similarity(bought)
    assert similarity[0, 1] > similarity[0, 3] == 0
    offers = recommend.recommend(bought, similarity, k=2)
    # The customer with only a boiler gets the filter and the service plan, because of the boiler.
    assert set(offers.product[9].tolist()) == {1, 2}
    assert offers.because[9].tolist() == [0, 0]
    # Nobody is offered what they own.
    for customer in range(bought.shape[0]):
        owned = set(bought[[customer]].indices.tolist())
        assert not owned & set(offers.product[customer].tolist())


def test_exclusions_and_allowed_products_are_respected() -> None:
    bought = baskets()
    similarity = recommend.item_similarity(bought)
    exclude = sparse.csr_array(([1.0], ([9], [1])), shape=bought.shape)
    offers = recommend.recommend(bought, similarity, k=2, exclude=exclude)
    assert 1 not in offers.product[9].tolist()
    allowed = np.array([True, True, False, True, True])
    offers = recommend.recommend(bought, similarity, k=2, allowed=allowed)
    assert 2 not in offers.product.ravel().tolist()


def test_a_customer_without_signal_gets_no_offer_rather_than_noise() -> None:
    bought = recommend.purchase_matrix([0], [0], customers=2, products=3)
    offers = recommend.recommend(bought, recommend.item_similarity(bought), k=2)
    assert offers.product[1].tolist() == [-1, -1]
    assert offers.because[1].tolist() == [-1, -1]


def test_most_popular_skips_owned_products() -> None:
    bought = baskets()
    popular = recommend.most_popular(bought, k=2)
    assert popular[4].tolist() == [0, 1]  # owns 3 and 4; boiler and filter sell next best
    assert 3 not in popular[6].tolist()


def test_co_purchase_beats_most_popular_on_a_time_split() -> None:
    rng = np.random.default_rng(7)
    products, customers, families = 60, 3000, 12
    family = np.arange(products) % families
    popularity = rng.dirichlet(np.ones(products) * 0.3)
    early_rows, early_cols, late_rows, late_cols = [], [], [], []
    for customer in range(customers):
        taste = rng.integers(families)
        mine = np.flatnonzero(family == taste)
        picks = rng.choice(mine, size=3, replace=False)
        # Two products of their taste and one best seller, then a third of their taste.
        early_rows += [customer] * 3
        early_cols += [int(picks[0]), int(picks[1]), int(rng.choice(products, p=popularity))]
        late_rows.append(customer)
        late_cols.append(int(picks[2]))
    early = recommend.purchase_matrix(
        early_rows, early_cols, customers=customers, products=products
    )
    late = recommend.purchase_matrix(late_rows, late_cols, customers=customers, products=products)
    offers = recommend.recommend(early, recommend.item_similarity(early), k=5)
    ours = recommend.hit_rate(offers.product, late)
    baseline = recommend.hit_rate(recommend.most_popular(early, k=5), late)
    assert ours > 2 * baseline
    assert ours > 0.3


def test_bad_indexes_are_refused() -> None:
    with pytest.raises(ValueError, match="product index"):
        recommend.purchase_matrix([0], [5], customers=1, products=5)


def test_the_reason_is_the_most_similar_owned_product_lowest_on_ties() -> None:
    similarity = np.zeros((5, 5), dtype=np.float32)
    similarity[1, 3] = similarity[3, 1] = 0.5
    similarity[2, 3] = similarity[3, 2] = 0.5
    similarity[0, 3] = similarity[3, 0] = 0.2
    similarity[0, 4] = similarity[4, 0] = 0.9
    # Customer 1 owns nothing; customers 0 and 2 own two products each.
    bought = recommend.purchase_matrix([0, 0, 2, 2], [2, 1, 0, 2], customers=3, products=5)
    offers = recommend.recommend(bought, similarity, k=2)
    assert offers.product[0].tolist() == [3, -1]
    assert offers.because[0].tolist() == [1, -1]  # 1 and 2 are as similar to 3: the lower wins
    assert offers.product[1].tolist() == [-1, -1]
    assert offers.product[2].tolist() == [4, 3]
    assert offers.because[2].tolist() == [0, 2]
