"""Recency, frequency and monetary value: quintile scores and the usual named segments.

Pure numpy/scipy: one element per customer, no Django.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats


class Segment(StrEnum):
    CHAMPIONS = "champions"
    LOYAL = "loyal"
    POTENTIAL_LOYALISTS = "potential_loyalists"
    NEW = "new"
    PROMISING = "promising"
    NEED_ATTENTION = "need_attention"
    ABOUT_TO_SLEEP = "about_to_sleep"
    AT_RISK = "at_risk"
    CANT_LOSE = "cant_lose"
    HIBERNATING = "hibernating"
    LOST = "lost"


SEGMENT_LABELS = {
    Segment.CHAMPIONS: "Champions",
    Segment.LOYAL: "Loyal",
    Segment.POTENTIAL_LOYALISTS: "Potential loyalists",
    Segment.NEW: "New customers",
    Segment.PROMISING: "Promising",
    Segment.NEED_ATTENTION: "Need attention",
    Segment.ABOUT_TO_SLEEP: "About to sleep",
    Segment.AT_RISK: "At risk",
    Segment.CANT_LOSE: "Can't lose them",
    Segment.HIBERNATING: "Hibernating",
    Segment.LOST: "Lost",
}

_C, _L, _P, _N = Segment.CHAMPIONS, Segment.LOYAL, Segment.POTENTIAL_LOYALISTS, Segment.NEW
_PR, _NA, _AS = Segment.PROMISING, Segment.NEED_ATTENTION, Segment.ABOUT_TO_SLEEP
_AR, _CL, _H, _LO = Segment.AT_RISK, Segment.CANT_LOSE, Segment.HIBERNATING, Segment.LOST

# Rows: recency score 5 (bought lately) .. 1; columns: frequency-monetary score 1..5.
# Recent big spenders are champions; old big spenders are the ones we cannot lose.
GRID: dict[int, tuple[Segment, ...]] = {
    5: (_N, _P, _P, _C, _C),
    4: (_PR, _P, _P, _L, _C),
    3: (_AS, _NA, _NA, _L, _L),
    2: (_H, _AS, _AR, _AR, _CL),
    1: (_LO, _H, _AR, _AR, _CL),
}


@dataclass(frozen=True)
class RfmScores:
    recency: NDArray[np.int8]  # 5 = most recent fifth
    frequency: NDArray[np.int8]
    monetary: NDArray[np.int8]
    segment: NDArray[np.str_]

    @property
    def frequency_monetary(self) -> NDArray[np.int8]:
        """The mean of F and M, rounded half up: the grid's column."""
        return np.floor((self.frequency + self.monetary) / 2 + 0.5).astype(np.int8)


def quintile_scores(values: ArrayLike, *, higher_is_better: bool = True) -> NDArray[np.int8]:
    """Scores 1..5 by rank; ties share a score, so a fifth may hold more or fewer customers."""
    data = np.asarray(values, dtype=np.float64)
    if data.size == 0:
        return np.zeros(0, dtype=np.int8)
    if not np.all(np.isfinite(data)):
        raise ValueError("scores need finite values")
    # Tied customers take the lowest rank of their block: the many one-time buyers score 1.
    ranks = stats.rankdata(data if higher_is_better else -data, method="min")
    return np.clip(np.ceil(ranks * 5 / data.size), 1, 5).astype(np.int8)


def score(recency_days: ArrayLike, frequency: ArrayLike, monetary: ArrayLike) -> RfmScores:
    """Quintile scores and segment per customer.

    ``recency_days``: days since the last purchase (fewer is better);
    ``frequency``: number of purchases; ``monetary``: total (or mean) spend.
    """
    recency = quintile_scores(recency_days, higher_is_better=False)
    freq = quintile_scores(frequency)
    money = quintile_scores(monetary)
    fm = np.floor((freq.astype(np.int16) + money) / 2 + 0.5).astype(np.int8)
    table = np.array([[str(segment) for segment in GRID[r]] for r in (1, 2, 3, 4, 5)])
    segments = table[recency - 1, fm - 1] if recency.size else np.zeros(0, dtype=np.str_)
    return RfmScores(recency, freq, money, segments)
