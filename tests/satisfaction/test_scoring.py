"""The satisfaction maths, pure: gap classes, NPS classes and the NPS score."""

from __future__ import annotations

import pytest

from rapport.satisfaction import scoring


@pytest.mark.parametrize(
    ("expectation", "performance", "gap", "label"),
    [
        (4, 2, -2, "dissatisfied"),
        (5, 4, -1, "dissatisfied"),
        (3, 3, 0, "satisfied"),
        (5, 5, 0, "satisfied"),
        (2, 3, 1, "delighted"),
        (1, 5, 4, "delighted"),
    ],
)
def test_satisfaction_is_performance_against_expectation(
    expectation: int, performance: int, gap: int, label: str
) -> None:
    assert scoring.satisfaction_gap(expectation, performance) == gap
    assert scoring.csat_class(gap) == label


def test_a_high_score_below_a_higher_expectation_is_dissatisfied() -> None:
    # 4 of 5 sounds good, but the customer expected 5.
    assert scoring.csat_class(scoring.satisfaction_gap(5, 4)) == "dissatisfied"


@pytest.mark.parametrize(
    ("score", "label"),
    [(0, "detractor"), (6, "detractor"), (7, "passive"), (8, "passive"), (9, "promoter"),
     (10, "promoter")],
)  # fmt: skip
def test_nps_classes_at_their_boundaries(score: int, label: str) -> None:
    assert scoring.nps_class(score) == label


@pytest.mark.parametrize("bad", [-1, 11, 3.5, True, "7"])
def test_nps_scores_outside_0_to_10_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="0 to 10"):
        scoring.nps_class(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(("expectation", "performance"), [(0, 3), (3, 6), (6, 6)])
def test_csat_values_outside_1_to_5_are_refused(expectation: int, performance: int) -> None:
    with pytest.raises(ValueError, match="1 to 5"):
        scoring.satisfaction_gap(expectation, performance)


def test_nps_score_is_promoters_minus_detractors_in_percent() -> None:
    # 5 promoters, 3 passives, 2 detractors of 10: 50% - 20% = 30.
    assert scoring.nps_score([10, 9, 9, 10, 9, 7, 8, 8, 3, 6]) == pytest.approx(30.0)
    assert scoring.nps_score([0, 1, 2]) == pytest.approx(-100.0)
    assert scoring.nps_score([7, 8]) == pytest.approx(0.0)
    assert scoring.nps_score([]) is None


def test_satisfied_share_counts_met_and_exceeded_expectations() -> None:
    assert scoring.satisfied_share([-1, 0, 2, 1]) == pytest.approx(75.0)
    assert scoring.satisfied_share([]) is None


def test_the_scoring_module_does_not_import_django() -> None:
    import ast
    from pathlib import Path

    tree = ast.parse(Path(scoring.__file__).read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    }
    assert "django" not in imported
    assert "rapport" not in imported
