"""RFM quintile scores and named segments."""

from __future__ import annotations

import numpy as np
import pytest

from rapport.insights import rfm


def test_quintiles_split_by_rank_and_reverse_for_recency() -> None:
    values = np.arange(10)
    assert rfm.quintile_scores(values).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert rfm.quintile_scores(values, higher_is_better=False).tolist() == [
        5, 5, 4, 4, 3, 3, 2, 2, 1, 1,
    ]  # fmt: skip


def test_ties_share_a_score() -> None:
    # Most customers bought once: they must all get the same frequency score.
    scores = rfm.quintile_scores([1, 1, 1, 1, 1, 1, 2, 3, 4, 9])
    assert len(set(scores[:6].tolist())) == 1
    assert scores[-1] == 5


def test_segments_follow_the_grid() -> None:
    # Recent and big: champion. Long gone but was big: can't lose them. Gone and small: lost.
    result = rfm.score(
        recency_days=[1, 2, 300, 310, 0, 150, 320, 3, 160, 170],
        frequency=[20, 18, 19, 1, 1, 5, 1, 2, 6, 1],
        monetary=[900, 800, 950, 10, 4, 300, 5, 20, 280, 12],
    )
    segments = dict(zip("abcdefghij", result.segment.tolist(), strict=True))
    assert segments["a"] == "champions"
    assert segments["c"] == "cant_lose"
    assert segments["g"] == "lost"
    assert segments["e"] == "new"
    assert set(result.segment.tolist()) <= {str(s) for s in rfm.Segment}


def test_every_cell_of_the_grid_is_a_known_segment() -> None:
    assert all(len(row) == 5 for row in rfm.GRID.values())
    named = {segment for row in rfm.GRID.values() for segment in row}
    assert named == set(rfm.Segment)
    assert set(rfm.SEGMENT_LABELS) == set(rfm.Segment)


def test_bad_values_are_refused_and_empty_input_is_empty() -> None:
    with pytest.raises(ValueError, match="finite"):
        rfm.quintile_scores([1.0, float("nan")])
    assert rfm.score([], [], []).segment.size == 0
