"""Every customer's scores from raw purchase rows, bad rows included."""

from __future__ import annotations

import numpy as np

from rapport.insights import pipeline
from tests.insights.test_clv import CALIBRATION_END, DATA, EPOCH


def cdnow() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import datetime as dt

    customer, date, amount = np.loadtxt(DATA, usecols=(1, 2, 4), dtype=str, unpack=True)
    days = np.array([(dt.date(int(d[:4]), int(d[4:6]), int(d[6:])) - EPOCH).days for d in date])
    return customer.astype(np.int64), days, amount.astype(np.float64)


def test_scores_for_every_buyer_with_models_and_holdout() -> None:
    customer, days, amount = cdnow()
    scores = pipeline.score_customers(customer, days, amount, today=CALIBRATION_END)
    assert scores.customer.size == 2357
    assert np.all(np.isfinite(scores.lifetime_value))
    assert np.all((scores.p_alive > 0) & (scores.p_alive <= 1))
    assert np.allclose(scores.churn_risk, 1 - scores.p_alive)
    assert scores.diagnostics["bgnbd"]["converged"]
    assert round(scores.diagnostics["bgnbd"]["parameters"]["r"], 3) == 0.243
    assert scores.diagnostics["gamma_gamma"]["independence_holds"]
    holdout = scores.diagnostics["holdout"]
    assert holdout["mean_absolute_error"] < holdout["naive_mean_absolute_error"]
    # The most valuable fifth that is more likely gone than not is flagged.
    flagged = scores.valuable_at_risk
    assert flagged.any()
    assert np.all(scores.value_percentile[flagged] >= 80)
    assert np.all(scores.churn_risk[flagged] >= 0.5)
    # Frequency is purchase days; spend is every purchase's amount.
    first = int(np.flatnonzero(scores.customer == 1)[0])
    mine = (customer == 1) & (days <= CALIBRATION_END)
    assert scores.purchases[first] == np.unique(days[mine]).size
    assert np.isclose(scores.spend[first], amount[mine].sum())


def test_bad_rows_are_counted_and_left_out_never_crash() -> None:
    customer, days, amount = cdnow()
    known = days <= CALIBRATION_END
    customer, days, amount = customer[known], days[known], amount[known]
    customer = np.append(customer, [1, 2, 3, 99999])
    days = np.append(days, [CALIBRATION_END + 30, CALIBRATION_END - 1, CALIBRATION_END - 2, 0])
    amount = np.append(amount, [10.0, -25.0, np.nan, 0.0])
    scores = pipeline.score_customers(customer, days, amount, today=CALIBRATION_END)
    assert scores.diagnostics["skipped"] == {
        "negative amount": 1,
        "not a number": 1,
        "dated in the future": 1,
    }
    # A zero-amount purchase is still a purchase (free sample), with no spend.
    lone = int(np.flatnonzero(scores.customer == 99999)[0])
    assert scores.purchases[lone] == 1
    assert scores.spend[lone] == 0


def test_too_little_data_gives_rfm_and_warnings_instead_of_an_error() -> None:
    scores = pipeline.score_customers([1, 2, 2], [0, 0, 10], [5.0, 7.0, 3.0], today=20)
    assert scores.customer.tolist() == [1, 2]
    assert scores.rfm.segment.size == 2
    assert np.all(np.isnan(scores.lifetime_value))
    assert not scores.valuable_at_risk.any()
    assert any("not fitted" in warning for warning in scores.diagnostics["warnings"])


def test_large_populations_are_fitted_on_a_seeded_sample_and_all_scored() -> None:
    rng = np.random.default_rng(7)
    customers = np.repeat(np.arange(3000), 3)
    days = 700_000 + rng.integers(0, 700, size=customers.size)
    amounts = rng.gamma(2.0, 30.0, size=customers.size)
    small = pipeline.Settings(fit_sample=1500)
    first = pipeline.score_customers(customers, days, amounts, today=700_800, settings=small)
    again = pipeline.score_customers(customers, days, amounts, today=700_800, settings=small)
    everyone = pipeline.score_customers(
        customers, days, amounts, today=700_800, settings=pipeline.Settings(fit_sample=0)
    )
    assert first.diagnostics["fitted_on"] == 1500
    assert "fitted_on" not in everyone.diagnostics
    assert first.customer.size == 3000
    assert np.all(np.isfinite(first.p_alive))
    assert np.all(np.isfinite(first.lifetime_value))
    # Seeded: the same data gives the same parameters and scores.
    assert first.diagnostics["bgnbd"] == again.diagnostics["bgnbd"]
    np.testing.assert_array_equal(first.p_alive, again.p_alive)
    # Half the customers give parameters close to those from everyone.
    sampled = first.diagnostics["bgnbd"]["parameters"]
    full = everyone.diagnostics["bgnbd"]["parameters"]
    assert abs(sampled["r"] - full["r"]) / full["r"] < 0.25
