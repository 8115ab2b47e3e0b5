"""The purchase and spend models against the published CDNOW results, plus properties."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from rapport.insights import clv, holdout

DATA = Path(__file__).parent / "data" / "cdnow_sample.txt"
EPOCH = dt.date(1970, 1, 1)
CALIBRATION_END = (dt.date(1997, 9, 30) - EPOCH).days  # 39 weeks after 1997-01-01
HOLDOUT_END = (dt.date(1998, 6, 30) - EPOCH).days


def sig(value: float, digits: int = 3) -> float:
    return float(f"{value:.{digits}g}")


@pytest.fixture(scope="module")
def transactions() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    customer, date, amount = np.loadtxt(DATA, usecols=(1, 2, 4), dtype=str, unpack=True)
    days = np.array([(dt.date(int(d[:4]), int(d[4:6]), int(d[6:])) - EPOCH).days for d in date])
    return customer.astype(np.int64), days, amount.astype(np.float64)


@pytest.fixture(scope="module")
def calibration(transactions: tuple[np.ndarray, np.ndarray, np.ndarray]) -> clv.RepeatSummary:
    return clv.summarise(*transactions, end_day=CALIBRATION_END)


def test_the_sample_has_the_published_shape(calibration: clv.RepeatSummary) -> None:
    assert calibration.customer.size == 2357
    assert int(calibration.x.sum()) == 2457  # repeat purchases in the 39 weeks
    assert int((calibration.x > 0).sum()) == 946


def test_bgnbd_reproduces_fader_hardie_lee(calibration: clv.RepeatSummary) -> None:
    fit = clv.fit_bgnbd(calibration.x, calibration.t_x, calibration.T)
    assert fit.converged
    model = fit.params
    assert (sig(model.r), sig(model.alpha), sig(model.a), sig(model.b)) == (
        0.243,
        4.41,
        0.793,
        2.43,
    )
    assert round(fit.log_likelihood, 1) == -9582.4


def test_bgnbd_customer_1516(calibration: clv.RepeatSummary) -> None:
    model = clv.fit_bgnbd(calibration.x, calibration.t_x, calibration.T).params
    expected = model.expected_purchases(52, 26, 30.857, 31)
    assert sig(float(expected[()]), 5) == 25.757
    assert sig(float(model.p_alive(26, 30.857, 31)[()]), 5) == 0.96885


def test_pareto_nbd_reproduces_fader_hardie(calibration: clv.RepeatSummary) -> None:
    fit = clv.fit_pareto_nbd(calibration.x, calibration.t_x, calibration.T)
    assert fit.converged
    model = fit.params
    assert (sig(model.r), sig(model.alpha), sig(model.s), sig(model.beta)) == (
        0.553,
        10.6,
        0.606,
        11.7,
    )
    assert round(fit.log_likelihood, 1) == -9595.0


def test_gamma_gamma_reproduces_fader_hardie(calibration: clv.RepeatSummary) -> None:
    fit = clv.fit_gamma_gamma(calibration.x, calibration.monetary)
    assert fit.customers == 946
    model = fit.params
    assert (sig(model.p), sig(model.q), sig(model.gamma)) == (6.25, 3.74, 15.4)
    # The published check of the independence assumption: correlation 0.11.
    independence = clv.spend_independence(calibration.x, calibration.monetary)
    assert round(independence.correlation, 2) == 0.11
    assert independence.holds


def test_one_time_buyers_are_alive_under_bgnbd_but_not_under_pareto(
    calibration: clv.RepeatSummary,
) -> None:
    bgnbd = clv.fit_bgnbd(calibration.x, calibration.t_x, calibration.T).params
    pareto = clv.fit_pareto_nbd(calibration.x, calibration.t_x, calibration.T).params
    assert float(bgnbd.p_alive(0, 0, 38)[()]) == 1.0
    assert float(pareto.p_alive(0, 0, 38)[()]) < 0.6


def test_lifetime_value_is_discounted_spend_times_purchases(
    calibration: clv.RepeatSummary,
) -> None:
    c = calibration
    purchases = clv.fit_bgnbd(c.x, c.t_x, c.T).params
    spend = clv.fit_gamma_gamma(c.x, c.monetary).params
    value = clv.customer_lifetime_value(
        purchases, spend, c.x, c.t_x, c.T, c.monetary, horizon_months=12, monthly_discount_rate=0
    )
    undiscounted = purchases.expected_purchases(
        12 * 365.25 / 12 / 7, c.x, c.t_x, c.T
    ) * spend.expected_average_spend(c.x, c.monetary)
    np.testing.assert_allclose(value, undiscounted, rtol=1e-9)
    discounted = clv.customer_lifetime_value(
        purchases, spend, c.x, c.t_x, c.T, c.monetary, monthly_discount_rate=0.01, margin=0.3
    )
    assert np.all(discounted < value * 0.3 + 1e-12)
    assert np.all(discounted > 0)


def test_holdout_forecast_beats_the_naive_one(
    transactions: tuple[np.ndarray, np.ndarray, np.ndarray], calibration: clv.RepeatSummary
) -> None:
    customer, days, _ = transactions
    c = calibration
    model = clv.fit_bgnbd(c.x, c.t_x, c.T).params
    holdout_weeks = (HOLDOUT_END - CALIBRATION_END) / 7
    after = (days > CALIBRATION_END) & (days <= HOLDOUT_END)
    unique_days = np.unique(np.column_stack([customer[after], days[after]]), axis=0)
    actual = np.bincount(unique_days[:, 0], minlength=c.customer.max() + 1)[c.customer]
    comparison = holdout.compare(
        c.x,
        actual,
        model.expected_purchases(holdout_weeks, c.x, c.t_x, c.T),
        holdout.naive_forecast(c.x, c.T, holdout_weeks),
    )
    assert comparison.buckets[-1] == "7+"
    assert int(comparison.customers.sum()) == 2357
    assert comparison.beats_naive
    # One-time buyers: the model expects some of them back, the naive forecast none.
    assert comparison.naive[0] == 0
    assert comparison.predicted[0] == pytest.approx(comparison.actual[0], abs=0.1)


def test_summary_merges_same_day_purchases_and_ignores_later_rows() -> None:
    summary = clv.summarise(
        customer=[7, 7, 7, 7, 9],
        day=[0, 0, 14, 70, 7],
        amount=[10.0, 5.0, 20.0, 99.0, 3.0],
        end_day=28,
    )
    assert summary.customer.tolist() == [7, 9]
    assert summary.x.tolist() == [1, 0]
    assert summary.t_x.tolist() == [2, 0]
    assert summary.T.tolist() == [4, 3]
    assert summary.monetary.tolist() == [20, 0]


def test_fits_refuse_data_that_cannot_support_them() -> None:
    with pytest.raises(clv.ModelFitError):
        clv.fit_bgnbd([0] * 20, [0] * 20, [10] * 20)  # nobody came back
    with pytest.raises(ValueError, match="t_x <= T"):
        clv.fit_bgnbd([1] * 20, [12] * 20, [10] * 20)
    with pytest.raises(clv.ModelFitError):
        clv.fit_gamma_gamma([1, 2], [10.0, 20.0])


# --- properties -----------------------------------------------------------------

positive = st.floats(min_value=0.05, max_value=20, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(r=positive, alpha=positive, a=positive, b=positive, x=st.integers(0, 60), data=st.data())
def test_bgnbd_likelihood_is_finite_and_a_probability(
    r: float, alpha: float, a: float, b: float, x: int, data: st.DataObject
) -> None:
    T = data.draw(st.floats(min_value=0.1, max_value=200))
    t_x = 0.0 if x == 0 else data.draw(st.floats(min_value=0, max_value=T))
    model = clv.BgNbd(r, alpha, a, b)
    ll = float(model.log_likelihood(x, t_x, T)[()])
    assert np.isfinite(ll)
    alive = float(model.p_alive(x, t_x, T)[()])
    assert 0 <= alive <= 1


@settings(max_examples=40, deadline=None)
@given(r=positive, alpha=positive, s=positive, beta=positive, x=st.integers(0, 40), data=st.data())
def test_pareto_likelihood_is_finite_and_p_alive_a_probability(
    r: float, alpha: float, s: float, beta: float, x: int, data: st.DataObject
) -> None:
    T = data.draw(st.floats(min_value=0.1, max_value=100))
    t_x = 0.0 if x == 0 else data.draw(st.floats(min_value=0, max_value=T))
    model = clv.ParetoNbd(r, alpha, s, beta)
    assert np.isfinite(float(model.log_likelihood(x, t_x, T)[()]))
    assert 0 <= float(model.p_alive(x, t_x, T)[()]) <= 1


@settings(max_examples=40, deadline=None)
@given(r=positive, alpha=positive, a=positive, b=positive)
def test_a_buyer_who_stays_away_longer_is_less_likely_alive(
    r: float, alpha: float, a: float, b: float
) -> None:
    model = clv.BgNbd(r, alpha, a, b)
    # Same purchases, same last purchase; only the silence since grows.
    alive = model.p_alive([3, 3, 3], [10, 10, 10], [12, 20, 40])
    assert np.all(np.diff(alive) <= 1e-12)
    # And a one-time buyer's likelihood falls the longer we watched without a purchase.
    ll = model.log_likelihood([0, 0, 0], [0, 0, 0], [5, 10, 20])
    assert np.all(np.diff(ll) < 0)
    # More time ahead, more expected purchases.
    ahead = [float(model.expected_purchases(t, 3, 10, 12)[()]) for t in (1, 10, 50)]
    assert ahead == sorted(ahead)


def simulate_bgnbd(
    model: clv.BgNbd, customers: int, T: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw purchase histories from the BG/NBD story itself."""
    rates = rng.gamma(model.r, 1 / model.alpha, customers)
    dropout = rng.beta(model.a, model.b, customers)
    x = np.zeros(customers)
    t_x = np.zeros(customers)
    for i in range(customers):
        now = 0.0
        while True:
            now += rng.exponential(1 / rates[i])
            if now > T:
                break
            x[i] += 1
            t_x[i] = now
            if rng.random() < dropout[i]:
                break
    return x, t_x, np.full(customers, T)


def test_bgnbd_recovers_the_parameters_of_a_simulated_population() -> None:
    truth = clv.BgNbd(r=0.5, alpha=6.0, a=0.9, b=3.0)
    x, t_x, T = simulate_bgnbd(truth, 20_000, 52.0, np.random.default_rng(20261201))
    fitted = clv.fit_bgnbd(x, t_x, T).params
    for name in ("r", "alpha", "a", "b"):
        assert getattr(fitted, name) == pytest.approx(getattr(truth, name), rel=0.15), name


def test_bgnbd_analytic_gradient_matches_finite_differences(
    calibration: clv.RepeatSummary,
) -> None:
    c = calibration
    (x, t_x, T), counts = clv._fold(c.x, c.t_x, c.T)
    objective = clv._bgnbd_objective(x, t_x, T, counts / counts.sum())
    point = np.log([0.3, 5.0, 0.8, 2.0])
    _, gradient = objective(point)
    step = 1e-6
    for i in range(4):
        up, down = point.copy(), point.copy()
        up[i] += step
        down[i] -= step
        numeric = (objective(up)[0] - objective(down)[0]) / (2 * step)
        assert gradient[i] == pytest.approx(numeric, rel=1e-4, abs=1e-7)


def closed_form_log_gone(
    model: clv.ParetoNbd, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """log of the "gone" integral from Fader & Hardie's hypergeometric A0, as published."""
    r, alpha, s, beta = model.r, model.alpha, model.s, model.beta
    second: float | np.ndarray
    if alpha >= beta:
        big, second = alpha, s + 1
    else:
        big, second = beta, r + x
    total = r + s + x

    def at(t: np.ndarray) -> np.ndarray:
        z = abs(alpha - beta) / (big + t)
        return np.log(special.hyp2f1(total, second, total + 1, z)) - total * np.log(big + t)

    return at(t_x) + np.log1p(-np.exp(at(T) - at(t_x))) - np.log(total)


@pytest.mark.parametrize(
    "params",
    [
        (0.553, 10.578, 0.606, 11.669),  # CDNOW
        (0.5, 20.0, 0.6, 30.0),
        (5.0, 0.01, 0.1, 100.0),
        (0.1, 100.0, 3.0, 0.5),
        (0.75, 7.8, 130.0, 11_800.0),  # nearly the same dropout rate for everyone
    ],
)
def test_pareto_quadrature_agrees_with_the_hypergeometric_closed_form(
    calibration: clv.RepeatSummary, params: tuple[float, float, float, float]
) -> None:
    c = calibration
    # Histories with time between the last purchase and the end (the integral is 0 otherwise).
    lapsed = c.t_x < c.T
    x, t_x, T = c.x[lapsed], c.t_x[lapsed], c.T[lapsed]
    model = clv.ParetoNbd(*params)
    ours = clv._pareto_gone(model, x, t_x, T).log_integral
    np.testing.assert_allclose(ours, closed_form_log_gone(model, x, t_x, T), rtol=0, atol=1e-8)


def test_pareto_scores_stay_numbers_when_everyone_leaves_at_the_same_rate() -> None:
    # The hypergeometric closed form gives NaN here; a fit on such data goes there.
    model = clv.ParetoNbd(r=0.75, alpha=7.8, s=1000.0, beta=90_000.0)
    x, t_x, T = np.array([0.0, 3.0, 40.0]), np.array([0.0, 20.0, 100.0]), np.full(3, 150.0)
    alive = model.p_alive(x, t_x, T)
    assert np.all(np.isfinite(model.log_likelihood(x, t_x, T)))
    assert np.all((alive > 0) & (alive < 1))
    # Longer silence since the last purchase, less likely alive.
    later = model.p_alive([3.0, 3.0], [20.0, 20.0], [50.0, 150.0])
    assert later[0] > later[1]


def test_pareto_analytic_gradient_matches_finite_differences(
    calibration: clv.RepeatSummary,
) -> None:
    c = calibration
    (x, t_x, T), counts = clv._fold(c.x, c.t_x, c.T)
    objective = clv._pareto_objective(x, t_x, T, counts / counts.sum())
    for point in (np.log([0.3, 5.0, 0.8, 2.0]), np.log([0.75, 7.8, 130.0, 11_800.0])):
        _, gradient = objective(point)
        step = 1e-6
        for i in range(4):
            up, down = point.copy(), point.copy()
            up[i] += step
            down[i] -= step
            numeric = (objective(up)[0] - objective(down)[0]) / (2 * step)
            assert gradient[i] == pytest.approx(numeric, rel=1e-4, abs=1e-7)
