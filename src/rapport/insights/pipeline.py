"""From purchase rows to every customer's scores, in one pass of array maths.

Pure numpy/scipy (no Django): ``services.refresh_scores`` reads the orders,
calls ``score_customers`` and writes what it returns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rapport.insights import clv, holdout, rfm

Array = NDArray[np.float64]
WEEK = 7.0
# Below this many customers a coarse Pareto/NBD fit would be too noisy to start from.
COARSE_FIT_MIN = 1_000


@dataclass(frozen=True)
class Settings:
    horizon_months: int = 12
    monthly_discount_rate: float = 0.01
    margin: float = 1.0
    # "Valuable and at risk": CLV in the top fifth and churn risk at least one half.
    valuable_percentile: float = 80.0
    at_risk_churn: float = 0.5
    holdout_weeks: int = 26
    # Models are fitted on a seeded random sample of at most this many customers
    # (0: all of them) and then score everyone. Parameters from 10,000 customers
    # are within sampling error of a full fit, and the Pareto/NBD likelihood costs
    # a 44-node quadrature per distinct customer history per step.
    fit_sample: int = 10_000


@dataclass
class Scores:
    """One element per customer who ever bought."""

    customer: NDArray[np.int64]
    first_day: NDArray[np.int64]
    last_day: NDArray[np.int64]
    purchases: NDArray[np.int64]  # purchase days
    spend: Array
    recent_spend: Array  # the last 365 days
    recency_days: NDArray[np.int64]
    rfm: rfm.RfmScores
    expected_purchases: Array  # over the horizon; NaN when no model could be fitted
    p_alive: Array  # Pareto/NBD: one-time buyers can be gone too
    churn_risk: Array
    expected_order_value: Array
    lifetime_value: Array
    value_percentile: Array
    valuable_at_risk: NDArray[np.bool_]
    diagnostics: dict[str, Any] = field(default_factory=dict)


def score_customers(
    customer: ArrayLike,
    day: ArrayLike,
    amount: ArrayLike,
    *,
    today: int,
    settings: Settings | None = None,
) -> Scores:
    """Scores for every customer with at least one usable purchase before ``today``.

    Rows that cannot be purchases are left out and counted in
    ``diagnostics["skipped"]``: amounts below zero (returns, credit notes),
    non-finite amounts and dates after today. Zero amounts count as purchases
    but not as spend. A model that cannot be fitted leaves its columns NaN and
    says why in ``diagnostics["warnings"]``; the refresh never fails for data.
    """
    config = settings or Settings()
    customers = np.asarray(customer, dtype=np.int64)
    days = np.asarray(day, dtype=np.int64)
    amounts = np.asarray(amount, dtype=np.float64)
    skipped = {
        "negative amount": int(np.sum(amounts < 0)),
        "not a number": int(np.sum(~np.isfinite(amounts))),
        "dated in the future": int(np.sum(days > today)),
    }
    usable = np.isfinite(amounts) & (amounts >= 0) & (days <= today)
    customers, days, amounts = customers[usable], days[usable], amounts[usable]
    warnings: list[str] = []
    diagnostics: dict[str, Any] = {
        "rows": int(usable.size),
        "skipped": {reason: count for reason, count in skipped.items() if count},
        "warnings": warnings,
    }

    summary = clv.summarise(customers, days, amounts, end_day=today, period_days=WEEK)
    n = summary.customer.size
    purchases = (summary.x + 1).astype(np.int64)
    first_day = np.rint(today - summary.T * WEEK).astype(np.int64)
    last_day = np.rint(first_day + summary.t_x * WEEK).astype(np.int64)
    spend = _spend_per_customer(customers, amounts, summary.customer)
    last_year = days > today - 365
    recent_spend = _spend_per_customer(customers[last_year], amounts[last_year], summary.customer)
    recency = today - last_day
    scores = rfm.score(recency, purchases, spend)
    diagnostics["customers"] = n
    diagnostics["repeat_buyers"] = int(np.sum(summary.x > 0))

    horizon = config.horizon_months * 365.25 / 12 / WEEK
    nan = np.full(n, np.nan)
    expected, p_alive, order_value, value = nan.copy(), nan.copy(), nan.copy(), nan.copy()
    bgnbd = pareto = spend_model = None
    sample = _fit_sample(n, config.fit_sample)
    if sample.size < n:
        diagnostics["fitted_on"] = int(sample.size)
    x, t_x, T = summary.x[sample], summary.t_x[sample], summary.T[sample]
    try:
        fit = clv.fit_bgnbd(x, t_x, T)
        bgnbd = fit.params
        expected = bgnbd.expected_purchases(horizon, summary.x, summary.t_x, summary.T)
        diagnostics["bgnbd"] = _fit_report(fit)
    except (clv.ModelFitError, ValueError) as error:
        warnings.append(f"Purchase model not fitted: {error}")
    try:
        pareto_fit = _fit_pareto_nbd(x, t_x, T)
        pareto = pareto_fit.params
        p_alive = _per_history(pareto.p_alive, summary.x, summary.t_x, summary.T)
        diagnostics["pareto_nbd"] = _fit_report(pareto_fit)
    except (clv.ModelFitError, ValueError) as error:
        warnings.append(f"Churn model not fitted: {error}")
    try:
        spend_fit = clv.fit_gamma_gamma(x, summary.monetary[sample])
        # A fit with q <= 1 has no finite expected spend: no spend model then.
        order_value = spend_fit.params.expected_average_spend(summary.x, summary.monetary)
        spend_model = spend_fit.params
        independence = clv.spend_independence(summary.x, summary.monetary)
        diagnostics["gamma_gamma"] = _fit_report(spend_fit) | {
            "frequency_spend_correlation": round(independence.correlation, 4),
            "independence_holds": independence.holds,
        }
        if not independence.holds:
            warnings.append(
                "Spend depends on purchase frequency "
                f"(correlation {independence.correlation:.2f}); lifetime values are rough."
            )
    except (clv.ModelFitError, ValueError) as error:
        warnings.append(f"Spend model not fitted: {error}")
    if bgnbd is not None and spend_model is not None:
        value = clv.customer_lifetime_value(
            bgnbd,
            spend_model,
            summary.x,
            summary.t_x,
            summary.T,
            summary.monetary,
            horizon_months=config.horizon_months,
            monthly_discount_rate=config.monthly_discount_rate,
            margin=config.margin,
        )
    churn = 1 - p_alive
    percentile = _percentile_rank(value)
    valuable_at_risk = (percentile >= config.valuable_percentile) & (churn >= config.at_risk_churn)
    if bgnbd is not None:
        diagnostics["holdout"] = _holdout(customers, days, today, config)
    return Scores(
        customer=summary.customer,
        first_day=first_day,
        last_day=last_day,
        purchases=purchases,
        spend=spend,
        recent_spend=recent_spend,
        recency_days=recency,
        rfm=scores,
        expected_purchases=expected,
        p_alive=p_alive,
        churn_risk=churn,
        expected_order_value=order_value,
        lifetime_value=value,
        value_percentile=percentile,
        valuable_at_risk=valuable_at_risk,
        diagnostics=diagnostics,
    )


def _fit_pareto_nbd(x: Array, t_x: Array, T: Array) -> clv.FitResult[clv.ParetoNbd]:
    """Pareto/NBD fitted first on a tenth of the sample, then refined on all of it.

    Its likelihood is the expensive one (a quadrature per customer history
    per step); the coarse fit saves most of the steps.
    """
    coarse_size = x.size // 10
    if coarse_size < COARSE_FIT_MIN:
        return clv.fit_pareto_nbd(x, t_x, T)
    # The sample is already in random order of customers, so any slice is random too.
    spread = np.arange(0, x.size, 10)
    try:
        coarse = clv.fit_pareto_nbd(x[spread], t_x[spread], T[spread])
    except clv.ModelFitError:
        return clv.fit_pareto_nbd(x, t_x, T)
    return clv.fit_pareto_nbd(x, t_x, T, start_from=coarse.params)


def _per_history(
    function: Callable[[Array, Array, Array], Array], x: Array, t_x: Array, T: Array
) -> Array:
    """``function`` evaluated once per distinct (x, t_x, T) and spread to every customer."""
    # A lexsort of the columns: np.unique(axis=0) sorts rows as opaque bytes, slower.
    order = np.lexsort((T, t_x, x))
    new = np.ones(order.size, dtype=bool)
    new[1:] = (np.diff(x[order]) != 0) | (np.diff(t_x[order]) != 0) | (np.diff(T[order]) != 0)
    first = order[new]
    values = np.asarray(function(x[first], t_x[first], T[first]))
    result = np.empty(order.size, dtype=values.dtype)
    result[order] = values[np.cumsum(new) - 1]
    return result


def _fit_sample(customers: int, limit: int) -> NDArray[np.int64]:
    """Indexes of the customers the models are fitted on: all, or a seeded sample."""
    if limit <= 0 or customers <= limit:
        return np.arange(customers)
    # Seeded, so the same data always gives the same parameters.
    return np.sort(np.random.default_rng(0).choice(customers, size=limit, replace=False))


def _spend_per_customer(
    customers: NDArray[np.int64], amounts: Array, ordered: NDArray[np.int64]
) -> Array:
    """Total spend of each customer in ``ordered`` (sorted ids from the summary)."""
    position = np.searchsorted(ordered, customers)
    return np.bincount(position, weights=amounts, minlength=ordered.size)


def _percentile_rank(values: Array) -> Array:
    """0..100: the share of customers with a lower value; NaN stays NaN."""
    result = np.full(values.size, np.nan)
    known = np.isfinite(values)
    if known.any():
        order = values[known].argsort(kind="stable").argsort(kind="stable")
        result[known] = 100.0 * order / max(int(known.sum()) - 1, 1)
    return result


def _fit_report(fit: clv.FitResult[Any]) -> dict[str, Any]:
    return {
        "parameters": {name: round(value, 6) for name, value in vars(fit.params).items()},
        "log_likelihood": round(fit.log_likelihood, 3),
        "customers": fit.customers,
        "converged": fit.converged,
    }


def _holdout(
    customers: NDArray[np.int64], days: NDArray[np.int64], today: int, config: Settings
) -> dict[str, Any]:
    """Fit on all but the last ``holdout_weeks`` and compare with what happened since."""
    end = today - int(config.holdout_weeks * WEEK)
    calibration = clv.summarise(customers, days, np.zeros(days.size), end_day=end)
    if calibration.customer.size < 10 or not np.any(calibration.x > 0):
        return {"note": "Not enough history before the holdout period to compare."}
    sample = _fit_sample(calibration.customer.size, config.fit_sample)
    try:
        model = clv.fit_bgnbd(
            calibration.x[sample], calibration.t_x[sample], calibration.T[sample]
        ).params
    except (clv.ModelFitError, ValueError) as error:
        return {"note": f"Calibration fit failed: {error}"}
    later = (days > end) & (days <= today) & np.isin(customers, calibration.customer)
    pairs = np.unique(np.column_stack([customers[later], days[later]]), axis=0)
    actual = np.zeros(calibration.customer.size)
    if pairs.size:
        index = np.searchsorted(calibration.customer, pairs[:, 0])
        np.add.at(actual, index, 1)
    weeks = float(config.holdout_weeks)
    comparison = holdout.compare(
        calibration.x,
        actual,
        model.expected_purchases(weeks, calibration.x, calibration.t_x, calibration.T),
        holdout.naive_forecast(calibration.x, calibration.T, weeks),
    )
    return {
        "weeks": config.holdout_weeks,
        "buckets": list(comparison.buckets),
        "customers": comparison.customers.tolist(),
        "actual": np.round(comparison.actual, 4).tolist(),
        "predicted": np.round(comparison.predicted, 4).tolist(),
        "naive": np.round(comparison.naive, 4).tolist(),
        "mean_absolute_error": round(comparison.mean_absolute_error, 4),
        "naive_mean_absolute_error": round(comparison.naive_mean_absolute_error, 4),
    }
