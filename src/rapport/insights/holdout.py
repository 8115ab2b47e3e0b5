"""Does the model forecast? Calibration-period fit against the purchases that followed.

Pure numpy: one element per customer, no Django.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]


@dataclass(frozen=True)
class HoldoutComparison:
    """Mean purchases per customer in the holdout period, by calibration repeat purchases."""

    buckets: tuple[str, ...]  # "0", "1", ... and "7+" for the top bucket
    customers: NDArray[np.int64]
    actual: Array
    predicted: Array
    naive: Array
    mean_absolute_error: float  # per customer, of the model
    naive_mean_absolute_error: float  # per customer, of the naive forecast

    @property
    def beats_naive(self) -> bool:
        return self.mean_absolute_error < self.naive_mean_absolute_error


def naive_forecast(x: ArrayLike, T: ArrayLike, holdout_length: float) -> Array:
    """Each customer keeps their calibration repeat rate: x / T purchases per period."""
    x_ = np.asarray(x, dtype=np.float64)
    T_ = np.asarray(T, dtype=np.float64)
    return np.asarray(np.divide(x_, T_, out=np.zeros_like(x_), where=T_ > 0) * holdout_length)


def compare(
    x: ArrayLike,
    actual: ArrayLike,
    predicted: ArrayLike,
    naive: ArrayLike,
    *,
    top_bucket: int = 7,
) -> HoldoutComparison:
    """Bucket customers by calibration repeat purchases (0..top_bucket+) and compare means."""
    x_ = np.asarray(x, dtype=np.float64)
    actual_ = np.asarray(actual, dtype=np.float64)
    predicted_ = np.asarray(predicted, dtype=np.float64)
    naive_ = np.asarray(naive, dtype=np.float64)
    if not (x_.shape == actual_.shape == predicted_.shape == naive_.shape):
        raise ValueError("x, actual, predicted and naive must have the same length")
    if x_.size == 0:
        raise ValueError("no customers to compare")
    bucket = np.minimum(x_, top_bucket).astype(np.int64)
    counts = np.bincount(bucket, minlength=top_bucket + 1)

    def means(values: Array) -> Array:
        sums = np.bincount(bucket, weights=values, minlength=top_bucket + 1)
        return np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)

    labels = (*(str(i) for i in range(top_bucket)), f"{top_bucket}+")
    return HoldoutComparison(
        buckets=labels,
        customers=counts,
        actual=means(actual_),
        predicted=means(predicted_),
        naive=means(naive_),
        mean_absolute_error=float(np.mean(np.abs(predicted_ - actual_))),
        naive_mean_absolute_error=float(np.mean(np.abs(naive_ - actual_))),
    )
