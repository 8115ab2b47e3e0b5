"""Satisfaction maths: classes and scores. Pure Python, no Django import.

CSAT asks the customer's expectation and the performance they perceived on
the same 1-5 scale; satisfaction is the gap between the two (performance
minus expectation), not the performance alone. NPS asks 0-10 how likely they
are to recommend; the score is % promoters - % detractors (-100..100).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

CSAT_MIN, CSAT_MAX = 1, 5
NPS_MIN, NPS_MAX = 0, 10

DISSATISFIED, SATISFIED, DELIGHTED = "dissatisfied", "satisfied", "delighted"
DETRACTOR, PASSIVE, PROMOTER = "detractor", "passive", "promoter"


def _check(value: int, low: int, high: int, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{what} must be a whole number from {low} to {high}, not {value!r}.")


def satisfaction_gap(expectation: int, performance: int) -> int:
    """Perceived performance minus expectation: -4..4."""
    _check(expectation, CSAT_MIN, CSAT_MAX, "expectation")
    _check(performance, CSAT_MIN, CSAT_MAX, "performance")
    return performance - expectation


def csat_class(gap: int) -> str:
    """Below expectations: dissatisfied; met: satisfied; exceeded: delighted."""
    if gap < 0:
        return DISSATISFIED
    if gap == 0:
        return SATISFIED
    return DELIGHTED


def nps_class(score: int) -> str:
    """0-6 detractor, 7-8 passive, 9-10 promoter."""
    _check(score, NPS_MIN, NPS_MAX, "score")
    if score <= 6:
        return DETRACTOR
    if score <= 8:
        return PASSIVE
    return PROMOTER


def nps_score(scores: Iterable[int]) -> float | None:
    """% promoters - % detractors, or None without answers."""
    classes = [nps_class(score) for score in scores]
    if not classes:
        return None
    promoters = classes.count(PROMOTER)
    detractors = classes.count(DETRACTOR)
    return 100.0 * (promoters - detractors) / len(classes)


def satisfied_share(gaps: Iterable[int]) -> float | None:
    """% of CSAT answers whose expectations were met or exceeded, or None without answers."""
    values = list(gaps)
    if not values:
        return None
    return 100.0 * sum(1 for gap in values if gap >= 0) / len(values)


@dataclass(frozen=True)
class Distribution:
    """Answers per class, in the order the classes are read (worst first)."""

    labels: Sequence[str]
    counts: Sequence[int]


def class_distribution(classes: Iterable[str], order: Sequence[str]) -> Distribution:
    values = list(classes)
    return Distribution(tuple(order), tuple(values.count(name) for name in order))
