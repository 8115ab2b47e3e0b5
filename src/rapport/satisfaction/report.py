"""The survey report: score over time, distribution and comments, from restricted answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count
from django.db.models.functions import TruncMonth

from rapport.satisfaction import queries, scoring
from rapport.satisfaction.choices import CsatClass, InvitationStatus, NpsClass, SurveyKind
from rapport.satisfaction.models import Survey

COMMENTS_SHOWN = 50


@dataclass(frozen=True)
class MonthScore:
    month: str  # "2026-11"
    answers: int
    score: float  # NPS (-100..100) or % satisfied or better (0..100)


@dataclass
class Report:
    survey: Survey
    answers: int
    score: float | None
    months: list[MonthScore]
    classes: scoring.Distribution
    values: scoring.Distribution
    comments: list[Any]
    invitations: dict[str, int]

    @property
    def class_counts(self) -> list[tuple[str, int]]:
        return list(zip(self.classes.labels, self.classes.counts, strict=True))

    @property
    def score_label(self) -> str:
        return "NPS" if self.survey.kind == SurveyKind.NPS else "Satisfied or delighted"


def _score(kind: str, counts: dict[str, int]) -> float | None:
    total = sum(counts.values())
    if not total:
        return None
    if kind == SurveyKind.NPS:
        return (
            100.0 * (counts.get(NpsClass.PROMOTER, 0) - counts.get(NpsClass.DETRACTOR, 0)) / total
        )
    met = counts.get(CsatClass.SATISFIED, 0) + counts.get(CsatClass.DELIGHTED, 0)
    return 100.0 * met / total


def build(viewer: Any, survey: Survey) -> Report:
    """Four queries, whatever the number of answers.

    By month and class, by value, the latest comments, invitations by status.
    """
    rows = queries.survey_responses(viewer, survey)
    nps = survey.kind == SurveyKind.NPS
    class_field = "nps_class" if nps else "csat_class"
    value_field = "score" if nps else "gap"
    by_month: dict[str, dict[str, int]] = {}
    totals: dict[str, int] = {}
    monthly = (
        rows.order_by()
        .annotate(month=TruncMonth("answered_at"))
        .values_list("month", class_field)
        .annotate(n=Count("id"))
        .order_by("month")
    )
    for month, name, count in monthly:
        key = f"{month:%Y-%m}"
        by_month.setdefault(key, {})[name] = by_month.get(key, {}).get(name, 0) + count
        totals[name] = totals.get(name, 0) + count
    months = [
        MonthScore(key, sum(counts.values()), _score(survey.kind, counts) or 0.0)
        for key, counts in sorted(by_month.items())
    ]
    order = list(NpsClass.values if nps else CsatClass.values)
    classes = scoring.Distribution(tuple(order), tuple(totals.get(name, 0) for name in order))
    value_counts = dict(
        rows.order_by()
        .values_list(value_field)
        .annotate(n=Count("id"))
        .values_list(value_field, "n")
    )
    scale = range(0, 11) if nps else range(-4, 5)
    values = scoring.Distribution(
        tuple(str(v) for v in scale), tuple(value_counts.get(v, 0) for v in scale)
    )
    comments = list(rows.exclude(comment="").order_by("-answered_at", "-id")[:COMMENTS_SHOWN])
    invitations = dict.fromkeys(InvitationStatus.values, 0)
    for status, count in (
        queries.invitations(viewer)
        .filter(survey=survey)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    ):
        invitations[status] = count
    return Report(
        survey=survey,
        answers=sum(totals.values()),
        score=_score(survey.kind, totals),
        months=months,
        classes=classes,
        values=values,
        comments=comments,
        invitations=invitations,
    )
